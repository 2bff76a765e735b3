import type { RecordState } from './contracts/record.js';
import type { RecordTypeConfig } from './config/schema.js';

/**
 * Text as search compares it: lower case, with accents and other combining marks removed, so
 * that "Nguyen" finds "Nguyễn" and "aicha" finds "Aïcha". (Letters that are not a base letter plus
 * a mark, such as ø or ł, stay as they are.)
 */
export function searchForm(text: string): string {
  return text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
}

/**
 * The words a record is found by, in search form: the values of its type's search fields (its
 * title fields when it names none), with the parts of object values such as names and addresses.
 */
export function searchName(state: RecordState, recordType: RecordTypeConfig | undefined): string {
  const words: string[] = [];
  for (const field of recordType?.searchFields ?? recordType?.title ?? []) {
    const value = state.declaration[field];
    if (typeof value === 'string') words.push(value);
    else if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const part of Object.values(value)) if (typeof part === 'string') words.push(part);
    }
  }
  return searchForm(words.join(' '));
}
