import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { HttpHandlerOptions, HttpResponse } from '@smithy/types';
import { Transform, type Readable } from 'node:stream';

/** Requests per operation (`GetItem`-style targets, or `GET OBJECT`, `PUT OBJECT`, `GET LIST`), and bytes. */
export interface Meter {
  requests: Map<string, number>;
  sent: number;
  received: number;
}

export function newMeter(): Meter {
  return { requests: new Map(), sent: 0, received: 0 };
}

export function totalRequests(m: Meter): number {
  return [...m.requests.values()].reduce((a, b) => a + b, 0);
}

/** Requests of these operations. */
export function requestsOf(m: Meter, ops: readonly string[]): number {
  return ops.reduce((a, op) => a + (m.requests.get(op) ?? 0), 0);
}

function bodyBytes(body: unknown): number {
  if (body === undefined || body === null) return 0;
  if (typeof body === 'string') return Buffer.byteLength(body);
  if (body instanceof Uint8Array) return body.byteLength;
  return 0; // streams are not used for state objects
}

/** An HTTP handler that counts every request (per operation) and the bytes of its body and response. */
export class CountingHandler extends NodeHttpHandler {
  meter: Meter = newMeter();
  override async handle(
    request: Parameters<NodeHttpHandler['handle']>[0],
    options?: HttpHandlerOptions,
  ): Promise<{ response: HttpResponse }> {
    const m = this.meter;
    const target = String(request.headers['x-amz-target'] ?? '')
      .split('.')
      .pop();
    const op =
      target || `${request.method} ${request.query && 'list-type' in request.query ? 'LIST' : 'OBJECT'}`;
    m.requests.set(op, (m.requests.get(op) ?? 0) + 1);
    m.sent += bodyBytes(request.body);
    const res = await super.handle(request, options);
    const body = res.response.body as Readable | undefined;
    if (body && typeof body.pipe === 'function') {
      const counter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          m.received += chunk.length;
          done(null, chunk);
        },
      });
      body.on('error', (err) => counter.destroy(err));
      res.response.body = body.pipe(counter);
    }
    return res;
  }
}
