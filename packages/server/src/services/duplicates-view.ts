import {
  inReach,
  isSystem,
  type DuplicateCandidate,
  type Entry,
  type Principal,
  type RecordState,
} from '@registra/core';
import { findRecordHeads } from '../store/records.js';
import type { Registry } from './context.js';

/**
 * PROTOCOL 10: a suspected duplicate outside the reader's reach shows only its id and score, so
 * that its evidence (the other person's names and dates) does not leak. Applied wherever records
 * and entries leave the server: GET /records/{id}, search, and the sync feed.
 */
async function reachable(
  registry: Registry,
  principal: Principal,
  candidates: DuplicateCandidate[],
): Promise<Set<string>> {
  const ids = [...new Set(candidates.map((c) => c.recordId))];
  if (ids.length === 0 || isSystem(principal)) return new Set(ids);
  const heads = await findRecordHeads(registry.db, ids);
  return new Set(
    [...heads.values()]
      .filter((head) => inReach(principal, registry.config, head))
      .map((head) => head.id),
  );
}

const narrowed = (candidates: DuplicateCandidate[], seen: Set<string>): DuplicateCandidate[] =>
  candidates.map((c) => (seen.has(c.recordId) ? c : { recordId: c.recordId, score: c.score }));

function candidatesOfEntry(entry: Entry): DuplicateCandidate[] {
  if (entry.type !== 'DUPLICATES_FOUND') return [];
  const candidates = entry.annotation?.['candidates'];
  return Array.isArray(candidates) ? (candidates as unknown as DuplicateCandidate[]) : [];
}

/** Records as the principal may see them: candidates out of reach without evidence. */
export async function showDuplicates(
  registry: Registry,
  principal: Principal,
  states: RecordState[],
): Promise<RecordState[]> {
  const all = states.flatMap((s) => s.duplicates ?? []);
  if (all.length === 0) return states;
  const seen = await reachable(registry, principal, all);
  return states.map((s) => (s.duplicates ? { ...s, duplicates: narrowed(s.duplicates, seen) } : s));
}

/** Entries as the principal may see them: a DUPLICATES_FOUND names out-of-reach candidates only. */
export async function showDuplicatesOfEntries(
  registry: Registry,
  principal: Principal,
  entries: Entry[],
): Promise<Entry[]> {
  const all = entries.flatMap(candidatesOfEntry);
  if (all.length === 0) return entries;
  const seen = await reachable(registry, principal, all);
  return entries.map((entry) => {
    const candidates = candidatesOfEntry(entry);
    if (candidates.length === 0) return entry;
    return {
      ...entry,
      annotation: { ...entry.annotation, candidates: narrowed(candidates, seen) },
    } as Entry;
  });
}
