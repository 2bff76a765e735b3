import {
  FLAGS,
  MAX_ANNOTATION_BYTES,
  SYSTEM_ID,
  systemPrincipal,
  utf8Length,
  type ActionResult,
  type DuplicateCandidate,
  type RecordState,
} from '@registra/core';
import { v5 as uuidv5 } from 'uuid';
import { writeAll } from '../../store/append.js';
import {
  countToDeduplicate,
  dismissedCandidates,
  recordsToDeduplicate,
} from '../../store/duplicates.js';
import { findRecordState } from '../../store/records.js';
import { afterCommit, appendActions } from '../append/index.js';
import type { Caller, Registry } from '../context.js';
import { appendTransaction } from '../transaction.js';
import { findDuplicates, type FindOptions } from './candidates.js';
import { openState } from '../vault/open.js';

export { blocksOf, findDuplicates } from './candidates.js';

/** Ids of DUPLICATES_FOUND entries are made from what caused them, so a rerun appends nothing. */
const NAMESPACE = '5f0e6b8e-9c1a-4d2e-8b7a-3c6d2e1f0a9b';

/** The server as the appender of its own entries (PROTOCOL 10: `createdBy` "system"). */
function systemCaller(officeId: string): Caller {
  return {
    user: {
      id: SYSTEM_ID,
      username: SYSTEM_ID,
      name: 'Registra',
      role: SYSTEM_ID,
      officeId,
      kind: 'client',
      active: true,
    },
    principal: systemPrincipal(officeId),
  };
}

/** Keeps the annotation within PROTOCOL 7's 16 KiB: the weakest candidates go first. */
function fitting(candidates: DuplicateCandidate[]): DuplicateCandidate[] {
  const kept = [...candidates];
  while (
    kept.length > 1 &&
    utf8Length(JSON.stringify({ candidates: kept })) > MAX_ANNOTATION_BYTES - 512
  ) {
    kept.pop();
  }
  return kept;
}

const sameIds = (a: DuplicateCandidate[], b: DuplicateCandidate[]) =>
  a.length === b.length && a.every((c) => b.some((d) => d.recordId === c.recordId));

export interface DeduplicationOutcome {
  recordId: string;
  candidates: DuplicateCandidate[];
  /** The DUPLICATES_FOUND appended, or why none was. */
  result: ActionResult | 'none found' | 'not deduplicated' | 'already flagged';
}

/**
 * Looks for a record's suspected duplicates and, if any score at or above the threshold, appends
 * DUPLICATES_FOUND through the same append path as everyone (services/append), as the server.
 * `cause` (the entry that triggered it, or a bulk run's id) makes the entry's id: running again
 * for the same cause appends nothing twice.
 */
export async function deduplicateRecord(
  registry: Registry,
  recordId: string,
  cause: string,
  options: Pick<FindOptions, 'olderOnly'> = {},
): Promise<DeduplicationOutcome> {
  const stored = await findRecordState(registry.db, recordId);
  const state = stored && (await openState(registry, stored));
  const recordType = state && registry.config.recordTypes.get(state.type);
  if (!state || !recordType?.deduplication || state.status === 'ARCHIVED') {
    return { recordId, candidates: [], result: 'not deduplicated' };
  }
  const dismissed = await dismissedCandidates(registry.db, recordId);
  const candidates = fitting(await findDuplicates(registry, state, { ...options, dismissed }));
  if (candidates.length === 0) return { recordId, candidates, result: 'none found' };
  if (
    state.flags.includes(FLAGS.duplicateSuspected) &&
    sameIds(candidates, state.duplicates ?? [])
  ) {
    return { recordId, candidates, result: 'already flagged' };
  }
  return { recordId, candidates, result: await appendFinding(registry, state, candidates, cause) };
}

async function appendFinding(
  registry: Registry,
  state: RecordState,
  candidates: DuplicateCandidate[],
  cause: string,
): Promise<ActionResult> {
  const caller = systemCaller(state.createdAtLocation);
  const id = uuidv5(`${state.id}/${cause}`, NAMESPACE);
  const raw = {
    id,
    recordId: state.id,
    type: 'DUPLICATES_FOUND',
    occurredAt: registry.now().toISOString(),
    annotation: { candidates },
  };
  const { results, appended } = await appendTransaction(registry, async (trx) => {
    const batch = await appendActions(trx, registry, caller, [{ raw, id }], null);
    await writeAll(trx, batch.writes);
    return batch;
  });
  afterCommit(registry.effects ?? [], appended);
  return results[0] as ActionResult;
}

export interface BulkProgress {
  done: number;
  total: number;
  flagged: number;
}

/**
 * `registra dedup --all`: every record of every deduplicated type, against the records created
 * before it, so that each pair is flagged once (on the newer record). For registries that import
 * in bulk, where no action triggered the usual check.
 */
export async function deduplicateAll(
  registry: Registry,
  options: { batchSize?: number; onProgress?: (progress: BulkProgress) => void } = {},
): Promise<BulkProgress> {
  const types = [...registry.config.recordTypes.values()]
    .filter((t) => t.deduplication)
    .map((t) => t.id);
  const progress: BulkProgress = { done: 0, total: 0, flagged: 0 };
  if (types.length === 0) return progress;
  progress.total = await countToDeduplicate(registry.db, types);
  const run = `all/${registry.now().toISOString()}`;
  let after: string | null = null;
  for (;;) {
    const page = await recordsToDeduplicate(registry.db, types, after, options.batchSize ?? 200);
    if (page.length === 0) break;
    for (const state of page) {
      const outcome = await deduplicateRecord(registry, state.id, run, { olderOnly: true });
      if (typeof outcome.result === 'object' && outcome.result.outcome === 'accepted') {
        progress.flagged += 1;
      }
      progress.done += 1;
    }
    after = page[page.length - 1]?.id ?? null;
    options.onProgress?.({ ...progress });
  }
  return progress;
}
