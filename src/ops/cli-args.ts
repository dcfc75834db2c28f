import { InvalidArgumentError } from 'commander';
import { ConfigError, loadConfig } from '../config.ts';

/** Flag parsing and queue-URL resolution shared by `redrive` and `status`. */

export function positiveInt(what: string) {
  return (raw: string): number => {
    if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1)
      throw new InvalidArgumentError(`${what} must be a whole number of 1 or more, got "${raw}".`);
    return Number(raw);
  };
}

/** A flag wins over the environment; either way the value goes through the config parser. */
export function resolveQueueUrl(
  which: 'queueUrl' | 'dlqUrl',
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
): string {
  const name = which === 'queueUrl' ? 'QUEUE_URL' : 'DLQ_URL';
  const option = which === 'queueUrl' ? '--queue-url' : '--dlq-url';
  let value: string | undefined;
  try {
    value = loadConfig({ ...env, [name]: flag ?? env[name] }, [which])[which];
  } catch (err) {
    if (err instanceof ConfigError)
      throw new ConfigError(err.problems.map((p) => `${p} (or pass ${option} URL)`));
    throw err;
  }
  if (!value)
    throw new ConfigError([
      `${name} is not set: pass ${option} URL or set ${name} ` +
        `(the storage stack's output ${which === 'dlqUrl' ? 'DeadLetterQueueUrl' : 'QueueUrl'})`,
    ]);
  return value;
}
