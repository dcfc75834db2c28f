import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import { createLogger, registerSecret, type Logger } from '../src/logger.ts';
import { GraphApiError } from '../src/meta/graph-error.ts';

/**
 * Errors in log fields: JSON.stringify prints an Error as {}, so "flush failed repeatedly" once came out
 * with "err":{} and no reason. Every Error, at any depth, must show its name, message, code, kind,
 * fbtraceId and cause, with the stack only at debug level, and no secret anywhere.
 */

const TOKEN = `log-token-${randomBytes(16).toString('hex')}`;
const APP_SECRET = `log-secret-${randomBytes(16).toString('hex')}`;
registerSecret(TOKEN);
registerSecret(APP_SECRET);

/** A real logger (the production format and redaction) writing to a stream we read back. */
function streamLogger(level: string): {
  logger: Logger;
  lines: () => Record<string, unknown>[];
  raw: () => string;
} {
  const stream = new PassThrough();
  let raw = '';
  stream.on('data', (d: Buffer) => (raw += d.toString('utf8')));
  const logger = createLogger({ level, stream, defaultMeta: { component: 'test' } });
  return {
    logger,
    raw: () => raw,
    lines: () =>
      raw
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** Winston writes asynchronously through the stream: wait until the line is there. */
async function logged(log: ReturnType<typeof streamLogger>, n: number): Promise<Record<string, unknown>[]> {
  for (let i = 0; i < 100 && log.lines().length < n; i++) await new Promise((r) => setImmediate(r));
  const lines = log.lines();
  expect(lines).to.have.length(n);
  return lines;
}

const graphError = () =>
  new GraphApiError({
    kind: 'auth',
    endpoint: 'items_batch',
    code: 190,
    subcode: 463,
    httpStatus: 400,
    fbtraceId: 'AbCdEf123',
    message: `items_batch: Meta error 190/463 (auth, HTTP 400): token ${TOKEN} expired`,
  });

describe('logger: errors in fields', () => {
  it('shows a nested Error with name, message, code, kind, fbtraceId and cause; no stack at info', async () => {
    const log = streamLogger('info');
    const err = new Error('flush failed: Meta refused the credentials', { cause: graphError() });
    log.logger.error('flush failed repeatedly', { err, window: '2026-11-25T12' });
    const [line] = await logged(log, 1);
    expect(line).to.include({ level: 'error', message: 'flush failed repeatedly', window: '2026-11-25T12' });
    expect(line!.err).to.deep.equal({
      name: 'Error',
      message: 'flush failed: Meta refused the credentials',
      cause: {
        name: 'GraphApiError',
        message: 'items_batch: Meta error 190/463 (auth, HTTP 400): token [REDACTED] expired',
        code: 190,
        kind: 'auth',
        fbtraceId: 'AbCdEf123',
      },
    });
    expect(log.raw()).to.not.include(TOKEN);
  });

  it('finds Errors anywhere: arrays, nested objects, causes that are plain values, AggregateError', async () => {
    const log = streamLogger('info');
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:443'), { code: 'ECONNREFUSED' });
    log.logger.warn('several things failed', {
      details: { attempts: [new TypeError('fetch failed', { cause: refused }), 'not an error'] },
      other: new RangeError('bad', { cause: { reason: `secret ${APP_SECRET}` } }),
      all: new AggregateError([refused], ''),
    });
    const [line] = await logged(log, 1);
    expect(line!.details).to.deep.equal({
      attempts: [
        {
          name: 'TypeError',
          message: 'fetch failed',
          cause: { name: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:443', code: 'ECONNREFUSED' },
        },
        'not an error',
      ],
    });
    expect(line!.other).to.deep.equal({
      name: 'RangeError',
      message: 'bad',
      cause: { reason: 'secret [REDACTED]' },
    });
    expect((line!.all as { errors: unknown[] }).errors).to.deep.equal([
      { name: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:443', code: 'ECONNREFUSED' },
    ]);
    expect(log.raw()).to.not.include(APP_SECRET);
  });

  it('at debug level adds the stacks, redacted, of the error and of its cause', async () => {
    const log = streamLogger('debug');
    const err = new Error(`outer with ${APP_SECRET}`, { cause: graphError() });
    log.logger.error('flush failed repeatedly', { err });
    const [line] = await logged(log, 1);
    const e = line!.err as { stack: string; cause: { stack: string } };
    expect(e.stack).to.match(/^Error: outer with \[REDACTED\]\n\s+at /);
    expect(e.cause.stack).to.match(
      /GraphApiError: items_batch: Meta error 190\/463 .*token \[REDACTED\] expired/,
    );
    expect(log.raw()).to.not.include(TOKEN).and.not.include(APP_SECRET);
  });

  it('an Error logged on its own keeps its message; its stack only at debug level', async () => {
    const info = streamLogger('info');
    info.logger.error(new Error(`boom ${TOKEN}`, { cause: graphError() }));
    info.logger.error('with meta', new Error('meta error'));
    const [alone, withMeta] = await logged(info, 2);
    expect(alone).to.include({ message: 'boom [REDACTED]' });
    expect(alone).to.not.have.property('stack');
    expect(alone!.cause).to.include({ name: 'GraphApiError', kind: 'auth', code: 190 });
    expect(withMeta!.message).to.equal('with meta meta error');
    expect(withMeta).to.not.have.property('stack');
    const debug = streamLogger('debug');
    debug.logger.error(new Error(`boom ${TOKEN}`));
    const [d] = await logged(debug, 1);
    expect(d!.stack).to.match(/^Error: boom \[REDACTED\]\n/);
    expect(info.raw() + debug.raw()).to.not.include(TOKEN);
  });

  it('a cycle or a bigint does not lose the line', async () => {
    const log = streamLogger('info');
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    const err = new Error('cyclic');
    (err as Error & { cause?: unknown }).cause = err;
    log.logger.info('odd values', { a, err, big: 12n });
    const [line] = await logged(log, 1);
    expect(line!.a).to.deep.equal({ name: 'a', self: '[Circular]' });
    expect(line!.err).to.deep.equal({ name: 'Error', message: 'cyclic', cause: '[Circular]' });
    expect(line!.big).to.equal('12');
  });
});
