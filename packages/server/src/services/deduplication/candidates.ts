import {
  formFields,
  blindFor,
  identifierKey,
  IDENTIFIER_TYPES,
  nameWords,
  scoreCandidate,
  wordKeys,
  type BlindIndex,
  type DuplicateCandidate,
  type RecordState,
  type RecordTypeConfig,
} from '@registra/core';
import { findCandidates } from '../../store/duplicates.js';
import type { Registry } from '../context.js';

/** Records read from the index for one record at most: the rest of a huge block is not scored. */
export const MAX_CANDIDATES_READ = 500;

function texts(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    return Object.values(value).filter((p): p is string => typeof p === 'string');
  }
  return [];
}

/**
 * The index lookups that find a record's candidates (its "blocks"). Each name field the rules
 * compare by spelling or sound gives one key set: any of its words, exactly, by sound or by a
 * typo, in any of the other record's names (so swapped names still meet). A candidate must meet
 * every filled name field, or all but one when three or more are filled (so one badly written
 * name does not hide a duplicate); or share an identifier the rules compare.
 */
export function blocksOf(
  recordType: RecordTypeConfig,
  state: RecordState,
  blind?: BlindIndex,
): { blocks: string[][][]; identifiers: string[] } {
  const rules = recordType.deduplication?.rules ?? [];
  const fields = formFields(recordType);
  const nameKeys: string[][] = [];
  const identifiers: string[] = [];
  for (const rule of rules) {
    const value = state.declaration[rule.field];
    const type = fields.get(rule.field)?.type;
    if (type && IDENTIFIER_TYPES.has(type)) {
      if (typeof value === 'string' && value.trim() !== '') {
        identifiers.push(identifierKey(rule.field, value, blindFor(recordType, rule.field, blind)));
      }
    } else if (rule.match.includes('fuzzy') || rule.match.includes('phonetic')) {
      const words = nameWords(texts(value).join(' '));
      if (words.length === 0) continue;
      nameKeys.push(
        words.flatMap((word) => {
          const k = wordKeys(word);
          return [
            k.exact,
            ...(rule.match.includes('phonetic') ? k.phonetic : []),
            ...(rule.match.includes('fuzzy') ? k.fuzzy : []),
          ];
        }),
      );
    }
  }
  let blocks: string[][][] = [];
  if (nameKeys.length >= 3) {
    blocks = nameKeys.map((_, skip) => nameKeys.filter((__, i) => i !== skip));
  } else if (nameKeys.length > 0) blocks = [nameKeys];
  return { blocks, identifiers };
}

export interface FindOptions {
  /** Only records created before this one. */
  olderOnly?: boolean;
  /** Records a reviewer already judged not to be duplicates of this one. */
  dismissed?: ReadonlySet<string>;
}

/**
 * The suspected duplicates of a record (PROTOCOL 10): candidates from the index, each scored by
 * core's `scoreCandidate`, kept at or above the threshold, best first, at most `maxCandidates`.
 */
export async function findDuplicates(
  registry: Registry,
  state: RecordState,
  options: FindOptions = {},
): Promise<DuplicateCandidate[]> {
  const recordType = registry.config.recordTypes.get(state.type);
  const dedup = recordType?.deduplication;
  if (!recordType || !dedup) return [];
  const { blocks, identifiers } = blocksOf(recordType, state, registry.vault.blind);
  const others = await findCandidates(registry.db, {
    type: state.type,
    recordId: state.id,
    blocks,
    identifiers,
    olderThan: options.olderOnly ? { createdAt: state.createdAt, id: state.id } : undefined,
    limit: MAX_CANDIDATES_READ,
  });
  // Sensitive values in the clear for scoring (the `exact` rule on an identifier): in memory only.
  const keyring = await registry.vault.keyring(
    registry.db,
    registry.config,
    others.map((o) => o.id),
  );
  const found: DuplicateCandidate[] = [];
  for (const stored of others) {
    const other = keyring.openBody({ recordId: stored.id, declaration: stored.declaration });
    if (options.dismissed?.has(stored.id)) continue;
    const scored = scoreCandidate(recordType, state.declaration, other.declaration);
    if (scored && scored.score >= dedup.threshold) {
      found.push({ recordId: stored.id, score: scored.score, evidence: scored.evidence });
    }
  }
  found.sort((a, b) => b.score - a.score || a.recordId.localeCompare(b.recordId));
  return found.slice(0, dedup.maxCandidates);
}
