import type { Entry } from '@registra/core';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../db/schema.js';
import { ENTRY_COLUMNS, loadLogs, toEntry, type EntryRow } from './entries.js';
import type { RecordHead } from './records.js';

/**
 * The store side of an append. Each round trip to PostgreSQL costs a socket write and a wakeup on
 * both sides (on a small server, more than the statements themselves), so an append reads what it
 * needs in one statement and writes everything in another.
 */

/** What an append needs to know before deciding: which action ids are stored, and each record's log. */
export interface AppendContext {
  /** Stored entries whose id is one of the incoming actions'. */
  known: Map<string, Entry>;
  /** The records that exist, locked until the transaction ends, with their logs in seq order. */
  records: Map<string, { head: RecordHead; log: Entry[] }>;
}

type ContextRow = EntryRow & {
  head_id: string | null;
  head_seq: number | null;
  head_type: string | null;
  head_location: string | null;
  head_assigned_to: string | null;
};

/**
 * Reads an append's context in one statement. The record rows are locked in id order, so that
 * requests touching the same records serialise (on any API node) and cannot deadlock.
 *
 * A statement reads with the snapshot it started with, and a row lock it waited for does not
 * renew it: when another request appended to a record meanwhile, the locked row comes back in its
 * new version (its `seq` is the log's length) but the joined log does not. Those logs are read
 * again, now that the lock is held, so that many writers on one record queue up rather than fail.
 */
export async function readAppendContext(
  trx: Kysely<Database>,
  actionIds: string[],
  recordIds: string[],
): Promise<AppendContext> {
  const context: AppendContext = { known: new Map(), records: new Map() };
  if (actionIds.length === 0 && recordIds.length === 0) return context;
  const columns = sql.join(ENTRY_COLUMNS.map((c) => sql.ref(`e.${c}`)));
  const heads = new Map<string, number>();
  const result = await sql<ContextRow>`
    WITH locked AS MATERIALIZED (
      SELECT id, seq, type, created_at_location, assigned_to FROM records
      WHERE id = ANY(${recordIds}::uuid[]) ORDER BY id FOR UPDATE)
    SELECT * FROM (
      SELECT l.id AS head_id, l.seq AS head_seq, l.type AS head_type,
             l.created_at_location AS head_location, l.assigned_to AS head_assigned_to, ${columns}
      FROM locked l JOIN entries e ON e.record_id = l.id
      UNION ALL
      SELECT NULL, NULL, NULL, NULL, NULL, ${columns}
      FROM entries e WHERE e.id = ANY(${actionIds}::uuid[])
    ) AS context
    ORDER BY head_id, seq`.execute(trx);
  for (const row of result.rows) {
    const entry = toEntry(row);
    if (row.head_id === null) {
      context.known.set(entry.id, entry);
      continue;
    }
    let record = context.records.get(row.head_id);
    if (!record) {
      record = {
        head: {
          id: row.head_id,
          type: row.head_type as string,
          createdAtLocation: row.head_location as string,
          assignedTo: row.head_assigned_to,
        },
        log: [],
      };
      context.records.set(row.head_id, record);
    }
    record.log.push(entry);
    if (row.head_seq !== null) heads.set(row.head_id, row.head_seq);
  }
  const stale = [...heads].filter(([id, seq]) => (context.records.get(id)?.log.length ?? 0) < seq);
  if (stale.length > 0) {
    const logs = await loadLogs(
      trx,
      stale.map(([id]) => id),
    );
    for (const [id, log] of logs) {
      const record = context.records.get(id);
      if (record) record.log = log;
    }
  }
  return context;
}

/**
 * Runs data-modifying statements as one: each becomes a CTE of a single WITH. PostgreSQL runs every
 * one of them to completion, on the same snapshot; they must not touch the same rows.
 */
export async function writeAll(
  trx: Kysely<Database>,
  statements: RawBuilder<unknown>[],
): Promise<void> {
  if (statements.length === 0) return;
  const parts = statements.map((statement, i) => sql`${sql.id(`write${i}`)} AS (${statement})`);
  await sql`WITH ${sql.join(parts)} SELECT 1`.execute(trx);
}
