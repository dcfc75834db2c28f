import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { registerSecret, type Logger } from '../logger.ts';
import { GraphApiError } from './graph-error.ts';
import { tokenFormatProblem } from './token-format.ts';
import type { TokenSource } from './token-source.ts';

/**
 * The access token kept in AWS Secrets Manager (META_ACCESS_TOKEN_SECRET_ID: a secret name or ARN). Read
 * once at start-up (a failure there stops the start, as a missing META_ACCESS_TOKEN would) and again by
 * every `refresh()`, which the worker calls while Meta refuses the token: rotating the secret is how an
 * operator un-halts a running worker.
 *
 * The secret holds the bare token, or a JSON object with `access_token` (or `META_ACCESS_TOKEN`), the shape
 * the console's key/value editor produces. A value of the wrong format is still taken (and logged as
 * unusable, without the value): the client then refuses to send it and reports why, and the next rotation
 * replaces it.
 */

/** Errors that mean "the secret is not there for us", as opposed to "Secrets Manager did not answer". */
const UNUSABLE = new Set([
  'ResourceNotFoundException',
  'AccessDeniedException',
  'AccessDenied',
  'DecryptionFailure',
  'InvalidRequestException',
  'InvalidParameterException',
  'ValidationException',
]);

export interface SecretsManagerTokenOptions {
  secretId: string;
  logger: Logger;
  /** Defaults to a client for AWS_REGION (AWS_ENDPOINT_URL, read by the SDK, points it at moto). */
  client?: Pick<SecretsManagerClient, 'send'>;
  region?: string;
}

/** Reads the secret now; rejects with a GraphApiError (auth or transient) when it cannot be had. */
export async function secretsManagerToken(options: SecretsManagerTokenOptions): Promise<TokenSource> {
  const source = new SecretsManagerTokenSource(options);
  await source.refresh();
  return source;
}

class SecretsManagerTokenSource implements TokenSource {
  readonly origin: string;
  private readonly secretId: string;
  private readonly client: Pick<SecretsManagerClient, 'send'>;
  private readonly log: Logger;
  private token = '';
  private versionId: string | null = null;

  constructor(options: SecretsManagerTokenOptions) {
    this.secretId = options.secretId;
    this.origin = `Secrets Manager secret ${options.secretId}`;
    this.client = options.client ?? new SecretsManagerClient({ region: options.region });
    this.log = options.logger;
  }

  current(): string {
    return this.token;
  }

  async refresh(options: { signal?: AbortSignal } = {}): Promise<void> {
    let secretString: string | undefined;
    let versionId: string | undefined;
    try {
      const out = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId }), {
        abortSignal: options.signal,
      });
      secretString = out.SecretString;
      versionId = out.VersionId;
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      const e = err as Error & { name?: string; $metadata?: { httpStatusCode?: number } };
      const unusable = UNUSABLE.has(e.name ?? '');
      throw new GraphApiError({
        kind: unusable ? 'auth' : 'transient',
        endpoint: null,
        message: `token source: could not read ${this.origin} (${e.name ?? 'Error'}: ${e.message})`,
      });
    }
    const token = tokenFrom(secretString);
    if (token === null) {
      throw new GraphApiError({
        kind: 'auth',
        endpoint: null,
        message: `token source: ${this.origin} holds no token (expected the token, or JSON with "access_token")`,
      });
    }
    registerSecret(token);
    const changed = token !== this.token;
    const first = this.token === '';
    this.token = token;
    this.versionId = versionId ?? null;
    const problem = tokenFormatProblem(token);
    if (problem) {
      this.log.error('the access token in Secrets Manager is unusable; fix the secret', {
        origin: this.origin,
        versionId: this.versionId,
        problem: `the token ${problem}`,
      });
    } else if (changed) {
      this.log.info(first ? 'access token read' : 'access token replaced by a new secret value', {
        origin: this.origin,
        versionId: this.versionId,
      });
    }
  }
}

function tokenFrom(secretString: string | undefined): string | null {
  if (secretString === undefined || secretString === '') return null;
  if (secretString.trimStart().startsWith('{')) {
    try {
      const parsed = JSON.parse(secretString) as Record<string, unknown>;
      const value = parsed.access_token ?? parsed.META_ACCESS_TOKEN;
      return typeof value === 'string' && value !== '' ? value : null;
    } catch {
      // Not JSON after all: a token cannot start with "{", so the format check will say what is wrong.
    }
  }
  return secretString;
}
