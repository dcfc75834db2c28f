import { Ajv, type ErrorObject } from 'ajv';
import schema from '../../schemas/product-row.schema.json' with { type: 'json' };
import { charLength } from './text.ts';
import { notAbsoluteReason } from './url.ts';

/**
 * The JSON Schema of a CSV row (schemas/product-row.schema.json), compiled once per process. allErrors, so
 * a rejected row names every broken field at once rather than one per upload.
 */

const ajv = new Ajv({ allErrors: true, strict: true });

export const validateRowShape = ajv.compile<Record<string, string>>(schema);

export interface FieldProblem {
  field: string;
  reason: string;
}

/** ajv's errors as reasons that name the field and the rule in words a catalog editor understands. */
export function shapeProblems(errors: readonly ErrorObject[], row: Record<string, string>): FieldProblem[] {
  return errors.map((e) => {
    if (e.keyword === 'required') {
      const field = String(e.params.missingProperty);
      return { field, reason: `${field} is empty (required)` };
    }
    const field = e.instancePath.slice(1).replace(/~1/g, '/').replace(/~0/g, '~');
    const value = row[field] ?? '';
    switch (e.keyword) {
      case 'maxLength':
        return {
          field,
          reason: `${field} is ${charLength(value)} characters, over the limit of ${String(e.params.limit)}`,
        };
      case 'pattern':
        return { field, reason: notAbsoluteReason(field, value) };
      default:
        return { field, reason: `${field} ${e.message ?? `fails ${e.keyword}`}` };
    }
  });
}
