import type { Config } from '../config.ts';
import { destinationFor, type Destination } from '../destination.ts';
import { silentLogger } from '../logger.ts';
import { createCatalogClient } from '../meta/items-batch-client.ts';
import type { CatalogClient } from '../meta/types.ts';

/**
 * `plan` never calls Meta, but it chunks a file exactly as a flush would, which needs the body size of
 * each items_batch call. Its destination comes from the seam (src/destination.ts) like every other
 * one: the currency of bare prices (already resolved: --currency, CATALOG_CURRENCY, or the assumed one)
 * and the Graph API version, with a placeholder catalog and token since nothing is sent.
 */

const PLAN_CATALOG = 'plan';
const PLAN_TOKEN = 'plan-only-measures-request-bodies';

export function planDestination(config: Pick<Config, 'apiVersion'>, currency: string): Destination {
  return destinationFor({
    catalogId: PLAN_CATALOG,
    currency,
    apiVersion: config.apiVersion,
    accessToken: PLAN_TOKEN,
    accessTokenSecretId: undefined,
  });
}

/** A client whose only use is `payloadBytes`: the app secret matters, its proof is in the body. */
export function measuringClient(
  destination: Destination,
  config: Pick<Config, 'appSecret' | 'maxPayloadBytes' | 'batchMaxItems'>,
): CatalogClient {
  const accessToken = destination.token.kind === 'fixed' ? destination.token.accessToken : PLAN_TOKEN;
  return createCatalogClient({
    graphUrl: 'http://plan.invalid',
    apiVersion: destination.apiVersion,
    catalogId: destination.catalogId,
    accessToken,
    ...(config.appSecret ? { appSecret: config.appSecret } : {}),
    hourlyCallBudget: 1,
    maxRetries: 0,
    requestTimeoutMs: 1000,
    maxPayloadBytes: config.maxPayloadBytes,
    batchMaxItems: config.batchMaxItems,
    logger: silentLogger(),
  });
}
