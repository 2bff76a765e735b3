import { z } from 'zod';
import type { LocationIndex } from '../config/locations.js';
import { MediaTypeSchema, type Field } from '../config/schema.js';

const DEFAULT_PHONE = /^\+?[0-9][0-9 -]{5,18}[0-9]$/;

const cache = new WeakMap<LocationIndex, WeakMap<Field, z.ZodType>>();

/**
 * The Zod schema of one field's value, built once per field and location tree. `notFuture` depends
 * on the day, so it is checked by the caller (see validate.ts).
 */
export function fieldValueSchema(field: Field, locations: LocationIndex): z.ZodType {
  let byField = cache.get(locations);
  if (!byField) {
    byField = new WeakMap();
    cache.set(locations, byField);
  }
  let schema = byField.get(field);
  if (!schema) {
    schema = buildSchema(field, locations);
    byField.set(field, schema);
  }
  return schema;
}

/**
 * A file field's value (PROTOCOL 9): the bytes are uploaded apart, by their SHA-256, and never
 * travel inside an action.
 */
export const FileValueSchema = z.strictObject({
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 digest in lowercase hex'),
  name: z.string().trim().min(1, 'must not be empty').max(255),
  type: MediaTypeSchema,
  size: z.int().nonnegative(),
});
export type FileValue = z.infer<typeof FileValueSchema>;

const personName = z.string().trim().min(1, 'must not be empty').max(100);

function buildSchema(field: Field, locations: LocationIndex): z.ZodType {
  switch (field.type) {
    case 'text': {
      let schema = z
        .string({ error: 'must be text' })
        .min(field.minLength ?? 0, `must have at least ${field.minLength} characters`)
        .max(field.maxLength, `must have at most ${field.maxLength} characters`);
      if (field.pattern)
        schema = schema.regex(new RegExp(field.pattern, 'u'), 'has the wrong format');
      return schema;
    }
    case 'number': {
      let schema = z.number({ error: 'must be a number' });
      if (field.integer) schema = schema.int('must be a whole number');
      if (field.min !== undefined) schema = schema.min(field.min, `must be at least ${field.min}`);
      if (field.max !== undefined) schema = schema.max(field.max, `must be at most ${field.max}`);
      return schema;
    }
    case 'date': {
      let schema = z.iso.date({ error: 'must be a date (YYYY-MM-DD)' });
      if (field.min)
        schema = schema.refine((d) => d >= field.min!, `must be on or after ${field.min}`);
      if (field.max)
        schema = schema.refine((d) => d <= field.max!, `must be on or before ${field.max}`);
      return schema;
    }
    case 'select': {
      const values = field.options.map((option) => option.value);
      return z.string().refine((v) => values.includes(v), `must be one of ${values.join(', ')}`);
    }
    case 'checkbox':
      return z.boolean({ error: 'must be true or false' });
    case 'time':
      return z
        .string({ error: 'must be a time (HH:MM)' })
        .regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'must be a time (HH:MM)');
    case 'phone':
      return z
        .string({ error: 'must be a phone number' })
        .max(32, 'must have at most 32 characters')
        .regex(
          field.pattern ? new RegExp(field.pattern, 'u') : DEFAULT_PHONE,
          'is not a valid phone number',
        );
    case 'email':
      return z
        .email({ error: 'is not a valid email address' })
        .max(254, 'must have at most 254 characters');
    case 'idNumber':
      return z
        .string({ error: 'must be an id number' })
        .max(100, 'must have at most 100 characters')
        .regex(new RegExp(field.pattern, 'u'), 'is not a valid id number');
    case 'name':
      return z.strictObject({
        firstName: personName,
        middleName: personName.optional(),
        surname: personName,
      });
    case 'address':
      return addressSchema(locations);
    case 'location':
      return z.string().superRefine((id, ctx) => {
        const location = locations.get(id);
        if (!location) ctx.addIssue({ code: 'custom', message: `is not a known location` });
        else if (field.locationTypes && !field.locationTypes.includes(location.type)) {
          ctx.addIssue({
            code: 'custom',
            message: `must be a ${field.locationTypes.join(' or ')}, not a ${location.type}`,
          });
        }
      });
    case 'file':
      return FileValueSchema.superRefine((file, ctx) => {
        if (field.accept && !field.accept.includes(file.type)) {
          ctx.addIssue({
            code: 'custom',
            path: ['type'],
            message: `must be one of ${field.accept.join(', ')}`,
          });
        }
        if (file.size > field.maxBytes) {
          ctx.addIssue({
            code: 'custom',
            path: ['size'],
            message: `must be at most ${field.maxBytes} bytes`,
          });
        }
      });
    case 'reference': {
      const ref = z.uuid({ error: `must be the id of ${recordOf(field.recordType)}` });
      return field.multiple ? z.array(ref).max(500) : ref;
    }
  }
}

function addressSchema(locations: LocationIndex) {
  const text = z.string().trim().min(1).max(200);
  return z
    .strictObject({
      province: z.string({ error: 'is required' }),
      district: z.string({ error: 'is required' }),
      village: text.optional(),
      street: text.optional(),
    })
    .superRefine((address, ctx) => {
      if (locations.get(address.province)?.type !== 'province') {
        ctx.addIssue({ code: 'custom', path: ['province'], message: 'is not a known province' });
      }
      const district = locations.get(address.district);
      if (district?.type !== 'district') {
        ctx.addIssue({ code: 'custom', path: ['district'], message: 'is not a known district' });
      } else if (district.parentId !== address.province) {
        ctx.addIssue({
          code: 'custom',
          path: ['district'],
          message: 'is not in the province given',
        });
      }
    });
}

/** Whether a value counts as given for a required field. */
export function isPresent(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'string') return value.trim() !== '';
  if (Array.isArray(value)) return value.length > 0;
  return true;
}

/** "a household record", "an individual record": for messages about reference fields. */
export function recordOf(recordType: string): string {
  return `${/^[aeiou]/i.test(recordType) ? 'an' : 'a'} ${recordType} record`;
}
