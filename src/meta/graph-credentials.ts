import { redact, registerSecret, type Logger } from '../logger.ts';
import { appsecretProof } from './appsecret-proof.ts';
import { GraphApiError, type GraphEndpoint } from './graph-error.ts';
import { tokenFormatProblem } from './token-format.ts';
import type { TokenSource } from './token-source.ts';

/**
 * The credentials of the Graph calls: the token in force (from its TokenSource), its appsecret_proof, and
 * the scrubbing of both (and the app secret) from every message, including Meta's own, which can echo a
 * malformed token.
 */
export class GraphCredentials {
  readonly #tokens: TokenSource;
  readonly #accessToken: string | undefined;
  readonly #appSecret: string | undefined;
  readonly #log: Logger;
  /** appsecret_proof of the token in force, recomputed when the token changes. */
  #proofFor: { token: string; proof: string | null } | null = null;

  constructor(options: {
    tokens: TokenSource;
    accessToken?: string | undefined;
    appSecret?: string | undefined;
    logger: Logger;
  }) {
    this.#tokens = options.tokens;
    this.#accessToken = options.accessToken;
    this.#appSecret = options.appSecret;
    this.#log = options.logger;
    registerSecret(options.appSecret);
  }

  /** Where the token comes from, for messages (never the token). */
  get origin(): string {
    return this.#tokens.origin;
  }

  current(): string {
    return this.#tokens.current();
  }

  async refresh(): Promise<void> {
    await this.#tokens.refresh();
  }

  /**
   * The token in force, or an 'auth' GraphApiError when it cannot be a valid token: sending it would
   * fail in `fetch` (a TypeError for anything above U+00FF) or at Meta, and no retry can fix it.
   */
  usableToken(endpoint: GraphEndpoint): string {
    const token = this.#tokens.current();
    const problem = tokenFormatProblem(token);
    if (problem) {
      const err = new GraphApiError({
        kind: 'auth',
        endpoint,
        message: `${endpoint}: the access token from ${this.#tokens.origin} ${problem}; nothing was sent`,
      });
      this.#log.warn('graph call not sent: the access token is unusable', {
        endpoint,
        kind: err.kind,
        error: err.message,
      });
      throw err;
    }
    return token;
  }

  /** appsecret_proof of `token`, or null without an app secret. */
  proof(token: string = this.#tokens.current()): string | null {
    if (!this.#appSecret || token === '') return null;
    if (this.#proofFor?.token !== token) {
      this.#proofFor = { token, proof: appsecretProof(token, this.#appSecret) };
    }
    return this.#proofFor.proof;
  }

  /** Removes the token and app secret (and anything shaped like a Graph token) from text. */
  sanitize(text: string): string {
    let out = text;
    for (const secret of [this.#tokens.current(), this.#accessToken, this.#appSecret]) {
      if (secret) out = out.split(secret).join('[REDACTED]');
    }
    return redact(out);
  }
}
