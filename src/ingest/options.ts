import { ConfigError, loadConfig, VARS, type Config } from '../config.ts';
import { assertIngestOptions } from './csv-reader.ts';
import type { IngestOptions } from './types.ts';

/** Where the currency added to bare prices came from; `assumed` = nobody said, USD is used for the check. */
export type CurrencySource = 'option' | 'env' | 'assumed';

export const ASSUMED_CURRENCY = 'USD';

type IngestConfig = Pick<
  Config,
  'columnMap' | 'defaultCondition' | 'titleMaxLength' | 'descriptionMaxLength'
>;

/**
 * IngestOptions from the environment (COLUMN_MAP, DEFAULT_CONDITION, TITLE_MAX_LENGTH,
 * DESCRIPTION_MAX_LENGTH, CATALOG_CURRENCY), for commands that do not load the worker's whole
 * configuration. An explicit currency (validate --currency) wins over CATALOG_CURRENCY. Throws ConfigError
 * listing every bad value.
 */
export function loadIngestOptions(
  env: NodeJS.ProcessEnv,
  currencyOption?: string,
): { options: IngestOptions; currencySource: CurrencySource } {
  const problems: string[] = [];
  let config: IngestConfig | undefined;
  try {
    config = loadConfig(env, ['columnMap', 'defaultCondition', 'titleMaxLength', 'descriptionMaxLength']);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }

  let currency = ASSUMED_CURRENCY;
  let currencySource: CurrencySource = 'assumed';
  const fromEnv = env[VARS.currency.env]?.trim() ?? '';
  const given =
    currencyOption !== undefined
      ? { raw: currencyOption, source: 'option' as const, label: '--currency' }
      : fromEnv !== ''
        ? { raw: fromEnv, source: 'env' as const, label: VARS.currency.env }
        : null;
  if (given !== null) {
    try {
      currency = VARS.currency.parse(given.raw);
      currencySource = given.source;
    } catch (err) {
      problems.push(`${given.label} ${(err as Error).message}`);
    }
  }

  if (problems.length > 0 || config === undefined) throw new ConfigError(problems);
  const options: IngestOptions = { ...config, currency };
  assertIngestOptions(options);
  return { options, currencySource };
}
