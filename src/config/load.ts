import { SafeMessage, type VarSpec } from './parsers.ts';
import { VARS, type Config, type ConfigKey } from './variables.ts';

/**
 * Reading the configuration from an environment: every bad value is reported at once, so a mis-set
 * deployment fails at start-up with a list. Rules that tie two variables together (exactly one token
 * source, min ≤ max) are in CHECKS below. The environment is always given: only the commands (src/commands/)
 * read the process environment.
 */

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
  }
}

/** Rules over several variables; each runs only when all its keys were asked for and parsed. */
const CHECKS: { keys: readonly ConfigKey[]; problem: (c: Config) => string | null }[] = [
  {
    keys: ['accessToken', 'accessTokenSecretId'],
    problem: (c) =>
      c.accessToken === undefined && c.accessTokenSecretId === undefined
        ? `${VARS.accessToken.env} or ${VARS.accessTokenSecretId.env} is required: where the Meta access token comes from`
        : c.accessToken !== undefined && c.accessTokenSecretId !== undefined
          ? `${VARS.accessToken.env} and ${VARS.accessTokenSecretId.env} are both set: set only one`
          : null,
  },
  {
    keys: ['stateStore', 'stateTable'],
    problem: (c) =>
      c.stateStore === 'dynamodb' && c.stateTable === undefined
        ? `${VARS.stateTable.env} is required when ${VARS.stateStore.env}=dynamodb: the table of the product state`
        : null,
  },
  {
    keys: ['throttleRetryMinMs', 'throttleRetryMaxMs'],
    problem: (c) =>
      c.throttleRetryMinMs > c.throttleRetryMaxMs
        ? `${VARS.throttleRetryMinMs.env} (${c.throttleRetryMinMs}) must not be more than ${VARS.throttleRetryMaxMs.env} (${c.throttleRetryMaxMs})`
        : null,
  },
];

/**
 * Parses the given keys (all by default) from `env`. Commands that do not need the whole worker
 * configuration (validate, simulator) ask only for what they use.
 */
export function loadConfig<K extends ConfigKey = ConfigKey>(
  env: NodeJS.ProcessEnv,
  keys?: readonly K[],
): Pick<Config, K> {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const key of keys ?? (Object.keys(VARS) as K[])) {
    const spec: VarSpec<unknown> = VARS[key];
    const raw = env[spec.env] ?? spec.default;
    if (raw === undefined || (raw.trim() === '' && spec.default === undefined)) {
      problems.push(`${spec.env} is required: ${spec.doc}`);
      continue;
    }
    try {
      out[key] = spec.parse(raw);
    } catch (err) {
      // Never echo a secret's value, even a malformed one; SafeMessage says where without saying what.
      const why = spec.secret && !(err instanceof SafeMessage) ? 'is malformed' : (err as Error).message;
      problems.push(`${spec.env} ${why}`);
    }
  }
  for (const check of CHECKS) {
    if (!check.keys.every((k) => k in out)) continue;
    const problem = check.problem(out as Config);
    if (problem) problems.push(problem);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as Pick<Config, K>;
}
