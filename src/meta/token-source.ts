import { registerSecret } from '../logger.ts';

/**
 * Where the client gets its access token. A fixed token (META_ACCESS_TOKEN) never changes; a token kept in
 * AWS Secrets Manager (secrets-manager-token.ts) is read at start-up and again on `refresh()`, so a token
 * an operator rotates in Secrets Manager is picked up while the worker runs, without a restart.
 *
 * Every value a source hands out is registered with the logger's redaction first.
 */
export interface TokenSource {
  /** Where the token comes from, for messages and logs (never the token). */
  readonly origin: string;
  /** The token in force. */
  current(): string;
  /**
   * Reads the source again. On failure the token in force is kept and a GraphApiError is thrown: kind
   * 'auth' when the source answered but holds nothing usable (no such secret, access denied, empty),
   * 'transient' when it could not be reached.
   */
  refresh(options?: { signal?: AbortSignal }): Promise<void>;
}

/** A token given once (META_ACCESS_TOKEN): refresh() has nothing to re-read. */
export function fixedToken(token: string, origin = 'META_ACCESS_TOKEN'): TokenSource {
  registerSecret(token);
  return {
    origin,
    current: () => token,
    refresh: async () => {},
  };
}
