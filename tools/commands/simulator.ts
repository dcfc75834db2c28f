import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, type Command } from 'commander';
import { createLogger } from '../../src/logger.ts';
import {
  startSimulator,
  validateFaults,
  type InjectedError,
  type SimulatorFaults,
} from '../simulator/index.ts';

const int =
  (min: number, max = Number.MAX_SAFE_INTEGER) =>
  (raw: string): number => {
    if (!/^\d+$/.test(raw.trim())) throw new InvalidArgumentError(`expected a whole number, got "${raw}"`);
    const n = Number(raw);
    if (n < min || n > max) throw new InvalidArgumentError(`must be between ${min} and ${max}`);
    return n;
  };
const fraction = (raw: string): number => {
  const n = Number(raw);
  if (raw.trim() === '' || !(n >= 0 && n <= 1))
    throw new InvalidArgumentError(`expected a rate between 0 and 1, got "${raw}"`);
  return n;
};
const json = (raw: string): unknown => {
  try {
    return JSON.parse(raw);
  } catch {
    throw new InvalidArgumentError('expected JSON');
  }
};
const collectJson = (raw: string, previous: unknown[] = []): unknown[] => [...previous, json(raw)];

interface SimulatorCliOptions {
  port: number;
  host: string;
  token?: string;
  appSecret?: string;
  processingDelayMs: number;
  hourlyCallBudget: number;
  statusReadBudget: number;
  errorSampleSize: number;
  maxBodyBytes: number;
  lineBase: number;
  titleMaxLength: number;
  descriptionMaxLength: number;
  catalog?: string[];
  throttle?: number | true;
  statusThrottle?: number | true;
  serverErrorRate?: number;
  code2Rate?: number;
  latencyMs?: number;
  invalidToken?: number | true;
  rejectIds?: string;
  batchErrorRate?: number;
  error?: unknown[];
  faults?: unknown;
  seed?: number;
  logLevel: string;
}

/** Faults from the flags, on top of --faults JSON. */
export function faultsFromFlags(opts: Partial<SimulatorCliOptions>): SimulatorFaults {
  const f: Record<string, unknown> = { ...((opts.faults as Record<string, unknown> | undefined) ?? {}) };
  if (opts.throttle !== undefined) f.throttle = opts.throttle === true ? true : { etaMinutes: opts.throttle };
  if (opts.statusThrottle !== undefined) {
    f.statusThrottle = opts.statusThrottle === true ? true : { etaMinutes: opts.statusThrottle };
  }
  if (opts.invalidToken !== undefined) {
    f.invalidToken = opts.invalidToken === true ? true : { subcode: opts.invalidToken };
  }
  if (opts.serverErrorRate !== undefined) f.serverErrorRate = opts.serverErrorRate;
  if (opts.code2Rate !== undefined) f.code2Rate = opts.code2Rate;
  if (opts.latencyMs !== undefined) f.latencyMs = opts.latencyMs;
  if (opts.rejectIds !== undefined) f.rejectIdPattern = opts.rejectIds;
  if (opts.batchErrorRate !== undefined) f.batchErrorRate = opts.batchErrorRate;
  if (opts.error?.length) f.errors = [...((f.errors as InjectedError[] | undefined) ?? []), ...opts.error];
  if (opts.seed !== undefined) f.seed = opts.seed;
  return validateFaults(f);
}

export function registerSimulator(program: Command): void {
  program
    .command('simulator')
    .summary("run a local stand-in for Meta's Catalog Batch API")
    .description(
      "Runs a local stand-in for Meta's Catalog Batch API over HTTP until SIGINT/SIGTERM: items_batch, " +
        'check_batch_request_status (batches finish after --processing-delay-ms), a product list, hourly ' +
        'budgets (80014 / 80009 with X-Business-Use-Case-Usage), validation like Meta, and faults that can be ' +
        'switched at start-up (flags below) or at run time through the admin API (/_admin/faults). ' +
        'Prints the Graph base URL, the product-list URL and the admin URL.',
    )
    .option('--port <n>', 'port to listen on (0 = any free port)', int(0, 65535), 8787)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option(
      '--token <token>',
      'access token to accept (default: $META_ACCESS_TOKEN; else a random one is printed)',
    )
    .option(
      '--app-secret <secret>',
      'require appsecret_proof made with this secret (default: $META_APP_SECRET)',
    )
    .option('--processing-delay-ms <ms>', 'time from items_batch to status "finished"', int(0), 1000)
    .option(
      '--hourly-call-budget <n>',
      'items_batch calls per catalog per rolling hour before 80014',
      int(1),
      200,
    )
    .option(
      '--status-read-budget <n>',
      'status reads per catalog per rolling hour before 80009',
      int(1),
      20000,
    )
    .option('--error-sample-size <n>', 'cap of the errors/warnings samples in a status', int(0), 20)
    .option('--max-body-bytes <n>', 'largest request body; larger ones get error code 1', int(1), 28_000_000)
    .option('--line-base <0|1>', '"line" of status errors counts from 0 or 1', int(0, 1), 0)
    .option('--title-max-length <n>', 'longest title accepted', int(1), 150)
    .option('--description-max-length <n>', 'longest description accepted', int(1), 5000)
    .option('--catalog <ids...>', 'only these catalog ids exist (default: any id)')
    .optionsGroup('Faults (all can be changed later with POST/PATCH /_admin/faults):')
    .option(
      '--throttle [etaMinutes]',
      'refuse every items_batch with 80014 (ETA in minutes, default 1)',
      int(0),
    )
    .option('--status-throttle [etaMinutes]', 'refuse every status read with 80009', int(0))
    .option('--server-error-rate <r>', 'share of Graph calls answered with a bare HTTP 503', fraction)
    .option('--code2-rate <r>', 'share of Graph calls answered with error code 2 (temporary)', fraction)
    .option('--latency-ms <ms>', 'delay every Graph response', int(0))
    .option('--invalid-token [subcode]', 'fail every Graph call with 190 (default subcode 463)', int(0))
    .option('--reject-ids <regex>', 'items whose id matches fail during processing')
    .option('--batch-error-rate <r>', 'share of batches that end with status "error"', fraction)
    .option(
      '--error <json>',
      'inject a Graph error, e.g. \'{"code":4,"rate":0.1}\' or \'{"code":1,"times":2,"endpoint":"items_batch"}\' (repeatable)',
      collectJson,
    )
    .option(
      '--faults <json>',
      'a whole faults object (the admin API format); the flags above add to it',
      json,
    )
    .option('--seed <n>', 'seed of the PRNG behind the rates', int(0))
    .optionsGroup('Output:')
    .option(
      '--log-level <level>',
      'error, warn, info or debug (debug logs every call)',
      process.env.LOG_LEVEL ?? 'info',
    )
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  catalog-sync simulator --port 8787 --token dev-token\n' +
        '  catalog-sync simulator --code2-rate 0.2 --seed 7 --reject-ids "^BAD-"\n' +
        '  curl -X PATCH localhost:8787/_admin/faults -d \'{"throttle":{"etaMinutes":2,"times":3}}\'\n' +
        '  curl localhost:8787/_admin/calls\n' +
        '\nPoint the worker at it with META_GRAPH_URL=<the printed URL> and the same META_ACCESS_TOKEN.',
    )
    .action(async (opts: SimulatorCliOptions) => {
      let faults: SimulatorFaults;
      try {
        faults = faultsFromFlags(opts);
      } catch (err) {
        throw new Error(`bad fault options: ${(err as Error).message}`, { cause: err });
      }
      const given = opts.token ?? process.env.META_ACCESS_TOKEN;
      const token = given && given.trim() !== '' ? given.trim() : `sim-${randomBytes(12).toString('hex')}`;
      const appSecret = opts.appSecret ?? (process.env.META_APP_SECRET || undefined);
      const sim = await startSimulator({
        port: opts.port,
        host: opts.host,
        accessToken: token,
        appSecret,
        processingDelayMs: opts.processingDelayMs,
        hourlyCallBudget: opts.hourlyCallBudget,
        statusReadBudget: opts.statusReadBudget,
        errorSampleSize: opts.errorSampleSize,
        maxBodyBytes: opts.maxBodyBytes,
        lineBase: opts.lineBase === 1 ? 1 : 0,
        titleMaxLength: opts.titleMaxLength,
        descriptionMaxLength: opts.descriptionMaxLength,
        catalogIds: opts.catalog,
        faults,
        logger: createLogger({ level: opts.logLevel, defaultMeta: { component: 'simulator' } }),
      });
      const version = process.env.META_API_VERSION || 'v26.0';
      const catalog = process.env.META_CATALOG_ID || opts.catalog?.[0] || '{catalog_id}';
      const lines = [
        `Meta catalog simulator listening on ${sim.url}`,
        `  Graph API (META_GRAPH_URL): ${sim.url}   e.g. POST ${sim.url}/${version}/${catalog}/items_batch`,
        `  Products:                   ${sim.url}/${version}/${catalog}/products?format=table`,
        `  Admin:                      ${sim.url}/_admin   (faults: ${sim.url}/_admin/faults, calls: ${sim.url}/_admin/calls)`,
        given
          ? '  Token: the one in --token / META_ACCESS_TOKEN'
          : `  Token: ${token}   (generated; pass --token or META_ACCESS_TOKEN to choose one)`,
      ];
      if (appSecret)
        lines.push('  appsecret_proof required (app secret from --app-secret / META_APP_SECRET)');
      if (Object.keys(faults).length > 0) lines.push(`  Faults: ${JSON.stringify(faults)}`);
      lines.push('Press Ctrl+C to stop.');
      console.log(lines.join('\n'));

      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await sim.stop();
      console.log(`simulator stopped (${signal})`);
    });
}
