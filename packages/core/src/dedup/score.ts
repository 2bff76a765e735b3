import type { Declaration } from '../contracts/action.js';
import type { EvidenceMatch, FieldEvidence } from '../contracts/duplicates.js';
import { formFields } from '../config/lookup.js';
import type { DeduplicationRule, FieldType, RecordTypeConfig } from '../config/schema.js';
import { jsonEqual } from '../declaration/merge.js';
import {
  deletionForms,
  IDENTIFIER_TYPES,
  identifierForm,
  matchWords,
  nameWords,
  searchForm,
  typoBudget,
  type WordMatch,
} from '../search.js';

/**
 * What a match of each kind is worth, on the one 0–1 scale: identical values count fully, a
 * sound-alike spelling a little less, a typo less again. A date within the window is worth
 * between 1 (the same day) and 0.5 (at the window's edge).
 */
export const MATCH_SCORES: Readonly<Record<WordMatch, number>> = {
  exact: 1,
  phonetic: 0.9,
  fuzzy: 0.8,
};

export interface CandidateScore {
  score: number;
  /** One entry per field the rules name, and only those. */
  evidence: Record<string, FieldEvidence>;
}

interface FieldScore {
  score: number;
  match: EvidenceMatch;
  with?: string;
}

/** Strings of a value: itself, or the string parts of a name or address; none when empty. */
function texts(value: unknown): string[] {
  if (typeof value === 'string') return value.trim() === '' ? [] : [value];
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    return Object.values(value).filter(
      (p): p is string => typeof p === 'string' && p.trim() !== '',
    );
  }
  return [];
}

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (typeof value === 'string') return value.trim() === '';
  if (typeof value === 'object' && !Array.isArray(value)) return texts(value).length === 0;
  return false;
}

/** The field's group: a person's names share everything before the last dot (`child.`). */
const groupOf = (field: string) => field.slice(0, field.lastIndexOf('.') + 1);

const MATCH_ORDER: EvidenceMatch[] = ['exact', 'phonetic', 'fuzzy', 'dateRange', 'none'];
const weakest = (matches: EvidenceMatch[]): EvidenceMatch =>
  matches.reduce((a, b) => (MATCH_ORDER.indexOf(b) > MATCH_ORDER.indexOf(a) ? b : a), 'exact');

/**
 * Name-like fields, word by word and in any order: each word of this record's value takes its
 * best match among the candidate's words of the same field or, failing that, of another field
 * of the same group that the rules compare by spelling or sound (swapped first name and surname).
 */
function compareWords(
  rule: DeduplicationRule,
  a: Declaration,
  b: Declaration,
  siblings: string[],
): FieldScore {
  const mine = nameWords(texts(a[rule.field]).join(' '));
  const same = nameWords(texts(b[rule.field]).join(' '));
  const allowed = (m: WordMatch | null): m is WordMatch =>
    m !== null && (m === 'exact' || rule.match.includes(m));
  const best = (word: string, pool: string[]): WordMatch | null => {
    let found: WordMatch | null = null;
    for (const other of pool) {
      const m = matchWords(word, other);
      if (allowed(m) && (found === null || MATCH_SCORES[m] > MATCH_SCORES[found])) found = m;
    }
    return found;
  };
  let total = 0;
  const kinds: EvidenceMatch[] = [];
  const elsewhere = new Map<string, number>();
  for (const word of mine) {
    let m = best(word, same);
    if (m === null) {
      for (const sibling of siblings) {
        const found = best(word, nameWords(texts(b[sibling]).join(' ')));
        if (found !== null && (m === null || MATCH_SCORES[found] > MATCH_SCORES[m])) {
          m = found;
          elsewhere.set(sibling, (elsewhere.get(sibling) ?? 0) + 1);
        }
      }
    }
    if (m === null) kinds.push('none');
    else {
      total += MATCH_SCORES[m];
      kinds.push(m);
    }
  }
  const score = total / Math.max(mine.length, same.length, 1);
  const result: FieldScore = { score, match: score === 0 ? 'none' : weakest(kinds) };
  const [other] = [...elsewhere.entries()].sort((x, y) => y[1] - x[1]);
  if (other && other[1] === mine.length) result.with = other[0];
  return result;
}

/** Identifiers: equal once spaces and separators are dropped, or within typing distance. */
function compareIdentifiers(rule: DeduplicationRule, a: unknown, b: unknown): FieldScore {
  const x = identifierForm(String(a));
  const y = identifierForm(String(b));
  if (x === y) return { score: 1, match: 'exact' };
  if (rule.match.includes('fuzzy') && typoBudget(x) > 0 && typoBudget(y) > 0) {
    const forms = new Set(deletionForms(y));
    if (deletionForms(x).some((f) => forms.has(f))) {
      return { score: MATCH_SCORES.fuzzy, match: 'fuzzy' };
    }
  }
  return { score: 0, match: 'none' };
}

const DAY = 86_400_000;

function compareDates(rule: DeduplicationRule, a: unknown, b: unknown): FieldScore {
  if (a === b) return { score: 1, match: 'exact' };
  const x = Date.parse(String(a));
  const y = Date.parse(String(b));
  const window = rule.window ?? 0;
  if (!rule.match.includes('dateRange') || Number.isNaN(x) || Number.isNaN(y)) {
    return { score: 0, match: 'none' };
  }
  const days = Math.round(Math.abs(x - y) / DAY);
  if (days > window) return { score: 0, match: 'none' };
  return { score: 1 - (0.5 * days) / Math.max(window, 1), match: 'dateRange' };
}

function compareField(
  rule: DeduplicationRule,
  type: FieldType | undefined,
  a: Declaration,
  b: Declaration,
  siblings: string[],
): FieldScore {
  const x = a[rule.field];
  const y = b[rule.field];
  if (type === 'date') return compareDates(rule, x, y);
  if (type && IDENTIFIER_TYPES.has(type)) return compareIdentifiers(rule, x, y);
  if (rule.match.includes('fuzzy') || rule.match.includes('phonetic')) {
    return compareWords(rule, a, b, siblings);
  }
  const equal =
    typeof x === 'string' && typeof y === 'string'
      ? searchForm(x.trim()) === searchForm(y.trim()) || identifierForm(x) === identifierForm(y)
      : jsonEqual(x, y);
  return equal ? { score: 1, match: 'exact' } : { score: 0, match: 'none' };
}

/**
 * Scores a candidate against a record by the record type's deduplication rules (PROTOCOL 10):
 * each rule's field is compared, fields empty on either side count for nothing either way, and
 * the score is the weighted mean of the others. Null when a required field (or, with `all`, any
 * compared field) does not match: the candidate is none. Pure, and the same on every side.
 */
export function scoreCandidate(
  recordType: RecordTypeConfig,
  record: Declaration,
  candidate: Declaration,
): CandidateScore | null {
  const dedup = recordType.deduplication;
  if (!dedup) return null;
  const fields = formFields(recordType);
  const wordy = dedup.rules.filter(
    (r) => r.match.includes('fuzzy') || r.match.includes('phonetic'),
  );
  const evidence: Record<string, FieldEvidence> = {};
  let weighted = 0;
  let weights = 0;
  let refused = false;
  for (const rule of dedup.rules) {
    const x = record[rule.field];
    const y = candidate[rule.field];
    const entry: FieldEvidence = { match: 'none' };
    if (!isEmpty(x)) entry.this = x;
    if (!isEmpty(y)) entry.that = y;
    evidence[rule.field] = entry;
    if (isEmpty(x) || isEmpty(y)) continue;
    const siblings = wordy
      .filter((r) => r.field !== rule.field && groupOf(r.field) === groupOf(rule.field))
      .map((r) => r.field);
    const field = compareField(rule, fields.get(rule.field)?.type, record, candidate, siblings);
    entry.match = field.match;
    entry.score = Math.round(field.score * 1000) / 1000;
    if (field.with) entry.with = field.with;
    weighted += rule.weight * field.score;
    weights += rule.weight;
    if (field.score === 0 && (rule.required || dedup.combine === 'all')) refused = true;
  }
  if (refused || weights === 0) return null;
  return { score: Math.round((weighted / weights) * 1000) / 1000, evidence };
}
