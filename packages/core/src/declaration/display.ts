import type { RegistryConfig } from '../config/load.js';
import type { Field } from '../config/schema.js';

export const NAME_PARTS = ['firstName', 'middleName', 'surname'] as const;
export const ADDRESS_PARTS = ['street', 'village', 'district', 'province'] as const;

/** The words a reader's language gives: option labels, yes and no, dates. */
export interface DisplayWords {
  option(option: { value: string; label: string }): string;
  yes: string;
  no: string;
  /** A YYYY-MM-DD date as the reader writes it; as stored when absent. */
  date?(day: string): string;
}

const PLAIN: DisplayWords = { option: (o) => o.label, yes: 'Yes', no: 'No' };

/**
 * A declaration value as a person reads it: labels for codes, names and addresses in order. One
 * rule for certificates and the web app, which passes its language's words.
 */
export function displayValue(
  value: unknown,
  field: Field | undefined,
  config: Pick<RegistryConfig, 'locations'>,
  words: DisplayWords = PLAIN,
): string {
  if (value === undefined || value === null || value === '') return '';
  if (field?.type === 'select') {
    const option = field.options.find((o) => o.value === value);
    return option ? words.option(option) : String(value);
  }
  if (field?.type === 'checkbox' || typeof value === 'boolean') return value ? words.yes : words.no;
  if (field?.type === 'location' && typeof value === 'string')
    return config.locations.get(value)?.name ?? value;
  if (field?.type === 'date' && typeof value === 'string' && words.date) return words.date(value);
  if (Array.isArray(value))
    return value.map((v) => displayValue(v, undefined, config, words)).join(', ');
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
