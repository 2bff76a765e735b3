import {
  foldLog,
  jsonEqual,
  searchKeys,
  searchName,
  type BlindIndex,
  type RecordFold,
  type RecordTypeConfig,
} from '@registra/core';
import type { DB } from '../db/database.js';
import type { Keyring } from './vault/index.js';
import { loadChains, type StoredLink } from '../store/entries.js';
import { walkChain } from './chain.js';
import {
  createRebuildIndexes,
  createRebuildTable,
  orphanRecordIds,
  readModelRows,
  recordLogs,
  staleRebuildIds,
  swapRebuildTable,
} from '../store/rebuild.js';
import { upsertRecords, type RecordRow } from '../store/records.js';
import { lockExclusively } from '../store/transaction.js';
import type { Registry } from './context.js';

/**
 * The read-model row of a folded record: its state and carry, its chain's head, and the name that
 * `q` searches.
 */
export function readModelRow(
  fold: RecordFold,
  recordType: RecordTypeConfig,
  headHash: string | null,
  keyring: Keyring,
  blind: BlindIndex,
): RecordRow {
  const { record, carry } = fold;
  return {
    state: keyring.sealState(record),
    carry: keyring.sealCarry(record.id, record.type, carry),
    headHash,
    name: searchName(record, recordType),
    keys: searchKeys(record, recordType, blind),
  };
}

/** A record's row folded from its log, and the breaks in its chain. */
function fold(
  registry: Registry,
  keyring: Keyring,
  log: StoredLink[],
): { row: RecordRow | null; breaks: ReturnType<typeof walkChain>['breaks'] } {
  const entries = log.map((link) => keyring.openBody(link.entry));
  const first = entries[0];
  const recordType = first && registry.config.recordTypes.get(first.recordType ?? '');
  const folded = recordType ? foldLog(entries, recordType) : null;
  const chain = walkChain(log);
  const row =
    folded && recordType
      ? readModelRow(folded, recordType, chain.head, keyring, registry.vault.blind)
      : null;
  return { row, breaks: chain.breaks };
}

/** The data keys of the records of these logs. */
function keyringOf(registry: Registry, db: DB, logs: StoredLink[][]): Promise<Keyring> {
  const ids = logs.flatMap((log) => (log[0] ? [log[0].entry.recordId] : []));
  return registry.vault.keyring(db, registry.config, ids);
}

/**
 * A record's read-model row folded again from its log, in the caller's transaction: after its
 * key was erased, so that the read model drops its sensitive values and their blind indexes.
 */
export async function refoldRecord(registry: Registry, db: DB, recordId: string): Promise<void> {
  const logs = [...(await loadChains(db, [recordId])).values()];
  const keyring = await keyringOf(registry, db, logs);
  const rows = logs
    .map((log) => fold(registry, keyring, log).row)
    .filter((r): r is RecordRow => r !== null);
  await upsertRecords(db, rows);
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
    const keyring = await keyringOf(registry, registry.db, logs);
    for (const log of logs) {
      const recordId = log[0]?.entry.recordId;
      if (!recordId) continue;
      report.records += 1;
      report.entries += log.length;
      const { row: expected, breaks } = fold(registry, keyring, log);
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
  /** Records read and folded per batch. */
  batchSize?: number;
  /** Awaited after each batch is folded, with the running totals (for a progress line). */
  onProgress?: (progress: { records: number; entries: number }) => void | Promise<void>;
}

/**
 * Re-folds every record into a fresh table and swaps it in. Writers keep going during the long
 * part; for the swap they are held back by the rebuild lock (see WRITE_LOCK), records written
 * meanwhile are folded again, and the swap commits. No write is lost.
 */
export async function rebuildReadModel(
  registry: Registry,
  options: RebuildOptions = {},
): Promise<RebuildReport> {
  const started = performance.now();
  const { db } = registry;
  const report: RebuildReport = { records: 0, entries: 0, caughtUp: 0, seconds: 0 };
  const indexes = await createRebuildTable(db);

  // One batch is written while the next is read and folded.
  let writing: Promise<void> = Promise.resolve();
  for await (const logs of recordLogs(db, options.batchSize)) {
    const keyring = await keyringOf(registry, db, logs);
    const rows = logs
      .map((log) => fold(registry, keyring, log).row)
      .filter((row): row is RecordRow => row !== null);
    report.records += rows.length;
    report.entries += logs.reduce((n, log) => n + log.length, 0);
    await writing;
    writing = upsertRecords(db, rows, 'records_rebuild');
    writing.catch(() => undefined); // handled where it is awaited
    await options.onProgress?.({ records: report.records, entries: report.entries });
  }
  await writing;
  await createRebuildIndexes(db, indexes);

  await db.transaction().execute(async (trx) => {
    await lockExclusively(trx, WRITE_LOCK);
    // Records whose log grew since they were folded above, or that are new.
    const logs = await loadChains(trx, await staleRebuildIds(trx));
    const keyring = await keyringOf(registry, trx, [...logs.values()]);
    const folded = [...logs.values()]
      .map((log) => fold(registry, keyring, log).row)
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
