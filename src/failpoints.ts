/**
 * Named failpoints: places on the path from event to archive where a test can make the process die
 * (SIGKILL, as a crash or an OOM kill would) or make the next step throw, so a test puts the system
 * exactly there instead of "some time after a log line".
 *
 * Armed only through the environment variable CATALOG_SYNC_FAILPOINTS, which the worker command hands to
 * `armFailpoints`, and never when NODE_ENV is `production` (the image sets it): in production every
 * `failpoint()` call is a map lookup that finds nothing. Syntax: `name=action[,name=action…]`, where action is
 *   - `kill`       SIGKILL this process at that point;
 *   - `throw`      throw FailpointError (a transient fault);
 *   - `kill@N`, `throw@N`  only on the N-th time the point is reached (1-based).
 * Every point reached while armed is logged to stderr as `failpoint <name> hit <n>`, so a test can see
 * that the point it armed was in fact reached.
 */

export const FAILPOINTS = [
  // worker, flush path
  'flush.after-lease',
  'flush.after-state-read',
  'flush.after-manifest-write',
  'flush.after-intent-write',
  'flush.after-items-batch-accepted',
  'flush.after-handle-recorded',
  'flush.after-submitted',
  'flush.after-delete',
  // worker, status and retry path
  'poll.after-batch-final',
  'poll.inside-finish',
  'retry.after-resend-accepted',
  'retry.after-resend-recorded',
] as const;

export type FailpointName = (typeof FAILPOINTS)[number];
type Action = { kind: 'kill' | 'throw'; nth: number | null };

export class FailpointError extends Error {
  override readonly name = 'FailpointError';
  readonly point: string;
  constructor(point: string) {
    super(`failpoint ${point} fired`);
    this.point = point;
  }
}

export function parseFailpoints(spec: string | undefined): Map<string, Action> {
  const armed = new Map<string, Action>();
  for (const part of (spec ?? '').split(',')) {
    const trimmed = part.trim();
    if (!trimmed) continue;
    const m = /^([a-z0-9.-]+)=(kill|throw)(?:@(\d+))?$/.exec(trimmed);
    if (!m) throw new Error(`CATALOG_SYNC_FAILPOINTS: "${trimmed}" is not name=kill|throw[@N]`);
    const name = m[1]!;
    if (!(FAILPOINTS as readonly string[]).includes(name)) {
      throw new Error(
        `CATALOG_SYNC_FAILPOINTS: unknown failpoint "${name}" (known: ${FAILPOINTS.join(', ')})`,
      );
    }
    armed.set(name, { kind: m[2] as Action['kind'], nth: m[3] ? Number(m[3]) : null });
  }
  return armed;
}

let armed = new Map<string, Action>();
const hits = new Map<string, number>();

/**
 * Arms the points named in `spec` (the CATALOG_SYNC_FAILPOINTS syntax). Called once by the worker command
 * from its environment; never in production, where `failpoint()` stays a lookup that finds nothing.
 */
export function armFailpoints(spec: string | undefined, production: boolean): void {
  armed = production ? new Map() : parseFailpoints(spec);
  hits.clear();
}

/** Marks a point on the path; inert unless armed by CATALOG_SYNC_FAILPOINTS outside production. */
export function failpoint(name: FailpointName): void {
  if (armed.size === 0) return;
  const n = (hits.get(name) ?? 0) + 1;
  hits.set(name, n);
  const action = armed.get(name);
  if (!action) return;
  process.stderr.write(`failpoint ${name} hit ${n}\n`);
  if (action.nth !== null && action.nth !== n) return;
  if (action.kind === 'kill') process.kill(process.pid, 'SIGKILL');
  throw new FailpointError(name);
}
