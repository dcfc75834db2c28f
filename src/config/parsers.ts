import { CONTRACT_FIELDS, normaliseColumnName } from '../ingest/header.ts';
import { tokenFormatProblem } from '../meta/token-format.ts';

/** How one variable's text becomes its value: each parser throws with a message naming what is wrong. */

export type Parser<T> = (raw: string) => T;

/**
 * A parse failure whose message is known not to contain the value, so it may be shown even for a secret
 * (the position and code point of a stray character, say, which is what an operator needs to fix it).
 */
export class SafeMessage extends Error {}

export interface VarSpec<T> {
  env: string;
  doc: string;
  /** Undefined = required. */
  default?: string;
  secret?: boolean;
  parse: Parser<T>;
}

export const str: Parser<string> = (raw) => {
  if (raw.trim() === '') throw new Error('must not be empty');
  return raw.trim();
};
export const optionalStr: Parser<string | undefined> = (raw) => (raw.trim() === '' ? undefined : raw.trim());
export const int =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new Error(`must be a whole number, got "${raw}"`);
    const n = Number(raw);
    if (n < min || n > max) throw new Error(`must be between ${min} and ${max}, got ${n}`);
    return n;
  };
export const prefix: Parser<string> = (raw) => {
  const p = raw.trim().replace(/^\/+/, '');
  if (p === '') throw new Error('must not be empty');
  return p.endsWith('/') ? p : `${p}/`;
};
export const url: Parser<string> = (raw) => {
  const u = new URL(raw.trim()); // throws "Invalid URL"
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('must be an http(s) URL');
  return raw.trim().replace(/\/+$/, '');
};
export const currency: Parser<string> = (raw) => {
  const c = raw.trim().toUpperCase();
  if (!/^[A-Z]{3}$/.test(c)) throw new Error(`must be an ISO 4217 code such as USD or EUR, got "${raw}"`);
  return c;
};
export const columnMap: Parser<Record<string, string>> = (raw) => {
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
export const accessToken: Parser<string | undefined> = (raw) => {
  if (raw === '') return undefined;
  const problem = tokenFormatProblem(raw);
  if (problem) throw new SafeMessage(problem);
  return raw;
};
/** A secret name or ARN: 1–512 of Secrets Manager's name characters, or an ARN of them. */
export const secretId: Parser<string | undefined> = (raw) => {
  const v = raw.trim();
  if (v === '') return undefined;
  if (!/^(arn:[\w-]+:secretsmanager:[\w-]+:\d{12}:secret:)?[A-Za-z0-9/_+=.@-]{1,512}$/.test(v)) {
    throw new Error(`must be a Secrets Manager secret name or ARN, got "${raw}"`);
  }
  return v;
};
/** A CSV column compared the way headers are (trimmed, case-insensitive, spaces as _); empty = none. */
export const versionColumn: Parser<string | undefined> = (raw) => {
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
export const bool: Parser<boolean> = (raw) => {
  const v = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off', ''].includes(v)) return false;
  throw new Error(`must be true or false, got "${raw}"`);
};
export const decimal =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    if (!/^\d+(\.\d+)?$/.test(raw.trim())) throw new Error(`must be a number such as 0.01, got "${raw}"`);
    const n = Number(raw);
    if (n < min || n > max) throw new Error(`must be between ${min} and ${max}, got ${n}`);
    return n;
  };
/** Comma-separated item fields (items_batch names), e.g. title,price,availability. */
export const fieldList: Parser<string[]> = (raw) => {
  const fields = raw
    .split(',')
    .map((f) => f.trim())
    .filter((f) => f !== '');
  if (fields.length === 0) throw new Error('must name at least one field');
  const bad = fields.find((f) => !/^[a-z][a-z0-9_]{0,63}$/.test(f));
  if (bad !== undefined) throw new Error(`"${bad}" is not a field name (lower case, digits and _)`);
  return fields;
};
export const oneOf =
  <T extends string>(values: readonly T[]): Parser<T> =>
  (raw) => {
    const v = raw.trim().toLowerCase();
    if (!(values as readonly string[]).includes(v))
      throw new Error(`must be one of ${values.join(', ')}, got "${raw}"`);
    return v as T;
  };
export const apiVersion: Parser<string> = (raw) => {
  const v = raw.trim();
  if (!/^v\d+\.\d+$/.test(v)) throw new Error(`must look like v26.0, got "${raw}"`);
  return v;
};
