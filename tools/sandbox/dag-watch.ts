import { DAG_ID, type SandboxAirflow } from './airflow.ts';

/**
 * Prints each finished DAG run as it finishes, so the sweep is visible in the sandbox's output as well as
 * in the UI. Returns the timer to clear on shutdown.
 */
export function watchDagRuns(airflow: SandboxAirflow, say: (line: string) => void): NodeJS.Timeout {
  const reported = new Set<string>();
  let busy = false;
  return setInterval(() => {
    if (busy) return;
    busy = true;
    airflow
      .dagRuns()
      .then((runs) => {
        for (const r of runs.slice().reverse()) {
          if ((r.state !== 'success' && r.state !== 'failed') || reported.has(r.dag_run_id)) continue;
          reported.add(r.dag_run_id);
          const took =
            r.start_date && r.end_date
              ? ` in ${((Date.parse(r.end_date) - Date.parse(r.start_date)) / 1000).toFixed(0)} s`
              : '';
          say(`DAG ${DAG_ID}: run ${r.dag_run_id} ${r.state}${took}`);
        }
      })
      .catch(() => undefined)
      .finally(() => (busy = false));
  }, 5000);
}
