import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DAG_ID, type SandboxAirflow } from './airflow.ts';

export interface SandboxSummary {
  logDir: string;
  simulatorUrl: string;
  catalogPage: string;
  awsEnv: Record<string, string>;
  workerLog: string;
  dropDir?: string;
  airflow?: SandboxAirflow;
  dagSchedule: string;
}

/**
 * Writes env.sh (sourcing it points bin/catalog-sync at the running sandbox) and prints where everything
 * is: the catalog page, the simulator's admin routes, the drop folder, Airflow, the worker log.
 */
export async function writeSandboxSummary(s: SandboxSummary, say: (line: string) => void): Promise<void> {
  const envFile = path.join(s.logDir, 'env.sh');
  await writeFile(
    envFile,
    `# Points bin/catalog-sync (status, put, redrive) at the running sandbox: source ${path.relative(process.cwd(), envFile)}\n` +
      Object.entries({
        ...s.awsEnv,
        SIMULATOR_URL: s.simulatorUrl,
        CATALOG_PAGE: s.catalogPage,
        ...(s.airflow ? { AIRFLOW_URL: s.airflow.url } : {}),
      })
        .map(([k, v]) => `export ${k}=${v}`)
        .join('\n') +
      '\n',
  );
  const sim = s.simulatorUrl;
  say('');
  say(`Catalog page (open in a browser):  ${s.catalogPage}   (?format=json for scripts)`);
  say(`Call log and batches:              ${sim}/_admin/calls   ${sim}/_admin/batches`);
  say(`Faults (GET/PATCH JSON):           ${sim}/_admin/faults`);
  if (s.dropDir) say(`Drop folder (files are uploaded):  ${s.dropDir}`);
  if (s.airflow) {
    say(
      `Airflow UI:                        ${s.airflow.url}   login: ${s.airflow.user} / ${s.airflow.password}`,
    );
    say(`DAG ${DAG_ID} runs on "${s.dagSchedule}"; Airflow logs: ${path.join(s.logDir, 'airflow-*.log')}`);
  }
  say(`Worker log:                        ${s.workerLog}`);
  say(`To use the CLI against the sandbox (also in ${envFile}):`);
  for (const [k, v] of Object.entries(s.awsEnv)) say(`  export ${k}=${v}`);
  say(`  bin/catalog-sync put my-products.csv --wait`);
  say(`  bin/catalog-sync status`);
}
