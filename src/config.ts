import os from 'node:os';
import { CONTRACT_FIELDS, normaliseColumnName } from './ingest/header.ts';
import { tokenFormatProblem } from './meta/token-format.ts';

/**
 * Configuration from environment variables (12-factor). Every variable is declared once here with its
 * default and a one-line description; `.env.example` is checked against this table by a test, and
 * `loadConfig` reports every bad value at once, so a mis-set deployment fails at start-up with a list.
 * Rules that tie two variables together (exactly one token source, min ≤ max) are in CHECKS below.
 */

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
  }
}

type Parser<T> = (raw: string) => T;

/**
 * A parse failure whose message is known not to contain the value, so it may be shown even for a secret
 * (the position and code point of a stray character, say, which is what an operator needs to fix it).
 */
class SafeMessage extends Error {}

interface VarSpec<T> {
  env: string;
  doc: string;
  /** Undefined = required. */
  default?: string;
  secret?: boolean;
  parse: Parser<T>;
}

const str: Parser<string> = (raw) => {
  if (raw.trim() === '') throw new Error('must not be empty');
  return raw.trim();
};
const optionalStr: Parser<string | undefined> = (raw) => (raw.trim() === '' ? undefined : raw.trim());
const int =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new Error(`must be a whole number, got "${raw}"`);
    const n = Number(raw);
    if (n < min || n > max) throw new Error(`must be between ${min} and ${max}, got ${n}`);
    return n;
  };
const prefix: Parser<string> = (raw) => {
  const p = raw.trim().replace(/^\/+/, '');
  if (p === '') throw new Error('must not be empty');
  return p.endsWith('/') ? p : `${p}/`;
};
const url: Parser<string> = (raw) => {
  const u = new URL(raw.trim()); // throws "Invalid URL"
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('must be an http(s) URL');
  return raw.trim().replace(/\/+$/, '');
};
const currency: Parser<string> = (raw) => {
  const c = raw.trim().toUpperCase();
  if (!/^[A-Z]{3}$/.test(c)) throw new Error(`must be an ISO 4217 code such as USD or EUR, got "${raw}"`);
  return c;
};
const columnMap: Parser<Record<string, string>> = (raw) => {
  if (raw.trim() === '') return {};
  const parsed: unknown = JSON.parse(raw);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error('must be a JSON object of "csv column": "meta field"');
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v !== 'string') throw new Error(`column "${k}" must map to a field name string`);
  }
  return parsed as Record<string, string>;
};
/** Token format only (see meta/token-format.ts); whether Meta accepts it is for the probe to find out. */
const accessToken: Parser<string | undefined> = (raw) => {
  if (raw === '') return undefined;
  const problem = tokenFormatProblem(raw);
  if (problem) throw new SafeMessage(problem);
  return raw;
};
/** A secret name or ARN: 1–512 of Secrets Manager's name characters, or an ARN of them. */
const secretId: Parser<string | undefined> = (raw) => {
  const v = raw.trim();
  if (v === '') return undefined;
  if (!/^(arn:[\w-]+:secretsmanager:[\w-]+:\d{12}:secret:)?[A-Za-z0-9/_+=.@-]{1,512}$/.test(v)) {
    throw new Error(`must be a Secrets Manager secret name or ARN, got "${raw}"`);
  }
  return v;
};
/** A CSV column compared the way headers are (trimmed, case-insensitive, spaces as _); empty = none. */
const versionColumn: Parser<string | undefined> = (raw) => {
  if (raw.trim() === '') return undefined;
  const name = normaliseColumnName(raw);
  if (!/^[^",\r\n]{1,128}$/.test(name)) {
    throw new Error(`must be one CSV column name (no quotes, commas or line breaks), got "${raw}"`);
  }
  if ((CONTRACT_FIELDS as readonly string[]).includes(name) || name === 'condition') {
    throw new Error(`must name a column of its own such as updated_at, not the product field "${name}"`);
  }
  return name;
};
const bool: Parser<boolean> = (raw) => {
  const v = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off', ''].includes(v)) return false;
  throw new Error(`must be true or false, got "${raw}"`);
};
const decimal =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    if (!/^\d+(\.\d+)?$/.test(raw.trim())) throw new Error(`must be a number such as 0.01, got "${raw}"`);
    const n = Number(raw);
    if (n < min || n > max) throw new Error(`must be between ${min} and ${max}, got ${n}`);
    return n;
  };
/** Comma-separated item fields (items_batch names), e.g. title,price,availability. */
const fieldList: Parser<string[]> = (raw) => {
  const fields = raw
    .split(',')
    .map((f) => f.trim())
    .filter((f) => f !== '');
  if (fields.length === 0) throw new Error('must name at least one field');
  const bad = fields.find((f) => !/^[a-z][a-z0-9_]{0,63}$/.test(f));
  if (bad !== undefined) throw new Error(`"${bad}" is not a field name (lower case, digits and _)`);
  return fields;
};
const oneOf =
  <T extends string>(values: readonly T[]): Parser<T> =>
  (raw) => {
    const v = raw.trim().toLowerCase();
    if (!(values as readonly string[]).includes(v))
      throw new Error(`must be one of ${values.join(', ')}, got "${raw}"`);
    return v as T;
  };
const apiVersion: Parser<string> = (raw) => {
  const v = raw.trim();
  if (!/^v\d+\.\d+$/.test(v)) throw new Error(`must look like v26.0, got "${raw}"`);
  return v;
};

/** The table: one row per variable. Order is the order of `.env.example`. */
export const VARS = {
  awsRegion: {
    env: 'AWS_REGION',
    default: 'us-east-1',
    doc: 'AWS region of the buckets and queues',
    parse: str,
  },
  landingBucket: { env: 'LANDING_BUCKET', doc: 'bucket that receives the CSV exports', parse: str },
  landingPrefix: {
    env: 'LANDING_PREFIX',
    default: 'landing/',
    doc: 'prefix of incoming CSV files',
    parse: prefix,
  },
  archivePrefix: {
    env: 'ARCHIVE_PREFIX',
    default: 'archive/',
    doc: 'prefix finished files are moved to (by the DAG)',
    parse: prefix,
  },
  syncedBucket: { env: 'SYNCED_BUCKET', doc: 'bucket for manifests, product state and reports', parse: str },
  syncedPrefix: {
    env: 'SYNCED_PREFIX',
    default: 'synced/',
    doc: 'prefix of manifests and state',
    parse: prefix,
  },
  errorsPrefix: {
    env: 'ERRORS_PREFIX',
    default: 'errors/',
    doc: 'prefix of rejection reports',
    parse: prefix,
  },
  stateStore: {
    env: 'STATE_STORE',
    default: 's3',
    doc: 'where the product state lives: s3 (256 shards in SYNCED_BUCKET; cost grows with the catalog) or dynamodb (one item per product in STATE_TABLE; cost grows with the change)',
    parse: oneOf(['s3', 'dynamodb'] as const),
  },
  stateTable: {
    env: 'STATE_TABLE',
    default: '',
    doc: 'ARN (or name) of the DynamoDB table of the product state, the storage stack output StateTableArn; needed when STATE_STORE=dynamodb',
    parse: optionalStr,
  },
  queueUrl: { env: 'QUEUE_URL', doc: 'URL of the SQS queue that receives the S3 events', parse: url },
  dlqUrl: {
    env: 'DLQ_URL',
    default: '',
    doc: 'URL of the dead-letter queue (status and redrive)',
    parse: optionalStr,
  },
  graphUrl: {
    env: 'META_GRAPH_URL',
    default: 'https://graph.facebook.com',
    doc: 'Graph API base URL (the simulator in the sandbox)',
    parse: url,
  },
  apiVersion: {
    env: 'META_API_VERSION',
    default: 'v26.0',
    doc: 'pinned Graph API version',
    parse: apiVersion,
  },
  catalogId: { env: 'META_CATALOG_ID', doc: 'the commerce catalog id', parse: str },
  accessToken: {
    env: 'META_ACCESS_TOKEN',
    default: '',
    doc: 'system-user access token with catalog_management; set this or META_ACCESS_TOKEN_SECRET_ID',
    secret: true,
    parse: accessToken,
  },
  accessTokenSecretId: {
    env: 'META_ACCESS_TOKEN_SECRET_ID',
    default: '',
    doc: 'Secrets Manager secret (name or ARN) holding the token, re-read while Meta refuses it, so a rotation applies without a restart; set this or META_ACCESS_TOKEN',
    parse: secretId,
  },
  appSecret: {
    env: 'META_APP_SECRET',
    default: '',
    doc: 'app secret; when set every call carries appsecret_proof',
    secret: true,
    parse: optionalStr,
  },
  currency: {
    env: 'CATALOG_CURRENCY',
    doc: 'ISO 4217 currency of the catalog, added to bare prices',
    parse: currency,
  },
  hourlyCallBudget: {
    env: 'META_HOURLY_CALL_BUDGET',
    default: '200',
    doc: 'items_batch calls per rolling hour the worker allows itself (200 + 200*log2(users) at Meta)',
    parse: int(1, 1_000_000),
  },
  batchMaxItems: {
    env: 'META_BATCH_MAX_ITEMS',
    default: '5000',
    doc: 'items per items_batch call (Meta allows 5000)',
    parse: int(1, 5000),
  },
  maxPayloadBytes: {
    env: 'META_MAX_PAYLOAD_BYTES',
    default: '28000000',
    doc: 'largest items_batch body in bytes (Meta allows 28 MB)',
    parse: int(1024, 28_000_000),
  },
  requestTimeoutMs: {
    env: 'META_REQUEST_TIMEOUT_MS',
    default: '30000',
    doc: 'timeout of one Graph API request',
    parse: int(100, 600_000),
  },
  maxRetries: {
    env: 'META_MAX_RETRIES',
    default: '6',
    doc: 'retries of a throttled or transient Graph API call',
    parse: int(0, 50),
  },
  throttleRetryMinMs: {
    env: 'THROTTLE_RETRY_MIN_MS',
    default: '5000',
    doc: 'first wait after Meta throttles without saying how long (ETA 0); doubles per refusal in a row',
    parse: int(100, 1_800_000),
  },
  throttleRetryMaxMs: {
    env: 'THROTTLE_RETRY_MAX_MS',
    default: '300000',
    doc: 'longest wait after a throttle without an ETA (a wait Meta names is honoured as given)',
    parse: int(100, 1_800_000),
  },
  quietMs: {
    env: 'DEBOUNCE_QUIET_MS',
    default: '30000',
    doc: 'a window flushes after this long without new files',
    parse: int(0, 3_600_000),
  },
  maxHoldMs: {
    env: 'DEBOUNCE_MAX_HOLD_MS',
    default: '300000',
    doc: 'a window flushes at the latest this long after its first file',
    parse: int(0, 3_000_000),
  },
  windowMaxItems: {
    env: 'WINDOW_MAX_ITEMS',
    default: '50000',
    doc: 'a window flushes as soon as it holds this many distinct products',
    parse: int(1, 10_000_000),
  },
  maxFileProducts: {
    env: 'FILE_MAX_PRODUCTS',
    default: '750000',
    doc: 'most distinct products one file may bring; a larger file is refused (retried, then dead-lettered with the reason) instead of the worker running out of memory. With the items spooled to disk (SPOOL_DIR) the worker peaks at about 0.28 GB + 1.2 KB a product (bench/results/notes.md; the index itself is ~0.3 KB a product, the rest is garbage V8 collects late): 750000 (~1.2 GB) fits the default 2 GiB task with ~40% headroom',
    parse: int(1, 100_000_000),
  },
  spoolDir: {
    env: 'SPOOL_DIR',
    default: '',
    doc: 'local directory for the mapped items of the files in open windows (one append-only file per landing file, removed once its window is flushed; the worker keeps only an index in memory); empty = the system temporary directory',
    parse: (raw: string) => (raw.trim() === '' ? os.tmpdir() : raw.trim()),
  },
  maxHeldMessages: {
    env: 'MAX_HELD_MESSAGES',
    default: '500',
    doc: 'held SQS messages before the worker stops receiving (backpressure)',
    parse: int(1, 100_000),
  },
  visibilityTimeoutS: {
    env: 'VISIBILITY_TIMEOUT_S',
    default: '120',
    doc: 'visibility the worker keeps on held messages, extended in batches',
    parse: int(2, 43_200),
  },
  maxReceiveCount: {
    env: 'MAX_RECEIVE_COUNT',
    default: '5',
    doc: "the queue redrive policy's maxReceiveCount: the worker dead-letters a failing message with its reason one receive earlier, and a message whose earlier attempts all died (crash, stop) on the last one",
    parse: int(1, 1000),
  },
  sqsWaitTimeS: {
    env: 'SQS_WAIT_TIME_S',
    default: '20',
    doc: 'long-polling wait of one SQS receive',
    parse: int(0, 20),
  },
  flushRetryMaxMs: {
    env: 'FLUSH_RETRY_MAX_MS',
    default: '60000',
    doc: 'longest wait between retries of a throttled or failed flush (Meta-advertised waits are honoured beyond it)',
    parse: int(100, 3_600_000),
  },
  authAlertIntervalMs: {
    env: 'AUTH_ALERT_INTERVAL_MS',
    default: '300000',
    doc: 'while Meta refuses the token, the worker repeats its error line this often',
    parse: int(1000, 86_400_000),
  },
  authProbeIntervalMs: {
    env: 'AUTH_PROBE_INTERVAL_MS',
    default: '180000',
    doc: 'while halted on a refused token, re-read the token source and probe Meta this often; resume when it works',
    parse: int(100, 86_400_000),
  },
  shutdownGraceMs: {
    env: 'SHUTDOWN_GRACE_MS',
    default: '25000',
    doc: 'on SIGTERM, time to flush or release held work (keep below the ECS stopTimeout)',
    parse: int(0, 120_000),
  },
  statusPollInitialMs: {
    env: 'STATUS_POLL_INITIAL_MS',
    default: '2000',
    doc: 'first wait before check_batch_request_status',
    parse: int(10, 600_000),
  },
  statusPollMaxMs: {
    env: 'STATUS_POLL_MAX_MS',
    default: '60000',
    doc: 'longest wait between status polls (backoff cap)',
    parse: int(10, 3_600_000),
  },
  statusPollDeadlineMs: {
    env: 'STATUS_POLL_DEADLINE_MS',
    default: '900000',
    doc: 'stop polling a handle after this long; the sweep re-checks it later',
    parse: int(1000, 86_400_000),
  },
  unknownRetryMax: {
    env: 'UNKNOWN_RETRY_MAX',
    default: '5',
    doc: 'automatic re-sends of items whose fate at Meta is unknown before they are left to the operator (0 = none)',
    parse: int(0, 100),
  },
  unknownRetryBaseMs: {
    env: 'UNKNOWN_RETRY_BASE_MS',
    default: '30000',
    doc: 'first wait before an automatic re-send of items of unknown fate (later tries back off from it)',
    parse: int(10, 86_400_000),
  },
  leaseTtlMs: {
    env: 'LEASE_TTL_MS',
    default: '60000',
    doc: 'how long a worker holds the per-catalog send lease without renewing it',
    parse: int(100, 3_600_000),
  },
  unsentSettleMs: {
    env: 'UNSENT_SETTLE_MS',
    default: '600000',
    doc: 'how long a batch that may have reached Meta without its handle being recorded is assumed to possibly still apply',
    parse: int(0, 86_400_000),
  },
  columnMap: {
    env: 'COLUMN_MAP',
    default: '',
    doc: 'JSON object mapping extra CSV columns to Meta fields, e.g. {"gtin":"gtin","sale":"sale_price"}',
    parse: columnMap,
  },
  defaultCondition: {
    env: 'DEFAULT_CONDITION',
    default: 'new',
    doc: 'condition sent when the file has none',
    parse: str,
  },
  titleMaxLength: {
    env: 'TITLE_MAX_LENGTH',
    default: '150',
    doc: 'longest title accepted (sources disagree: 100/150/200)',
    parse: int(1, 10_000),
  },
  descriptionMaxLength: {
    env: 'DESCRIPTION_MAX_LENGTH',
    default: '5000',
    doc: 'longest description accepted',
    parse: int(1, 100_000),
  },
  versionColumn: {
    env: 'VERSION_COLUMN',
    default: '',
    doc: "CSV column holding each row's version, e.g. updated_at (empty = none)",
    parse: versionColumn,
  },
  // Guardrails (src/guardrails/rules.ts): a window that trips one is held, not sent (docs/guardrails-and-drift.md).
  guardrailsEnabled: {
    env: 'GUARDRAILS_ENABLED',
    default: 'true',
    doc: 'check every window against the guardrail rules before sending; a tripped rule holds it (false = never hold)',
    parse: bool,
  },
  guardrailMinKnownProducts: {
    env: 'GUARDRAIL_MIN_KNOWN_PRODUCTS',
    default: '100',
    doc: 'the rules measured against the known catalog (changed %, out of stock %) apply from this many known products',
    parse: int(0, 100_000_000),
  },
  guardrailMaxChangedPct: {
    env: 'GUARDRAIL_MAX_CHANGED_PCT',
    default: '50',
    doc: 'hold a window that changes more than this % of the known catalog at once',
    parse: decimal(0, 100),
  },
  guardrailPriceDropPct: {
    env: 'GUARDRAIL_PRICE_DROP_PCT',
    default: '50',
    doc: 'a price that falls by more than this % counts as a price drop',
    parse: decimal(0, 100),
  },
  guardrailMaxPriceDropItemsPct: {
    env: 'GUARDRAIL_MAX_PRICE_DROP_ITEMS_PCT',
    default: '20',
    doc: 'hold a window in which more than this % of the re-priced items drop (GUARDRAIL_PRICE_DROP_PCT)',
    parse: decimal(0, 100),
  },
  guardrailMinItems: {
    env: 'GUARDRAIL_MIN_ITEMS',
    default: '10',
    doc: 'the price-drop share applies from this many re-priced items in a window',
    parse: int(1, 100_000_000),
  },
  guardrailNearZeroPrice: {
    env: 'GUARDRAIL_NEAR_ZERO_PRICE',
    default: '0.01',
    doc: 'a price at or below this amount counts as at or near zero',
    parse: decimal(0, 1_000_000),
  },
  guardrailMaxNearZeroItems: {
    env: 'GUARDRAIL_MAX_NEAR_ZERO_ITEMS',
    default: '0',
    doc: 'hold a window with more than this many items priced at or near zero',
    parse: int(0, 100_000_000),
  },
  guardrailMaxOutOfStockPct: {
    env: 'GUARDRAIL_MAX_OUT_OF_STOCK_PCT',
    default: '30',
    doc: 'hold a window that turns more than this % of the known catalog out of stock',
    parse: decimal(0, 100),
  },
  guardrailFileSizeRatio: {
    env: 'GUARDRAIL_FILE_SIZE_RATIO',
    default: '10',
    doc: 'hold a window with a file this many times larger or smaller (rows) than the median of the recent files (0 = off)',
    parse: decimal(0, 1_000_000),
  },
  guardrailFileSizeHistory: {
    env: 'GUARDRAIL_FILE_SIZE_HISTORY',
    default: '5',
    doc: 'the file size rule applies once this many recent files are known',
    parse: int(1, 100),
  },
  // Drift reconciliation (src/drift/): the catalog read back from Meta and compared with what was sent.
  driftFields: {
    env: 'DRIFT_FIELDS',
    default: 'title,description,availability,condition,price,link,image_link,brand',
    doc: 'item fields (items_batch names) compared with what Meta holds',
    parse: fieldList,
  },
  driftPageSize: {
    env: 'DRIFT_PAGE_SIZE',
    default: '200',
    doc: 'items per page when reading the catalog back (GET /{catalog_id}/products, cursor paging)',
    parse: int(1, 1000),
  },
  driftConfirmMax: {
    env: 'DRIFT_CONFIRM_MAX',
    default: '200',
    doc: 'items the listing did not show that are looked up one by one before being called missing, per run',
    parse: int(0, 100_000),
  },
  driftBudgetReserve: {
    env: 'DRIFT_BUDGET_RESERVE',
    default: '40',
    doc: 'items_batch calls of the hourly budget a drift repair leaves for normal traffic',
    parse: int(0, 1_000_000),
  },
  driftDeleteOrphans: {
    env: 'DRIFT_DELETE_ORPHANS',
    default: 'false',
    doc: 'delete items Meta holds that were never sent (orphans), once a previous drift report listed them',
    parse: bool,
  },
  driftDeleteMax: {
    env: 'DRIFT_DELETE_MAX',
    default: '100',
    doc: 'orphans deleted per drift run at most',
    parse: int(0, 100_000),
  },
  logLevel: { env: 'LOG_LEVEL', default: 'info', doc: 'error, warn, info or debug', parse: str },
  metricsNamespace: {
    env: 'METRICS_NAMESPACE',
    default: 'CatalogSync',
    doc: 'CloudWatch namespace of the EMF metrics',
    parse: str,
  },
} satisfies Record<string, VarSpec<unknown>>;

type Vars = typeof VARS;
export type Config = { [K in keyof Vars]: ReturnType<Vars[K]['parse']> };
export type ConfigKey = keyof Vars;

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
  env: NodeJS.ProcessEnv = process.env,
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

/** The text of `.env.example`, generated from the table so the two cannot drift (a test compares them). */
export function renderEnvExample(): string {
  const lines = [
    '# catalog-sync configuration. Every variable the program reads, with its default.',
    '# Required ones have no default and are left empty here. Generated from src/config.ts:',
    '#   node scripts/gen-env-example.ts > .env.example',
    '# The AWS SDK reads AWS_ENDPOINT_URL itself: set it to point at a local emulator (moto).',
    '',
  ];
  for (const spec of Object.values(VARS) as VarSpec<unknown>[]) {
    lines.push(
      `# ${spec.doc}${spec.default === undefined ? ' (required)' : ''}${spec.secret ? ' [secret]' : ''}`,
    );
    lines.push(`${spec.env}=${spec.default ?? ''}`);
  }
  return `${lines.join('\n')}\n`;
}
