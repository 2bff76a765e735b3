import type { Entry, FoldCarry, RecordState } from '@registra/core';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../db/schema.js';
import { ENTRY_COLUMNS, toEntry, type EntryRow } from './entries.js';
import type { StoredRecordKey } from './record-keys.js';

/**
 * The store side of an append. Each round trip to PostgreSQL costs a socket write and a wakeup on
 * both sides (on a small server, more than the statements themselves), so an append reads what it
 * needs in one statement and writes everything in another.
 */

/** What an append needs to know before deciding: which action ids are stored, and each record's fold. */
export interface AppendContext {
  /** Stored entries whose id is one of the incoming actions'. */
  known: Map<string, Entry>;
  /**
   * The records that exist, locked until the transaction ends, each with its fold: the state and
   * the carry to fold the next entry onto. The carry is null on rows written before it was kept
   * (migration 0003); the caller folds those from their log once.
   */
  records: Map<string, { record: RecordState; carry: FoldCarry | null; head: string | null }>;
  /** The records' data keys as stored (PROTOCOL 13), read after their rows were locked. */
  keys: StoredRecordKey[];
}

type ContextRow = EntryRow & {
  head_state: RecordState | null;
  head_fold: FoldCarry | null;
  head_hash: string | null;
  key_record_id: string | null;
  key_record_type: string | null;
  key_kek_id: string | null;
  key_wrapped: Buffer | null;
};

/**
 * Reads an append's context in one statement: the known action ids, the records' folds, never
 * their logs, so that an append costs the same whatever the length of the log, and the records'
 * data keys. The record rows are locked in id order, so that requests touching the same records
 * serialise (on any API node) and cannot deadlock; a row lock that waited returns the row's latest
 * version, so each writer decides on the state the previous one left. The keys are read FOR SHARE
 * after those locks, in the last branch: a lock returns a row's latest committed version rather
 * than the statement's snapshot, so an erasure that committed while this append waited for the
 * record's lock (services/vault/erasure.ts holds it) is seen, as a separate statement would.
 */
export async function readAppendContext(
  trx: Kysely<Database>,
  actionIds: string[],
  recordIds: string[],
): Promise<AppendContext> {
  const context: AppendContext = { known: new Map(), records: new Map(), keys: [] };
  if (actionIds.length === 0 && recordIds.length === 0) return context;
  const columns = sql.join(ENTRY_COLUMNS.map((c) => sql.ref(`e.${c}`)));
  // A UNION takes its column names (and types) from its first branch.
  const nulls = sql.join(ENTRY_COLUMNS.map((c) => sql`NULL AS ${sql.id(c)}`));
  const noEntry = sql.join(ENTRY_COLUMNS.map(() => sql`NULL`));
  const result = await sql<ContextRow>`
    WITH locked AS MATERIALIZED (
      SELECT id, state, fold, head_hash FROM records
      WHERE id = ANY(${recordIds}::uuid[]) ORDER BY id FOR UPDATE)
    SELECT l.state AS head_state, l.fold AS head_fold, l.head_hash,
      NULL::uuid AS key_record_id, NULL::text AS key_record_type, NULL::text AS key_kek_id,
      NULL::bytea AS key_wrapped, ${nulls} FROM locked l
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, ${columns} FROM entries e
    WHERE e.id = ANY(${actionIds}::uuid[])
    UNION ALL
    SELECT NULL, NULL, NULL, k.record_id, k.record_type, k.kek_id, k.wrapped, ${noEntry}
    FROM (SELECT record_id, record_type, kek_id, wrapped FROM record_keys
      WHERE record_id = ANY(${recordIds}::uuid[]) ORDER BY record_id FOR SHARE) k`.execute(trx);
  for (const row of result.rows) {
    if (row.key_record_id !== null) {
      context.keys.push({
        recordId: row.key_record_id,
        recordType: row.key_record_type ?? '',
        kekId: row.key_kek_id ?? '',
        wrapped: row.key_wrapped,
      });
    } else if (row.head_state !== null) {
      context.records.set(row.head_state.id, {
        record: row.head_state,
        carry: row.head_fold,
        head: row.head_hash,
      });
    } else {
      const entry = toEntry(row);
      context.known.set(entry.id, entry);
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
