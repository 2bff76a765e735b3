import type { FoldCarry, RecordHead, RecordState } from '@registra/core';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../db/schema.js';

/** The heads of the given records that exist (no lock): for checking references to them. */
export async function findRecordHeads(
  db: Kysely<Database>,
  ids: string[],
): Promise<Map<string, RecordHead>> {
  if (ids.length === 0) return new Map();
  const result = await sql<{
    id: string;
    type: string;
    created_at_location: string;
    assigned_to: string | null;
  }>`
    SELECT id, type, created_at_location, assigned_to FROM records
    WHERE id = ANY(${ids}::uuid[])`.execute(db);
  return new Map(
    result.rows.map((r) => [
      r.id,
      {
        id: r.id,
        type: r.type,
        createdAtLocation: r.created_at_location,
        assignedTo: r.assigned_to,
      },
    ]),
  );
}

/** A read-model row: the folded state and its carry, plus the name that `q` searches. */
export interface RecordRow {
  state: RecordState;
  carry: FoldCarry;
  /** The hash of the record's last entry (PROTOCOL 13). */
  headHash: string | null;
  name: string;
}

/** The INSERT … ON CONFLICT of read-model rows, as one statement with one parameter. */
export function upsertRecordsStatement(
  rows: RecordRow[],
  table: 'records' | 'records_rebuild' = 'records',
): RawBuilder<unknown> {
  const json = JSON.stringify(rows.map(toColumns));
  return sql`
    INSERT INTO ${sql.table(table)} (id, type, status, flags, tracking_id, registration_number, assigned_to,
      created_at_location, created_by, created_at, updated_at, seq, name, state, fold, head_hash)
    SELECT id, type, status, flags, tracking_id, registration_number, assigned_to,
      created_at_location, created_by, created_at, updated_at, seq, name, state, fold, head_hash
    FROM jsonb_to_recordset(${json}::jsonb) AS x(id uuid, type text, status text, flags text[],
      tracking_id text, registration_number text, assigned_to uuid, created_at_location text,
      created_by uuid, created_at timestamptz, updated_at timestamptz, seq integer, name text,
      state jsonb, fold jsonb, head_hash text)
    ON CONFLICT (id) DO UPDATE SET status = excluded.status, flags = excluded.flags,
      registration_number = excluded.registration_number, assigned_to = excluded.assigned_to,
      updated_at = excluded.updated_at, seq = excluded.seq, name = excluded.name,
      state = excluded.state, fold = excluded.fold, head_hash = excluded.head_hash`;
}

/** Inserts or replaces read-model rows. */
export async function upsertRecords(
  db: Kysely<Database>,
  rows: RecordRow[],
  table: 'records' | 'records_rebuild' = 'records',
): Promise<void> {
  if (rows.length > 0) await upsertRecordsStatement(rows, table).execute(db);
}

function toColumns({ state, carry, headHash, name }: RecordRow) {
  return {
    id: state.id,
    type: state.type,
    status: state.status,
    flags: state.flags,
    tracking_id: state.trackingId,
    registration_number: state.registrationNumber,
    assigned_to: state.assignedTo,
    created_at_location: state.createdAtLocation,
    created_by: state.createdBy,
    created_at: state.createdAt,
    updated_at: state.updatedAt,
    seq: state.seq,
    name,
    state,
    fold: carry,
    head_hash: headHash,
  };
}

export async function findRecordState(
  db: Kysely<Database>,
  id: string,
): Promise<RecordState | null> {
  const row = await db
    .selectFrom('records')
    .select('state')
    .where('id', '=', id)
    .executeTakeFirst();
  return row ? (row.state as RecordState) : null;
}

export interface RecordFilter {
  types: { type: string; locations: string[] | null }[];
  assignedToMe: string;
  type?: string | undefined;
  status?: string | undefined;
  flag?: string | undefined;
  q?: string | undefined;
  trackingId?: string | undefined;
  registrationNumber?: string | undefined;
  locations?: string[] | undefined;
  assignedTo?: string | undefined;
  /** Keyset: the sort key and id of the last row of the previous page. */
  after?: { key: string; id: string } | undefined;
  limit: number;
}

/**
 * One page of records in reach matching the filter. Without `q`, newest change first; with `q`,
 * best name match first (trigram similarity), both with the id as tie-breaker.
 */
export async function listRecords(
  db: Kysely<Database>,
  filter: RecordFilter,
): Promise<{ state: RecordState; key: string }[]> {
  const reach = filter.types.map(({ type, locations }) =>
    locations === null
      ? sql`r.type = ${type}`
      : sql`(r.type = ${type} AND r.created_at_location = ANY(${locations}::text[]))`,
  );
  reach.push(sql`r.assigned_to = ${filter.assignedToMe}::uuid`);
  const where = [sql`(${sql.join(reach, sql` OR `)})`];
  if (filter.type) where.push(sql`r.type = ${filter.type}`);
  if (filter.status) where.push(sql`r.status = ${filter.status}`);
  if (filter.flag) where.push(sql`r.flags @> ARRAY[${filter.flag}]::text[]`);
  if (filter.trackingId) where.push(sql`r.tracking_id = ${filter.trackingId}`);
  if (filter.registrationNumber)
    where.push(sql`r.registration_number = ${filter.registrationNumber}`);
  if (filter.locations) where.push(sql`r.created_at_location = ANY(${filter.locations}::text[])`);
  if (filter.assignedTo) where.push(sql`r.assigned_to = ${filter.assignedTo}::uuid`);

  if (filter.q) {
    const score = sql`word_similarity(${filter.q}, r.name)`;
    where.push(sql`${filter.q} <% r.name`);
    if (filter.after) {
      where.push(
        sql`(${score}, r.id) < (${Number(filter.after.key)}::real, ${filter.after.id}::uuid)`,
      );
    }
    const result = await sql<{ state: RecordState; key: number }>`
      SELECT r.state, ${score} AS key FROM records r
      WHERE ${sql.join(where, sql` AND `)}
      ORDER BY key DESC, r.id DESC LIMIT ${filter.limit}`.execute(db);
    return result.rows.map((row) => ({ state: row.state, key: String(row.key) }));
  }
  if (filter.after) {
    where.push(
      sql`(r.updated_at, r.id) < (${filter.after.key}::timestamptz, ${filter.after.id}::uuid)`,
    );
  }
  const result = await sql<{ state: RecordState; key: Date }>`
    SELECT r.state, r.updated_at AS key FROM records r
    WHERE ${sql.join(where, sql` AND `)}
    ORDER BY r.updated_at DESC, r.id DESC LIMIT ${filter.limit}`.execute(db);
  return result.rows.map((row) => ({ state: row.state, key: row.key.toISOString() }));
}
