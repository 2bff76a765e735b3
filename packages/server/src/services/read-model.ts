import { jsonEqual } from '@registra/core';
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { loadChains, type StoredLink } from '../store/entries.js';
import { walkChain } from './chain.js';
import { foldRecordLog } from './read-model-row.js';
import type { RangeDone, RangeTask, RebuildWorkerData } from './rebuild-range.js';
import {
  createRebuildIndexes,
  createRebuildTable,
  orphanRecordIds,
  readModelRows,
  recordLogs,
  recordRanges,
  staleRebuildIds,
  swapRebuildTable,
} from '../store/rebuild.js';
import { upsertRecords, type RecordRow } from '../store/records.js';
import { lockExclusively } from '../store/transaction.js';
import type { Registry } from './context.js';

/** A record's row folded from its log, and the breaks in its chain. */
function fold(
  registry: Registry,
  log: StoredLink[],
): { row: RecordRow | null; breaks: ReturnType<typeof walkChain>['breaks'] } {
  return { row: foldRecordLog(registry.config.recordTypes, log), breaks: walkChain(log).breaks };
}

export interface VerifyReport {
  records: number;
  entries: number;
  differences: { recordId: string; problem: string }[];
}

/** Re-folds every record from the log and compares it with the read model. */
export async function verifyReadModel(registry: Registry): Promise<VerifyReport> {
  const report: VerifyReport = { records: 0, entries: 0, differences: [] };
  const differ = (recordId: string, problem: string) =>
    report.differences.push({ recordId, problem });
  for await (const logs of recordLogs(registry.db)) {
    const ids = logs
      .map((log) => log[0]?.entry.recordId)
      .filter((id): id is string => id !== undefined);
    const stored = await readModelRows(registry.db, ids);
    for (const log of logs) {
      const recordId = log[0]?.entry.recordId;
      if (!recordId) continue;
      report.records += 1;
      report.entries += log.length;
      const { row: expected, breaks } = fold(registry, log);
      // A broken chain first: the log itself was changed (PROTOCOL 13).
      for (const { seq, problem } of breaks)
        differ(recordId, `chain broken at seq ${seq}: ${problem}`);
      const actual = stored.get(recordId);
      if (!expected) differ(recordId, 'the log folds to no record');
      else if (!actual) differ(recordId, 'missing from the read model');
      else if (!jsonEqual(expected.state, actual.state)) {
        differ(recordId, 'state differs from the fold of its log');
      } else if (actual.fold !== null && !jsonEqual(expected.carry, actual.fold)) {
        differ(recordId, 'fold carry differs from the fold of its log');
      } else if (actual.head_hash !== null && actual.head_hash !== expected.headHash) {
        differ(recordId, 'head hash differs from the log’s last entry');
      } else if (expected.name !== actual.name) differ(recordId, 'search name differs');
      else if (!jsonEqual(expected.keys, actual.search_keys)) {
        differ(recordId, 'search keys differ (run `registra rebuild` after an upgrade)');
      }
    }
  }
  for (const id of await orphanRecordIds(registry.db)) {
    differ(id, 'in the read model but not in the log');
  }
  return report;
}

export interface RebuildReport {
  records: number;
  entries: number;
  caughtUp: number;
  seconds: number;
}

export interface RebuildOptions {
  /** Where the database is: each worker thread reads and writes over connections of its own. */
  databaseUrl: string;
  /** Worker threads that fold. Default: one per core. */
  threads?: number;
  /** Records per task of a thread: a range of record ids, read, folded and copied on its own. */
  rangeSize?: number;
  /** Records a thread reads and folds at a time. */
  batchSize?: number;
  /** Awaited after each range is loaded, with the running totals (for a progress line). */
  onProgress?: (progress: { records: number; entries: number }) => void | Promise<void>;
}

/**
 * Re-folds every record into a fresh table and swaps it in. The record ids are cut into ranges;
 * worker threads (rebuild-range.ts) each take a range at a time, fold its records with core's fold
 * and search keys and COPY the rows into the fresh table. Writers keep going during the long part;
 * for the swap they are held back by the rebuild lock (see WRITE_LOCK), records written meanwhile
 * (changed, or new: after the last range) are folded again, and the swap commits. No write is lost.
 */
export async function rebuildReadModel(
  registry: Registry,
  options: RebuildOptions,
): Promise<RebuildReport> {
  const started = performance.now();
  const { db } = registry;
  const report: RebuildReport = { records: 0, entries: 0, caughtUp: 0, seconds: 0 };
  const indexes = await createRebuildTable(db);
  const ranges = await recordRanges(db, options.rangeSize ?? 20_000);
  const threads = Math.max(1, Math.min(options.threads ?? availableParallelism(), ranges.length));
  const workerData: RebuildWorkerData = {
    databaseUrl: options.databaseUrl,
    recordTypes: registry.config.recordTypes,
  };
  const pool = new Piscina<RangeTask, RangeDone>({
    filename: new URL('./rebuild-worker.mjs', import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    workerData,
  });
  try {
    await Promise.all(
      ranges.map(async (range) => {
        const done = await pool.run({ ...range, batchSize: options.batchSize ?? 2000 });
        report.records += done.records;
        report.entries += done.entries;
        await options.onProgress?.({ records: report.records, entries: report.entries });
      }),
    );
  } finally {
    await pool.destroy();
  }
  await createRebuildIndexes(db, indexes);

  await db.transaction().execute(async (trx) => {
    await lockExclusively(trx, WRITE_LOCK);
    // Records whose log grew since they were folded above, or that are new.
    const logs = await loadChains(trx, await staleRebuildIds(trx));
    const folded = [...logs.values()]
      .map((log) => foldRecordLog(registry.config.recordTypes, log))
      .filter((r): r is RecordRow => r !== null);
    await upsertRecords(trx, folded, 'records_rebuild');
    report.caughtUp = folded.length;
    await swapRebuildTable(trx, indexes);
  });
  report.seconds = (performance.now() - started) / 1000;
  return report;
}

/**
 * Taken shared by every appending transaction and exclusively by the rebuild's swap, so that no
 * append can land in the old read-model table after the rebuild has caught up.
 */
export const WRITE_LOCK = 0x5245_4749; // "REGI"
