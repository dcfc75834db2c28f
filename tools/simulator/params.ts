import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';
import type { SimEncoding } from './types.ts';

/**
 * Graph parameters arrive in any of Meta's encodings (Meta's Catalog Batch API docs, src/meta/README.md): the query string, a form-urlencoded
 * body, a multipart body (Meta's own curl sample) or a JSON body (WooCommerce). Body parameters win over
 * query parameters. In form and multipart bodies every value is a string, so `requests` is JSON text there;
 * in a JSON body it may be a real array.
 */

export interface RawBody {
  buf: Buffer;
  bytes: number;
  /** Over the limit: the rest was drained, not kept. */
  tooLarge: boolean;
}

export class ParamError extends Error {
  override readonly name = 'ParamError';
}

/** Reads the body, keeping at most `maxBytes`; a larger body is drained and flagged. */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<RawBody> {
  const declared = Number(req.headers['content-length']);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let tooLarge = Number.isFinite(declared) && declared > maxBytes;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > maxBytes) tooLarge = true;
      if (!tooLarge) chunks.push(chunk);
    });
    req.on('end', () =>
      resolve({ buf: tooLarge ? Buffer.alloc(0) : Buffer.concat(chunks), bytes, tooLarge }),
    );
    req.on('error', reject);
  });
}

function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

export async function parseParams(
  req: IncomingMessage,
  query: URLSearchParams,
  body: RawBody,
  maxBytes: number,
): Promise<{ params: Record<string, unknown>; encoding: SimEncoding }> {
  const params: Record<string, unknown> = {};
  for (const [k, v] of query) params[k] = v;
  if (body.bytes === 0) return { params, encoding: query.size > 0 ? 'query' : 'none' };

  const type = mediaType(req);
  const text = (): string => body.buf.toString('utf8');
  if (type === 'application/json' || type.endsWith('+json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text());
    } catch {
      throw new ParamError('(#100) The request body is not valid JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ParamError('(#100) A JSON request body must be an object of parameters');
    }
    Object.assign(params, parsed);
    return { params, encoding: 'json' };
  }
  if (type === 'application/x-www-form-urlencoded') {
    for (const [k, v] of new URLSearchParams(text())) params[k] = v;
    return { params, encoding: 'form' };
  }
  if (type === 'multipart/form-data') {
    Object.assign(params, await parseMultipart(req, body.buf, maxBytes));
    return { params, encoding: 'multipart' };
  }
  // Unknown content types: Graph reads the body as a form (curl -d without a type sends one).
  for (const [k, v] of new URLSearchParams(text())) params[k] = v;
  return { params, encoding: 'other' };
}

function parseMultipart(
  req: IncomingMessage,
  buf: Buffer,
  maxBytes: number,
): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const out: Record<string, string> = {};
    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers: req.headers,
        limits: { fieldSize: maxBytes, fileSize: maxBytes, fields: 1000 },
      });
    } catch (err) {
      reject(new ParamError(`(#100) Unreadable multipart body: ${(err as Error).message}`));
      return;
    }
    bb.on('field', (name, value) => (out[name] = value));
    // `curl -F requests=@batch.json` sends a file part: its content is the value.
    bb.on('file', (name, stream) => {
      const parts: Buffer[] = [];
      stream.on('data', (d: Buffer) => parts.push(d));
      stream.on('end', () => (out[name] = Buffer.concat(parts).toString('utf8')));
    });
    bb.on('close', () => resolve(out));
    bb.on('error', (err) =>
      reject(new ParamError(`(#100) Unreadable multipart body: ${(err as Error).message}`)),
    );
    bb.end(buf);
  });
}

/** Graph booleans: true/false, "true"/"false", "1"/"0". Undefined when absent. */
export function boolParam(v: unknown, name: string): boolean | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (v === true || v === 'true' || v === '1' || v === 1) return true;
  if (v === false || v === 'false' || v === '0' || v === 0) return false;
  throw new ParamError(`(#100) Param ${name} must be a boolean`);
}
