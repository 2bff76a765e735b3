import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

export interface CheckpointRow {
  id: string;
  createdAt: Date;
  root: string;
  records: number;
  snapshot: string;
  kid: string;
  signature: string;
}

type Row = {
  id: string;
  created_at: Date;
  root: string;
  records: string;
  snapshot: string;
  kid: string;
  signature: string;
};

const toCheckpoint = (r: Row): CheckpointRow => ({
  id: r.id,
  createdAt: r.created_at,
  root: r.root,
  records: Number(r.records),
  snapshot: r.snapshot,
  kid: r.kid,
  signature: r.signature,
});

const COLUMNS = ['id', 'created_at', 'root', 'records', 'snapshot', 'kid', 'signature'] as const;

export async function insertCheckpoint(db: Kysely<Database>, row: CheckpointRow): Promise<void> {
  await db
    .insertInto('checkpoints')
    .values({
      id: row.id,
      created_at: row.createdAt,
      root: row.root,
      records: row.records,
      snapshot: row.snapshot,
      kid: row.kid,
      signature: row.signature,
    })
    .execute();
}

export async function findCheckpoint(
  db: Kysely<Database>,
  id: string,
): Promise<CheckpointRow | undefined> {
  const row = await db
    .selectFrom('checkpoints')
    .select(COLUMNS)
    .where('id', '=', id)
    .executeTakeFirst();
  return row && toCheckpoint(row);
}

/** Checkpoints newest first, in keyset pages: those older than `before` (created_at, id). */
export async function listCheckpoints(
  db: Kysely<Database>,
  limit: number,
  before?: { createdAt: Date; id: string },
): Promise<CheckpointRow[]> {
  let query = db.selectFrom('checkpoints').select(COLUMNS);
  if (before) {
    query = query.where(({ eb, refTuple, tuple }) =>
      eb(refTuple('created_at', 'id'), '<', tuple(before.createdAt, before.id)),
    );
  }
  const rows = await query
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return rows.map(toCheckpoint);
}

/** The snapshot the current transaction reads in (its first statement, in REPEATABLE READ). */
export async function currentSnapshot(trx: Kysely<Database>): Promise<string> {
  const { rows } = await sql<{ snapshot: string }>`
    SELECT pg_current_snapshot()::text AS snapshot`.execute(trx);
  const snapshot = rows[0]?.snapshot;
  if (!snapshot) throw new Error('no snapshot');
  return snapshot;
}

/** A record's head as a checkpoint reads it: null `headHash` on logs stored before the chain. */
export interface HeadRow {
  recordId: string;
  headHash: string | null;
  /** Its last seq, as of the snapshot. */
  seq: number;
}

/**
 * The next `limit` records after `after` in id order with their head hashes as the transaction
 * sees them.
 */
export async function currentHeads(
  db: Kysely<Database>,
  after: string | null,
  limit: number,
): Promise<HeadRow[]> {
  let query = db.selectFrom('records').select(['id', 'head_hash', 'seq']);
  if (after !== null) query = query.where('id', '>', after);
  const rows = await query.orderBy('id').limit(limit).execute();
  return rows.map((r) => ({ recordId: r.id, headHash: r.head_hash, seq: r.seq }));
}

/**
 * The next `limit` records after `after` in id order as an earlier snapshot saw them: the current
 * head where its entry was committed before the snapshot (`unchanged`), else null for the caller
 * to find with headsAsOf (the record grew since, or did not exist yet).
 */
export async function headsSince(
  db: Kysely<Database>,
  snapshot: string,
  after: string | null,
  limit: number,
): Promise<(HeadRow & { unchanged: boolean })[]> {
  // The page of records first, then one index lookup of each one's last entry: a join lets the
  // planner scan every entry for each page.
  const { rows } = await sql<{
    id: string;
    head_hash: string | null;
    seq: number;
    unchanged: boolean;
  }>`
    SELECT r.id, r.head_hash, r.seq,
           pg_visible_in_snapshot(
             (SELECT h.tx FROM entries h WHERE h.record_id = r.id AND h.seq = r.seq),
             ${snapshot}::pg_snapshot) AS unchanged
    FROM (
      SELECT id, head_hash, seq FROM records
      WHERE ${after === null ? sql`true` : sql`id > ${after}::uuid`}
      ORDER BY id
      LIMIT ${limit}
    ) r
    ORDER BY r.id`.execute(db);
  return rows.map((r) => ({
    recordId: r.id,
    headHash: r.head_hash,
    seq: r.seq,
    unchanged: r.unchanged,
  }));
}

/**
 * The last entry of each record that the snapshot saw: the records that grew since it. A record
 * with no entry committed before the snapshot is left out.
 */
export async function headsAsOf(
  db: Kysely<Database>,
  snapshot: string,
  recordIds: string[],
): Promise<HeadRow[]> {
  if (recordIds.length === 0) return [];
  const { rows } = await sql<{ record_id: string; hash: string | null; seq: number }>`
    SELECT DISTINCT ON (record_id) record_id, hash, seq
    FROM entries
    WHERE record_id = ANY(${recordIds}::uuid[])
      AND pg_visible_in_snapshot(tx, ${snapshot}::pg_snapshot)
    ORDER BY record_id, seq DESC`.execute(db);
  return rows.map((r) => ({ recordId: r.record_id, headHash: r.hash, seq: r.seq }));
}
