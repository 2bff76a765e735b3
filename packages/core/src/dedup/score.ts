import type { Declaration } from '../contracts/action.js';
import type { EvidenceMatch, FieldEvidence } from '../contracts/duplicates.js';
import { formFields, sensitiveFields } from '../config/lookup.js';
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
 * Name-like values, word by word and in any order: each word of this record's value takes its
 * best match among the candidate's words, by the kinds the rule allows (identical always counts);
 * the field's score is the words' mean over the longer side.
 */
function compareWords(rule: DeduplicationRule, a: unknown, b: unknown): FieldScore {
  const mine = nameWords(texts(a).join(' '));
  const theirs = nameWords(texts(b).join(' '));
  const allowed = (m: WordMatch | null): m is WordMatch =>
    m !== null && (m === 'exact' || rule.match.includes(m));
  let total = 0;
  const kinds: EvidenceMatch[] = [];
  for (const word of mine) {
    let found: WordMatch | null = null;
    for (const other of theirs) {
      const m = matchWords(word, other);
      if (allowed(m) && (found === null || MATCH_SCORES[m] > MATCH_SCORES[found])) found = m;
    }
    if (found === null) kinds.push('none');
    else {
      total += MATCH_SCORES[found];
      kinds.push(found);
    }
  }
  const score = total / Math.max(mine.length, theirs.length, 1);
  return { score, match: score === 0 ? 'none' : weakest(kinds) };
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

function swappedDayMonth(a: string, b: string): boolean {
  const [ya, ma, da] = a.split('-');
  const [yb, mb, db] = b.split('-');
  return ya === yb && ma === db && da === mb;
}

function compareDates(rule: DeduplicationRule, a: unknown, b: unknown): FieldScore {
  if (a === b) return { score: 1, match: 'exact' };
  const x = Date.parse(String(a));
  const y = Date.parse(String(b));
  const window = rule.window ?? 0;
  if (!rule.match.includes('dateRange') || Number.isNaN(x) || Number.isNaN(y)) {
    return { score: 0, match: 'none' };
  }
  const days = Math.round(Math.abs(x - y) / DAY);
  // Day and month written the other way round (04-08 for 08-04): a common slip, counted close.
  if (days > window && swappedDayMonth(String(a), String(b))) {
    return { score: 0.75, match: 'dateRange' };
  }
  if (days > window) return { score: 0, match: 'none' };
  return { score: 1 - (0.5 * days) / Math.max(window, 1), match: 'dateRange' };
}

const wordy = (rule: DeduplicationRule) =>
  rule.match.includes('fuzzy') || rule.match.includes('phonetic');

function compareField(
  rule: DeduplicationRule,
  type: FieldType | undefined,
  x: unknown,
  y: unknown,
): FieldScore {
  if (type === 'date') return compareDates(rule, x, y);
  if (type && IDENTIFIER_TYPES.has(type)) return compareIdentifiers(rule, x, y);
  if (wordy(rule)) return compareWords(rule, x, y);
  const equal =
    typeof x === 'string' && typeof y === 'string'
      ? searchForm(x.trim()) === searchForm(y.trim()) || identifierForm(x) === identifierForm(y)
      : jsonEqual(x, y);
  return equal ? { score: 1, match: 'exact' } : { score: 0, match: 'none' };
}

/** A field filled on one side only: no evidence either way, so it counts half. */
export const ONE_SIDED_SCORE = 0.5;

/**
 * Scores a candidate against a record by the record type's deduplication rules (PROTOCOL 10):
 * each rule's field is compared; a field filled on one side only counts half (no evidence either
 * way, but less than a match), one empty on both sides not at all; the score is the weighted mean.
 * Two name fields of one person (`child.firstName`, `child.surname`: everything before the last
 * dot alike) are also compared crosswise, and the better of the two readings is kept, so that a
 * first name written as the surname and the surname as the first name still match (`with` then
 * names the candidate's field). Null when a required field (or, with `all`, any compared field)
 * does not match: the candidate is none. Pure, and the same on every side.
 */
export function scoreCandidate(
  recordType: RecordTypeConfig,
  record: Declaration,
  candidate: Declaration,
): CandidateScore | null {
  const dedup = recordType.deduplication;
  if (!dedup) return null;
  const fields = formFields(recordType);
  const hidden = sensitiveFields(recordType);
  const evidence: Record<string, FieldEvidence> = {};
  const scores = new Map<string, FieldScore>();
  for (const rule of dedup.rules) {
    const x = record[rule.field];
    const y = candidate[rule.field];
    const entry: FieldEvidence = { match: 'none' };
    // Evidence is stored in the log: a sensitive field's values stay out of it (PROTOCOL 13).
    if (!isEmpty(x) && !hidden.has(rule.field)) entry.this = x;
    if (!isEmpty(y) && !hidden.has(rule.field)) entry.that = y;
    evidence[rule.field] = entry;
    if (isEmpty(x) || isEmpty(y)) continue;
    scores.set(rule.field, compareField(rule, fields.get(rule.field)?.type, x, y));
  }
  // Swapped names: each pair of a person's name fields, read crosswise.
  const names = dedup.rules.filter((r) => wordy(r) && scores.has(r.field));
  for (const f of names) {
    for (const g of names) {
      if (f.field >= g.field || groupOf(f.field) !== groupOf(g.field)) continue;
      const direct = (scores.get(f.field)?.score ?? 0) + (scores.get(g.field)?.score ?? 0);
      const fx = compareWords(f, record[f.field], candidate[g.field]);
      const gx = compareWords(g, record[g.field], candidate[f.field]);
      if (fx.score + gx.score > direct) {
        scores.set(f.field, { ...fx, with: g.field });
        scores.set(g.field, { ...gx, with: f.field });
      }
    }
  }
  let weighted = 0;
  let weights = 0;
  let refused = false;
  for (const rule of dedup.rules) {
    const entry = evidence[rule.field] as FieldEvidence;
    const field = scores.get(rule.field);
    if (!field) {
      if (entry.this !== undefined || entry.that !== undefined) {
        weighted += rule.weight * ONE_SIDED_SCORE;
        weights += rule.weight;
      }
      continue;
    }
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
