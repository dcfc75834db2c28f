import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { repoRoot } from '../local-aws/moto-server.ts';
import { runSandbox, type SandboxOptions } from '../sandbox/run.ts';

const SAMPLES = path.join(repoRoot, 'samples', 'products.csv');

const cron = (raw: string): string => {
  if (raw.trim().split(/\s+/).length !== 5)
    throw new InvalidArgumentError(
      `expected a cron expression of five fields such as "*/2 * * * *", got "${raw}"`,
    );
  return raw.trim();
};
const port = (raw: string): number => {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < 1 || n > 65535)
    throw new InvalidArgumentError(`expected a port number (1-65535), got "${raw}"`);
  return n;
};

export function registerSandbox(program: Command): void {
  program
    .command('sandbox')
    .description(
      'Run the whole system locally: moto (S3, SQS, CloudFormation) provisioned from infra/storage.yml, the ' +
        'Meta catalog simulator and the worker; upload the sample products and wait until the catalog holds them. ' +
        'With --airflow, also real Airflow 3 running the reconciliation DAG every few minutes against it.',
    )
    .option('--simulator-port <n>', 'port of the catalog simulator (default: a free one)', port)
    .option('--quiet-ms <ms>', 'debounce quiet period of the sandbox worker', (v) => Number(v), 2000)
    .option('--file <csv>', 'CSV file to upload first', SAMPLES)
    .option('--timeout <s>', 'how long to wait for the first sync before giving up', (v) => Number(v), 120)
    .option('--once', 'stop everything and exit 0 as soon as the file is synced (for scripts and CI)')
    .option(
      '--drop-dir <dir>',
      'folder whose new files are uploaded to the landing prefix (default: .local/sandbox/drop)',
    )
    .optionsGroup('Airflow:')
    .option(
      '--airflow',
      'also start Airflow 3 (API server and UI, scheduler, DAG processor; SQLite in .local/airflow) with the ' +
        "project's dags/, running the reconciliation DAG against the sandbox",
    )
    .option('--airflow-port <n>', 'port of the Airflow UI and API (default: a free one)', port)
    .option(
      '--dag-schedule <cron>',
      'how often the sandbox runs the DAG (CATALOG_SYNC_SCHEDULE; production stays hourly)',
      cron,
      '*/2 * * * *',
    )
    .addHelpText(
      'after',
      '\nWhile it runs: drop CSV files into the drop folder (or `catalog-sync put FILE --wait` with the\n' +
        "printed environment), open the catalog page in a browser, switch faults with the simulator's admin\n" +
        'API, and with --airflow watch the DAG in the Airflow UI (URL and login are printed).\n' +
        'Ctrl-C stops everything it started: Airflow, the worker (it flushes first), the simulator and moto.\n' +
        'Logs: .local/sandbox/. Examples:\n' +
        '  catalog-sync sandbox\n' +
        '  catalog-sync sandbox --airflow              (make sandbox-airflow)\n' +
        '  catalog-sync sandbox --airflow --dag-schedule "* * * * *"',
    )
    .action(async (opts: SandboxOptions) => runSandbox(opts));
}
