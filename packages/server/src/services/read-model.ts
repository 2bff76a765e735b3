import {
  foldRecord,
  jsonEqual,
  searchName,
  type Entry,
  type RecordState,
  type RecordTypeConfig,
} from '@registra/core';
import { sql } from 'kysely';
import { createRecordsTable } from '../db/migrations.js';
import { toEntry } from '../store/entries.js';
import { upsertRecords, type RecordRow } from '../store/records.js';
import type { Registry } from './context.js';

/** The read-model row of a folded record: its state, and the name that `q` searches. */
export function readModelRow(state: RecordState, recordType: RecordTypeConfig): RecordRow {
  return { state, name: searchName(state, recordType) };
}

/** Streams the whole log, record by record, in batches small enough to hold in memory. */
async function* recordLogs(registry: Registry, batchSize = 2000): AsyncGenerator<Entry[][]> {
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    // seq 1 is each record's first entry: one row per record, read through the (record_id, seq) key.
    const ids = await sql<{ record_id: string }>`
      SELECT record_id FROM entries WHERE record_id > ${after}::uuid AND seq = 1
      ORDER BY record_id LIMIT ${batchSize}`.execute(registry.db);
    const batch = ids.rows.map((r) => r.record_id);
    if (batch.length === 0) return;
    const rows = await registry.db
      .selectFrom('entries')
      .selectAll()
      .where('record_id', 'in', batch)
      .orderBy('record_id')
      .orderBy('seq')
      .execute();
    const logs = new Map<string, Entry[]>(batch.map((id) => [id, []]));
    for (const row of rows) logs.get(row.record_id)?.push(toEntry(row));
    yield [...logs.values()];
    after = batch[batch.length - 1] as string;
  }
}

function fold(registry: Registry, log: Entry[]): RecordRow | null {
  const first = log[0];
  const recordType = first && registry.config.recordTypes.get(first.recordType ?? '');
  const state = recordType ? foldRecord(log, recordType) : null;
  return state && recordType ? readModelRow(state, recordType) : null;
}

export interface VerifyReport {
  records: number;
  entries: number;
  differences: { recordId: string; problem: string }[];
}

/** Re-folds every record from the log and compares it with the read model. */
export async function verifyReadModel(registry: Registry): Promise<VerifyReport> {
  const report: VerifyReport = { records: 0, entries: 0, differences: [] };
  for await (const logs of recordLogs(registry)) {
    const ids = logs.map((log) => log[0]?.recordId).filter((id): id is string => id !== undefined);
    const stored = await registry.db
      .selectFrom('records')
      .select(['id', 'state', 'name'])
      .where('id', 'in', ids.length > 0 ? ids : ['00000000-0000-0000-0000-000000000000'])
      .execute();
    const byId = new Map(stored.map((r) => [r.id, r]));
    for (const log of logs) {
      const recordId = log[0]?.recordId;
      if (!recordId) continue;
      report.records += 1;
      report.entries += log.length;
      const expected = fold(registry, log);
      const actual = byId.get(recordId);
      if (!expected) report.differences.push({ recordId, problem: 'the log folds to no record' });
      else if (!actual)
        report.differences.push({ recordId, problem: 'missing from the read model' });
      else if (!jsonEqual(expected.state, actual.state)) {
        report.differences.push({ recordId, problem: 'state differs from the fold of its log' });
      } else if (expected.name !== actual.name) {
        report.differences.push({ recordId, problem: 'search name differs' });
      }
    }
  }
  const orphans = await sql<{ id: string }>`
    SELECT r.id FROM records r
    WHERE NOT EXISTS (SELECT 1 FROM entries e WHERE e.record_id = r.id)`.execute(registry.db);
  for (const { id } of orphans.rows) {
    report.differences.push({ recordId: id, problem: 'in the read model but not in the log' });
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
  await sql`DROP TABLE IF EXISTS records_rebuild`.execute(db);
  await createRecordsTable(db, 'records_rebuild');
  // The secondary indexes are built once from the whole table, which costs far less than keeping
  // them up to date batch by batch; the primary key stays for the catch-up's upsert below.
  const indexes = await sql<{ indexname: string; indexdef: string }>`
    SELECT indexname, indexdef FROM pg_indexes
    WHERE schemaname = current_schema() AND tablename = 'records_rebuild'
      AND indexname <> 'records_rebuild_pkey'`.execute(db);
  for (const { indexname } of indexes.rows) await sql`DROP INDEX ${sql.id(indexname)}`.execute(db);

  // One batch is written while the next is read and folded.
  let writing: Promise<void> = Promise.resolve();
  for await (const logs of recordLogs(registry, options.batchSize)) {
    const rows = logs
      .map((log) => fold(registry, log))
      .filter((row): row is RecordRow => row !== null);
    report.records += rows.length;
    report.entries += logs.reduce((n, log) => n + log.length, 0);
    await writing;
    writing = upsertRecords(db, rows, 'records_rebuild');
    writing.catch(() => undefined); // handled where it is awaited
    await options.onProgress?.({ records: report.records, entries: report.entries });
  }
  await writing;
  await Promise.all(indexes.rows.map(({ indexdef }) => sql.raw(indexdef).execute(db)));

  await db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(${WRITE_LOCK})`.execute(trx);
    // Records whose log grew since they were folded above, or that are new.
    const stale = await sql<{ id: string }>`
      SELECT r.id FROM records r LEFT JOIN records_rebuild n ON n.id = r.id
      WHERE n.id IS NULL OR n.seq <> r.seq`.execute(trx);
    const ids = stale.rows.map((r) => r.id);
    if (ids.length > 0) {
      const rows = await trx
        .selectFrom('entries')
        .selectAll()
        .where('record_id', 'in', ids)
        .orderBy('seq')
        .execute();
      const logs = new Map<string, Entry[]>();
      for (const row of rows)
        logs.set(row.record_id, [...(logs.get(row.record_id) ?? []), toEntry(row)]);
      const folded = [...logs.values()]
        .map((log) => fold(registry, log))
        .filter((r): r is RecordRow => r !== null);
      await upsertRecords(trx, folded, 'records_rebuild');
      report.caughtUp = folded.length;
    }
    await sql`DROP TABLE records`.execute(trx);
    await sql`ALTER TABLE records_rebuild RENAME TO records`.execute(trx);
    for (const suffix of [
      'pkey',
      'queue',
      'updated',
      'flags',
      'tracking',
      'registration',
      'assigned',
      'location',
      'name',
    ]) {
      await sql`ALTER INDEX ${sql.id(`records_rebuild_${suffix}`)} RENAME TO ${sql.id(`records_${suffix}`)}`.execute(
        trx,
      );
    }
  });
  report.seconds = (performance.now() - started) / 1000;
  return report;
}

/**
 * Taken shared by every appending transaction and exclusively by the rebuild's swap, so that no
 * append can land in the old read-model table after the rebuild has caught up.
 */
export const WRITE_LOCK = 0x5245_4749; // "REGI"
