import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import manifestSchema from '../../schemas/manifest.schema.json' with { type: 'json' };
import sweepSchema from '../../schemas/sweep-message.schema.json' with { type: 'json' };

/** The repo's JSON Schemas, compiled once. The DAG validates against the same files. */

// ajv-formats is CommonJS; under NodeNext its default import is typed as the module object.
const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;
const ajv = new Ajv({ allErrors: true });
addFormats(ajv);

const sweep = ajv.compile(sweepSchema);
const manifest = ajv.compile(manifestSchema);

function check(validate: ValidateFunction, value: unknown): string | null {
  if (validate(value)) return null;
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`.trim()).join('; ');
}

/** Null when the value matches sweep-message.schema.json, else what is wrong. */
export const sweepMessageErrors = (value: unknown): string | null => check(sweep, value);

/** Null when the value matches manifest.schema.json, else what is wrong. */
export const manifestErrors = (value: unknown): string | null => check(manifest, value);
