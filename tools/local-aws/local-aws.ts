import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { openSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, startMoto, waitFor } from './moto-server.ts';
import { deployTemplate, localClients, type DeployResult } from './provision.ts';

/**
 * The local AWS of the sandbox: one moto server that outlives the command that started it, with the
 * storage template deployed. Its state file (.local/aws.json) lets `up` be run twice and `down` find it.
 */
// CATALOG_SYNC_LOCAL_DIR lets tests run their own local AWS beside a developer's sandbox.
export const LOCAL_DIR = process.env.CATALOG_SYNC_LOCAL_DIR ?? path.join(repoRoot, '.local');
const STATE_FILE = path.join(LOCAL_DIR, 'aws.json');

export interface LocalAwsState {
  endpoint: string;
  pid: number;
  stackName: string;
  stage: string;
  outputs: Record<string, string>;
  startedAt: string;
}

export async function readLocalAwsState(): Promise<LocalAwsState | undefined> {
  try {
    return JSON.parse(await readFile(STATE_FILE, 'utf8')) as LocalAwsState;
  } catch {
    return undefined;
  }
}

/** True while a process with this pid exists (signal 0 checks without touching it). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    return (await fetch(`${endpoint}/moto-api/data.json`)).ok;
  } catch {
    return false;
  }
}

export function stackNameFor(stage: string): string {
  return `catalog-sync-${stage}`;
}

export interface UpOptions {
  stage?: string;
  port?: number;
  onProgress?: (line: string) => void;
}

/** Starts moto (unless ours is already up) and deploys the template. Idempotent. */
export async function localAwsUp(options: UpOptions = {}): Promise<LocalAwsState & { reused: boolean }> {
  const stage = options.stage ?? 'local';
  const progress = options.onProgress ?? (() => {});
  const existing = await readLocalAwsState();
  let endpoint: string;
  let pid: number;
  let reused = false;
  if (existing && processAlive(existing.pid) && (await answers(existing.endpoint))) {
    ({ endpoint, pid } = existing);
    reused = true;
    progress(`moto already running at ${endpoint} (pid ${pid})`);
  } else {
    await mkdir(LOCAL_DIR, { recursive: true });
    const log = openSync(path.join(LOCAL_DIR, 'moto.log'), 'a');
    progress('starting moto server');
    const moto = await startMoto({ port: options.port, detached: true, logFile: log });
    ({ endpoint, pid } = moto);
    progress(`moto listening at ${endpoint} (pid ${pid}, log ${path.join(LOCAL_DIR, 'moto.log')})`);
  }
  const result: DeployResult = await deployTemplate({
    clients: localClients(endpoint),
    stackName: stackNameFor(stage),
    parameters: { Stage: stage },
    onProgress: progress,
  });
  const state: LocalAwsState = {
    endpoint,
    pid,
    stackName: result.stackName,
    stage,
    outputs: result.outputs,
    startedAt: reused && existing ? existing.startedAt : new Date().toISOString(),
  };
  await writeFile(STATE_FILE, JSON.stringify(state, null, 2));
  return { ...state, reused };
}

/** Stops the moto server that `up` started; a no-op when none runs. */
export async function localAwsDown(onProgress: (line: string) => void = () => {}): Promise<boolean> {
  const state = await readLocalAwsState();
  if (!state) {
    onProgress('no local AWS state (.local/aws.json): nothing to stop');
    return false;
  }
  if (processAlive(state.pid)) {
    process.kill(state.pid, 'SIGTERM');
    await waitFor(`moto (pid ${state.pid}) to exit`, async () => !processAlive(state.pid), {
      timeoutMs: 10_000,
    }).catch(() => process.kill(state.pid, 'SIGKILL'));
    onProgress(`stopped moto (pid ${state.pid})`);
  } else {
    onProgress(`moto (pid ${state.pid}) was not running`);
  }
  await rm(STATE_FILE, { force: true });
  return true;
}

/** Environment variables that point the worker, the CLI and the AWS SDKs at a deployed local stack. */
export function envFor(endpoint: string, outputs: Record<string, string>): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    LANDING_BUCKET: outputs.LandingBucketName ?? '',
    SYNCED_BUCKET: outputs.SyncedBucketName ?? '',
    QUEUE_URL: outputs.QueueUrl ?? '',
    DLQ_URL: outputs.DeadLetterQueueUrl ?? '',
    STATE_TABLE: outputs.StateTableArn ?? '',
  };
}
