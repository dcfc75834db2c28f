import type { Config } from './config.ts';

/**
 * Where a landing object's products go: which catalog, in which currency, with which access token and
 * Graph API version. The one place this is decided. Today every landing object goes to the single
 * configured destination; routing several landing prefixes to several catalogs later is a change here
 * (a table of prefix → destination in the configuration, matched in `destinationFor`), while the worker,
 * its flushes, status polls, resends, drift repairs, releases and the plan/status commands keep asking
 * this module rather than reading the catalog id or currency from the configuration themselves.
 */

export interface Destination {
  catalogId: string;
  /** ISO 4217 currency added to bare prices of this destination's files. */
  currency: string;
  /** Graph API version of the calls to this catalog (e.g. v23.0). */
  apiVersion: string;
  /** Where its access token comes from: given as is, or read (and re-read) from Secrets Manager. */
  token: TokenOrigin;
}

export type TokenOrigin =
  { kind: 'fixed'; accessToken: string } | { kind: 'secrets-manager'; secretId: string } | { kind: 'none' };

export type DestinationConfig = Pick<
  Config,
  'catalogId' | 'currency' | 'apiVersion' | 'accessToken' | 'accessTokenSecretId'
>;

/** A landing object, by its location; the future routing key. */
export interface LandingRef {
  bucket: string;
  key: string;
}

/** The destination of `landing`, or of every object when none is given (the single catalog of today). */
export function destinationFor(config: DestinationConfig, landing?: LandingRef): Destination {
  void landing; // one destination for every object today; see the module comment.
  return {
    catalogId: config.catalogId,
    currency: config.currency,
    apiVersion: config.apiVersion,
    token: tokenOrigin(config),
  };
}

function tokenOrigin(config: DestinationConfig): TokenOrigin {
  if (config.accessTokenSecretId) return { kind: 'secrets-manager', secretId: config.accessTokenSecretId };
  if (config.accessToken) return { kind: 'fixed', accessToken: config.accessToken };
  return { kind: 'none' };
}
