import {
  FieldIdSchema,
  formFields,
  RecordTypeIdSchema,
  type Declaration,
  type FieldError,
  type RecordTypeConfig,
} from '@registra/core';
import { z } from 'zod';

/**
 * An import's mapping file: which column (a CSV header, or a JSON lines key, dotted for nested
 * objects) fills which field of the record type, with simple transforms. Declarative on purpose:
 * a million rows are mapped without evaluating an expression language per row.
 */

const TRANSFORMS = ['trim', 'lower', 'upper', 'number', 'integer', 'boolean', 'date'] as const;
const TransformSchema = z.enum(TRANSFORMS);
type Transform = z.infer<typeof TransformSchema>;

/** How dates are written in the source; `date` turns them into the form's YYYY-MM-DD. */
const DATE_FORMATS = ['YYYY-MM-DD', 'DD/MM/YYYY', 'MM/DD/YYYY', 'YYYYMMDD'] as const;

const ScalarSchema = z.union([z.string(), z.number(), z.boolean()]);

const FieldMapSchema = z.union([
  z.string().min(1).max(200),
  z
    .strictObject({
      /** The column (CSV header or JSON key) the value comes from. */
      column: z.string().min(1).max(200).optional(),
      /** A constant instead of a column. */
      value: ScalarSchema.optional(),
      /** Applied in order, after `map`. */
      transform: z.union([TransformSchema, z.array(TransformSchema).max(8)]).optional(),
      dateFormat: z.enum(DATE_FORMATS).default('YYYY-MM-DD'),
      /** Source value → field value, e.g. {"F": "female"}; a value not listed is an error. */
      map: z.record(z.string(), ScalarSchema).optional(),
      /** Used when the column is empty or absent. */
      default: ScalarSchema.optional(),
    })
    .refine((f) => (f.column === undefined) !== (f.value === undefined), {
      message: 'names a column or a constant value, not both',
    }),
]);

export const MappingSchema = z.strictObject({
  /** The record type the rows become; `--type` must agree when both are given. */
  recordType: RecordTypeIdSchema.optional(),
  /**
   * The column holding each row's key (a source system's id): record and action ids are made from
   * it, so a re-run lands nothing twice. Without it, the row's number in the file is the key.
   */
  key: z.string().min(1).max(200).optional(),
  /** Field id → where its value comes from. */
  fields: z
    .record(FieldIdSchema, FieldMapSchema)
    .refine((fields) => Object.keys(fields).length > 0, { message: 'maps at least one field' }),
  /** CSV only: the separator, a comma unless said. */
  delimiter: z.string().length(1).default(','),
});
export type Mapping = z.infer<typeof MappingSchema>;

interface FieldRule {
  fieldId: string;
  column: string | undefined;
  path: string[] | undefined;
  value: string | number | boolean | undefined;
  map: Record<string, string | number | boolean> | undefined;
  transforms: Transform[];
  dateFormat: (typeof DATE_FORMATS)[number];
  fallback: string | number | boolean | undefined;
}

/** A row as read: CSV cells by header, or a JSON line's object. */
export type SourceRow = Record<string, unknown>;

export interface MappedRow {
  key: string;
  declaration: Declaration;
  errors: FieldError[];
}

/** A mapping checked against its record type, ready to turn rows into declarations. */
export class RowMapper {
  readonly #rules: FieldRule[];

  private constructor(
    readonly mapping: Mapping,
    rules: FieldRule[],
  ) {
    this.#rules = rules;
  }

  /**
   * Checks that every mapped field is a field of the record type; the errors' paths point into
   * the mapping file (`fields.person.dob`).
   */
  static compile(
    mapping: Mapping,
    recordType: RecordTypeConfig,
  ): { mapper: RowMapper } | { errors: FieldError[] } {
    const fields = formFields(recordType);
    const errors: FieldError[] = [];
    const rules: FieldRule[] = [];
    for (const [fieldId, spec] of Object.entries(mapping.fields)) {
      const field = fields.get(fieldId);
      if (!field) {
        errors.push({ path: `fields.${fieldId}`, message: `is not a field of ${recordType.id}` });
        continue;
      }
      if (field.type === 'file') {
        errors.push({ path: `fields.${fieldId}`, message: 'file fields cannot be imported' });
        continue;
      }
      const rule = typeof spec === 'string' ? { column: spec, dateFormat: 'YYYY-MM-DD' } : spec;
      const column = 'column' in rule ? rule.column : undefined;
      const transform = 'transform' in rule ? rule.transform : undefined;
      rules.push({
        fieldId,
        column,
        path: column?.includes('.') ? column.split('.') : undefined,
        value: 'value' in rule ? rule.value : undefined,
        map: 'map' in rule ? rule.map : undefined,
        transforms:
          transform === undefined ? [] : Array.isArray(transform) ? transform : [transform],
        dateFormat: rule.dateFormat as FieldRule['dateFormat'],
        fallback: 'default' in rule ? rule.default : undefined,
      });
    }
    return errors.length > 0 ? { errors } : { mapper: new RowMapper(mapping, rules) };
  }

  /** The columns the mapping reads, for checking a CSV header before the first row. */
  columns(): string[] {
    const columns = this.#rules.flatMap((r) => (r.column === undefined ? [] : [r.column]));
    return this.mapping.key === undefined ? columns : [this.mapping.key, ...columns];
  }

  /** One row's declaration, and what could not be mapped (path: the field id). */
  map(row: SourceRow, rowNumber: number): MappedRow {
    const declaration: Declaration = {};
    const errors: FieldError[] = [];
    for (const rule of this.#rules) {
      let raw: unknown = rule.value ?? (rule.path ? dig(row, rule.path) : row[rule.column ?? '']);
      if (raw === undefined || raw === null || raw === '') raw = rule.fallback;
      if (raw === undefined || raw === null || raw === '') continue;
      const converted = convert(raw, rule);
      if ('error' in converted) errors.push({ path: rule.fieldId, message: converted.error });
      else if (converted.value !== undefined) declaration[rule.fieldId] = converted.value;
    }
    const keyValue = this.mapping.key === undefined ? rowNumber : row[this.mapping.key];
    const key =
      typeof keyValue === 'string' || typeof keyValue === 'number' ? String(keyValue).trim() : '';
    if (key === '') {
      errors.push({ path: this.mapping.key ?? 'key', message: 'the row has no key' });
    }
    return { key, declaration, errors };
  }
}

function dig(row: SourceRow, path: string[]): unknown {
  let value: unknown = row;
  for (const part of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

type Converted = { value: Declaration[string] | undefined } | { error: string };

function convert(raw: unknown, rule: FieldRule): Converted {
  let value: unknown = raw;
  if (rule.map) {
    const key = String(value).trim();
    if (!Object.hasOwn(rule.map, key)) return { error: `"${key}" is not one of the mapped values` };
    value = rule.map[key];
  }
  for (const transform of rule.transforms) {
    const next = apply(transform, value, rule);
    if ('error' in next) return next;
    value = next.value;
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return { value };
  }
  // JSON lines may carry objects and arrays (an address, a list of references): as they are.
  if (typeof value === 'object') return { value: value as Declaration[string] };
  return { error: 'has a value that is not text, a number or a boolean' };
}

const TRUE = new Set(['true', 'yes', 'y', '1', 'oui']);
const FALSE = new Set(['false', 'no', 'n', '0', 'non']);

function apply(transform: Transform, value: unknown, rule: FieldRule): Converted {
  const text = typeof value === 'string' ? value : String(value);
  switch (transform) {
    case 'trim':
      return { value: text.trim() };
    case 'lower':
      return { value: text.toLowerCase() };
    case 'upper':
      return { value: text.toUpperCase() };
    case 'number':
    case 'integer': {
      const n = typeof value === 'number' ? value : Number(text.trim());
      if (text.trim() === '' || !Number.isFinite(n)) return { error: `"${text}" is not a number` };
      if (transform === 'integer' && !Number.isInteger(n))
        return { error: `"${text}" is not a whole number` };
      return { value: n };
    }
    case 'boolean': {
      if (typeof value === 'boolean') return { value };
      const t = text.trim().toLowerCase();
      if (TRUE.has(t)) return { value: true };
      if (FALSE.has(t)) return { value: false };
      return { error: `"${text}" is not yes or no` };
    }
    case 'date':
      return toIsoDate(text.trim(), rule.dateFormat);
  }
}

const PATTERNS: Record<FieldRule['dateFormat'], RegExp> = {
  'YYYY-MM-DD': /^(?<y>\d{4})-(?<m>\d{1,2})-(?<d>\d{1,2})$/,
  'DD/MM/YYYY': /^(?<d>\d{1,2})\/(?<m>\d{1,2})\/(?<y>\d{4})$/,
  'MM/DD/YYYY': /^(?<m>\d{1,2})\/(?<d>\d{1,2})\/(?<y>\d{4})$/,
  YYYYMMDD: /^(?<y>\d{4})(?<m>\d{2})(?<d>\d{2})$/,
};

function toIsoDate(text: string, format: FieldRule['dateFormat']): Converted {
  const groups = PATTERNS[format].exec(text)?.groups;
  if (!groups) return { error: `"${text}" is not a date written ${format}` };
  const [y, m, d] = [Number(groups['y']), Number(groups['m']), Number(groups['d'])];
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) {
    return { error: `"${text}" is not a date` };
  }
  return { value: date.toISOString().slice(0, 10) };
}
