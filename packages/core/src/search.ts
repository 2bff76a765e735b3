import { doubleMetaphone } from 'double-metaphone';
import type { RecordState } from './contracts/record.js';
import type { FieldType, RecordTypeConfig } from './config/schema.js';
import { formFields, sensitiveFields } from './config/lookup.js';
import { normaliseTrackingId, TRACKING_ALPHABET } from './tracking.js';

/**
 * Text as search compares it: lower case, with accents and other combining marks removed, so
 * that "Nguyen" finds "Nguyễn" and "aicha" finds "Aïcha". (Letters that are not a base letter plus
 * a mark, such as ø or ł, stay as they are.)
 */
export function searchForm(text: string): string {
  return text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
}

/** The words of a text in search form: split at anything that is not a letter or a digit. */
export function nameWords(text: string): string[] {
  return [...new Set(searchForm(text).split(/[^\p{L}\p{N}]+/u))].filter((w) => w.length > 0);
}

/** The text values of a field: a string, or the string parts of a name or an address. */
function textsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    return Object.values(value).filter((part): part is string => typeof part === 'string');
  }
  return [];
}

/** The fields `q` searches: the type's search fields, or its title fields when it names none. */
export function searchFieldsOf(recordType: RecordTypeConfig | undefined): string[] {
  return recordType?.searchFields ?? recordType?.title ?? [];
}

/**
 * The words a record is found by, in search form: the values of its type's search fields (its
 * title fields when it names none), with the parts of object values such as names and addresses.
 */
export function searchName(state: RecordState, recordType: RecordTypeConfig | undefined): string {
  const words: string[] = [];
  const hidden = recordType ? sensitiveFields(recordType) : new Set<string>();
  for (const field of searchFieldsOf(recordType)) {
    // A sensitive field is never kept in the clear, not even as words (PROTOCOL 13).
    if (!hidden.has(field)) words.push(...textsOf(state.declaration[field]));
  }
  return searchForm(words.join(' '));
}

/**
 * How many letters a name part may have wrong and still match (PROTOCOL 10): none under 4
 * letters, one from 4 to 7, two beyond.
 */
export function typoBudget(word: string): number {
  const length = [...word].length;
  return length < 4 ? 0 : length <= 7 ? 1 : 2;
}

/**
 * The word and every form of it with up to `budget` letters deleted. Two words are within typing
 * distance when their sets meet: a letter changed, dropped, added or two swapped leave a common
 * form once one letter is deleted from each (the "symmetric delete" of spelling correctors), so
 * the match is found through an index of these forms instead of by comparing every name.
 */
export function deletionForms(word: string, budget = typoBudget(word)): string[] {
  let level = new Set([word]);
  const all = new Set(level);
  for (let d = 0; d < budget; d++) {
    const next = new Set<string>();
    for (const form of level) {
      const letters = [...form];
      for (let i = 0; i < letters.length; i++) {
        next.add(letters.slice(0, i).join('') + letters.slice(i + 1).join(''));
      }
    }
    for (const form of next) all.add(form);
    level = next;
  }
  return [...all];
}

/**
 * Sound-alike keys of a word: its Double Metaphone codes (a phonetic code made for names of many
 * languages: Amena and Amina, Mohamed and Muhammad, Katherine and Catherine share one). Words in
 * scripts Double Metaphone does not read have none.
 */
export function phoneticKeys(word: string): string[] {
  if (!/[a-z]/.test(word)) return [];
  return [...new Set(doubleMetaphone(word))].filter((code) => code.length > 0);
}

/**
 * Words seen lately, with their sound and deletion forms: scoring compares the same few names
 * again and again, and Double Metaphone and the deletion forms are the costly part. Bounded, and
 * a cache only: results are the same with or without it.
 */
const seen = new Map<string, { sound: string[]; forms: ReadonlySet<string> }>();
const SEEN_MAX = 20_000;

function known(word: string): { sound: string[]; forms: ReadonlySet<string> } {
  let found = seen.get(word);
  if (!found) {
    if (seen.size >= SEEN_MAX) seen.clear();
    found = { sound: phoneticKeys(word), forms: new Set(deletionForms(word)) };
    seen.set(word, found);
  }
  return found;
}

/** How one word matched another, best first: used for ranking and as duplicate evidence. */
export type WordMatch = 'exact' | 'phonetic' | 'fuzzy';

/** The index keys of one word: `e:` the word, `p:` its sound, `d:` its deletion forms. */
export interface WordKeys {
  word: string;
  exact: string;
  phonetic: string[];
  fuzzy: string[];
}

export function wordKeys(word: string): WordKeys {
  return {
    word,
    exact: `e:${word}`,
    phonetic: phoneticKeys(word).map((code) => `p:${code}`),
    fuzzy: typoBudget(word) > 0 ? deletionForms(word).map((form) => `d:${form}`) : [],
  };
}

/** How `a` matches `b` (both in search form), or null. Matches are symmetric. */
export function matchWords(a: string, b: string): WordMatch | null {
  if (a === b) return 'exact';
  const x = known(a);
  const y = known(b);
  if (x.sound.some((code) => y.sound.includes(code))) return 'phonetic';
  if (typoBudget(a) === 0 || typoBudget(b) === 0) return null;
  for (const form of x.forms) if (y.forms.has(form)) return 'fuzzy';
  return null;
}

/** Field types whose values are identifiers, found exactly by `?field.<id>=` (PROTOCOL 10). */
export const IDENTIFIER_TYPES: ReadonlySet<FieldType> = new Set(['idNumber', 'phone', 'email']);

/** An identifier as it is compared: search form, without spaces and the usual separators. */
export function identifierForm(value: string): string {
  return searchForm(value).replace(/[\s\-./()]+/g, '');
}

/**
 * A blind index (PROTOCOL 13): a keyed hash of a sensitive identifier's form, so that it is found
 * exactly without being stored. The server holds the key; core only says where it is used.
 */
export type BlindIndex = (field: string, form: string) => string;

/**
 * The index key of an identifier field's value: its form, or with `blind` (a sensitive field)
 * its blind index.
 */
export function identifierKey(field: string, value: string, blind?: BlindIndex): string {
  const form = identifierForm(value);
  return blind ? `b:${field}=${blind(field, form)}` : `i:${field}=${form}`;
}

/** The blind index to key a field of the type with: `blind` when the field is sensitive. */
export function blindFor(
  recordType: RecordTypeConfig,
  field: string,
  blind: BlindIndex | undefined,
): BlindIndex | undefined {
  return sensitiveFields(recordType).has(field) ? blind : undefined;
}

/**
 * The fields whose words a record's keys hold: its search fields, and the fields its
 * deduplication compares by spelling or sound (so that candidates are found through the index).
 */
export function keyedNameFields(recordType: RecordTypeConfig): string[] {
  const fields = new Set(searchFieldsOf(recordType));
  for (const rule of recordType.deduplication?.rules ?? []) {
    if (rule.match.some((m) => m === 'fuzzy' || m === 'phonetic')) fields.add(rule.field);
  }
  const hidden = sensitiveFields(recordType);
  return [...fields].filter((field) => !hidden.has(field));
}

/**
 * Everything a record is found by, as keys for one inverted index (a GIN index of the read
 * model): each name word exactly, by sound and by its deletion forms, and each identifier field
 * (a sensitive one by its blind index, with `blind`; never a sensitive field's words).
 */
export function searchKeys(
  state: RecordState,
  recordType: RecordTypeConfig | undefined,
  blind?: BlindIndex,
): string[] {
  const keys = new Set<string>();
  if (!recordType) return [];
  for (const field of keyedNameFields(recordType)) {
    for (const text of textsOf(state.declaration[field])) {
      for (const word of nameWords(text)) {
        const k = wordKeys(word);
        keys.add(k.exact);
        for (const key of k.phonetic) keys.add(key);
        for (const key of k.fuzzy) keys.add(key);
      }
    }
  }
  for (const [id, field] of formFields(recordType)) {
    const value = state.declaration[id];
    if (IDENTIFIER_TYPES.has(field.type) && typeof value === 'string' && value.trim() !== '') {
      const fieldBlind = blindFor(recordType, id, blind);
      if (field.sensitive && !fieldBlind) continue; // never in the clear
      keys.add(identifierKey(id, value, fieldBlind));
    }
  }
  return [...keys].sort();
}

/** At most this many words of `q` are searched for; the rest are ignored. */
export const MAX_QUERY_WORDS = 6;

/** A partial tracking id: at least this many of its characters. */
export const MIN_TRACKING_FRAGMENT = 5;

export interface SearchQuery {
  words: WordKeys[];
  /** `q` read as part of a tracking id, when it can be one. */
  trackingFragment: string | null;
}

/** What `q` looks for: its words' keys, and the tracking id fragment it may be. */
export function parseSearchQuery(q: string): SearchQuery {
  const words = nameWords(q).slice(0, MAX_QUERY_WORDS).map(wordKeys);
  const fragment = normaliseTrackingId(q);
  const isFragment =
    fragment.length >= MIN_TRACKING_FRAGMENT &&
    [...fragment].every((c) => TRACKING_ALPHABET.includes(c));
  return { words, trackingFragment: isFragment ? fragment : null };
}
