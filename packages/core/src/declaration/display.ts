import type { RegistryConfig } from '../config/load.js';
import type { Field } from '../config/schema.js';

export const NAME_PARTS = ['firstName', 'middleName', 'surname'] as const;
export const ADDRESS_PARTS = ['street', 'village', 'district', 'province'] as const;

/** A declaration value as a person reads it: labels for codes, names and addresses in order. */
export function displayValue(
  value: unknown,
  field: Field | undefined,
  config: Pick<RegistryConfig, 'locations'>,
): string {
  if (value === undefined || value === null || value === '') return '';
  if (field?.type === 'select')
    return field.options.find((o) => o.value === value)?.label ?? String(value);
  if (field?.type === 'checkbox' || typeof value === 'boolean') return value ? 'Yes' : 'No';
  if (field?.type === 'location' && typeof value === 'string')
    return config.locations.get(value)?.name ?? value;
  if (Array.isArray(value)) return value.map((v) => displayValue(v, undefined, config)).join(', ');
  if (typeof value === 'object') {
    const parts = value as Record<string, unknown>;
    // A file reads as its name (the web app's record page shows the file under Attachments).
    if (field?.type === 'file' || 'sha256' in parts) return String(parts['name'] ?? 'a file');
    // Stored objects come back with their keys in any order: read them in the person's order.
    if (field?.type === 'address' || 'province' in parts) {
      return ADDRESS_PARTS.map((key) => {
        const part = parts[key];
        if (typeof part !== 'string') return '';
        return key === 'district' || key === 'province'
          ? (config.locations.get(part)?.name ?? part)
          : part;
      })
        .filter(Boolean)
        .join(', ');
    }
    if (field?.type === 'name' || 'surname' in parts || 'firstName' in parts) {
      return NAME_PARTS.map((key) => parts[key])
        .filter((part) => typeof part === 'string' && part !== '')
        .join(' ');
    }
    return Object.values(parts).filter(Boolean).join(' ');
  }
  return String(value);
}
