import type { Entry, EntryStatus } from '@registra/core';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../db/schema.js';

/** A position in the change feed: the appending transaction's id, then the row's position. */
export interface FeedPosition {
  tx: string;
  pos: string;
}

/** An entry as the store holds it: the action as sent (`body`) plus the server's decisions. */
export interface NewEntry {
  id: string;
  recordId: string;
  seq: number;
  recordType: string;
  type: string;
  body: Record<string, unknown>;
  deviceId: string | null;
  deviceSeq: number | null;
  status: EntryStatus;
  code: string | null;
  message: string | null;
  registrationNumber: string | null;
  createdBy: string;
  createdByRole: string;
  createdAtLocation: string;
  recordedAt: string;
  configVersion: string;
  /** The chain (PROTOCOL 13): this entry's hash and the previous entry's. */
  hash: string;
  prevHash: string | null;
}

export type EntryRow = {
  id: string;
  record_id: string;
  seq: number;
  body: Record<string, unknown>;
  device_id: string | null;
  device_seq: string | null;
  status: string;
  code: string | null;
  message: string | null;
  registration_number: string | null;
  created_by: string;
  created_by_role: string;
  created_at_location: string;
  recorded_at: Date;
  config_version: string;
};

export const ENTRY_COLUMNS = [
  'id',
  'record_id',
  'seq',
  'body',
  'device_id',
  'device_seq',
  'status',
  'code',
  'message',
  'registration_number',
  'created_by',
  'created_by_role',
  'created_at_location',
  'recorded_at',
  'config_version',
] as const;

export function toEntry(row: EntryRow): Entry {
  // Object.assign, not an object spread: V8 spreads a parsed jsonb body slowly (about 12 µs an
  // entry against 1.3 µs, measured on rebuild batches; see bench/README.md). Same result: bodies
  // hold only action keys (ActionSchema is strict, secure-json-parse refuses __proto__).
  const entry = Object.assign({}, row.body, {
    seq: row.seq,
    status: row.status,
    createdBy: row.created_by,
    createdByRole: row.created_by_role,
    createdAtLocation: row.created_at_location,
    deviceId: row.device_id,
    recordedAt: row.recorded_at.toISOString(),
    code: row.code,
    message: row.message,
    registrationNumber: row.registration_number,
    configVersion: row.config_version,
  }) as Entry;
  if (row.device_seq !== null) entry.deviceSeq = Number(row.device_seq);
  return entry;
}

/**
 * A page of one record's log after `afterSeq`, in seq order: at most `limit` entries and, roughly,
 * `maxBytes` of JSON (each entry's body plus its server fields), always at least one entry. One
 * account can fill a log with large rejected actions; no read of it may hold the whole log.
 */
export async function readLogPage(
  db: Kysely<Database>,
  recordId: string,
  afterSeq: number,
  limit: number,
  maxBytes: number,
): Promise<{ links: StoredLink[]; hasMore: boolean }> {
  const columns = sql.join([...ENTRY_COLUMNS, 'hash', 'prev_hash'].map((c) => sql.ref(c)));
  const result = await sql<
    EntryRow & { hash: string | null; prev_hash: string | null; running: string }
  >`
    SELECT * FROM (
      SELECT ${columns},
             sum(octet_length(body::text) + ${ENTRY_OVERHEAD_BYTES}) OVER (ORDER BY seq) AS running
      FROM (SELECT * FROM entries WHERE record_id = ${recordId}::uuid AND seq > ${afterSeq}
            ORDER BY seq LIMIT ${limit + 1}) AS page
    ) AS sized
    ORDER BY seq`.execute(db);
  const links: StoredLink[] = [];
  for (const row of result.rows) {
    if (links.length === limit) break;
    if (links.length > 0 && Number(row.running) > maxBytes) break;
    links.push({ entry: toEntry(row), hash: row.hash, prevHash: row.prev_hash });
  }
  return { links, hasMore: links.length < result.rows.length };
}

/** What an entry's server fields add to its body in JSON, about. */
const ENTRY_OVERHEAD_BYTES = 400;

/** A stored entry with its chain as stored (null on entries from before migration 0011). */
export interface StoredLink {
  entry: Entry;
  hash: string | null;
  prevHash: string | null;
}

/** The whole log of each record with its chain as stored, in seq order. */
export async function loadChains(
  db: Kysely<Database>,
  recordIds: string[],
): Promise<Map<string, StoredLink[]>> {
  const logs = new Map<string, StoredLink[]>(recordIds.map((id) => [id, []]));
  if (recordIds.length === 0) return logs;
  const rows = await db
    .selectFrom('entries')
    .select([...ENTRY_COLUMNS, 'hash', 'prev_hash'])
    .where('record_id', 'in', recordIds)
    .orderBy('record_id')
    .orderBy('seq')
    .execute();
  for (const row of rows) {
    logs.get(row.record_id)?.push({ entry: toEntry(row), hash: row.hash, prevHash: row.prev_hash });
  }
  return logs;
}

/** The whole log of each record, in seq order. */
export async function loadLogs(
  db: Kysely<Database>,
  recordIds: string[],
): Promise<Map<string, Entry[]>> {
  const logs = new Map<string, Entry[]>(recordIds.map((id) => [id, []]));
  if (recordIds.length === 0) return logs;
  const rows = await db
    .selectFrom('entries')
    .select(ENTRY_COLUMNS)
    .where('record_id', 'in', recordIds)
    .orderBy('record_id')
    .orderBy('seq')
    .execute();
  for (const row of rows) logs.get(row.record_id)?.push(toEntry(row));
  return logs;
}

/**
 * The INSERT of new entries, as one statement with one parameter: PostgreSQL unpacks the JSON array
 * into rows, which costs far less than parsing and planning a VALUES list of thousands of parameters.
 */
export function appendEntriesStatement(entries: NewEntry[]): RawBuilder<unknown> {
  const rows = JSON.stringify(
    entries.map((e) => ({
      id: e.id,
      record_id: e.recordId,
      seq: e.seq,
      record_type: e.recordType,
      type: e.type,
      body: e.body,
      device_id: e.deviceId,
      device_seq: e.deviceSeq,
      status: e.status,
      code: e.code,
      message: e.message,
      registration_number: e.registrationNumber,
      created_by: e.createdBy,
      created_by_role: e.createdByRole,
      created_at_location: e.createdAtLocation,
      recorded_at: e.recordedAt,
      config_version: e.configVersion,
      hash: e.hash,
      prev_hash: e.prevHash,
    })),
  );
  return sql`
    INSERT INTO entries (id, record_id, seq, record_type, type, body, device_id, device_seq, status, code,
      message, registration_number, created_by, created_by_role, created_at_location, recorded_at,
      config_version, hash, prev_hash)
    SELECT id, record_id, seq, record_type, type, body, device_id, device_seq, status, code,
      message, registration_number, created_by, created_by_role, created_at_location, recorded_at,
      config_version, hash, prev_hash
    FROM jsonb_to_recordset(${rows}::jsonb) AS x(id uuid, record_id uuid, seq integer, record_type text,
      type text, body jsonb, device_id uuid, device_seq bigint, status text, code text, message text,
      registration_number text, created_by text, created_by_role text, created_at_location text,
      recorded_at timestamptz, config_version text, hash text, prev_hash text)`;
}

/** Which records a reader may see in the feed: per record type, the offices in reach (null: all). */
export interface FeedScope {
  types: { type: string; locations: string[] | null }[];
  assignedTo: string | null;
}

export interface FeedRow {
  /** Null for an entry pushed by the device that reads: it holds that one already. */
  entry: Entry | null;
  position: FeedPosition;
  recordType: string;
  recordLocation: string;
  /** Bytes of PostgreSQL's JSON text of the entry's body (0 for the reader's own entries). */
  bodyBytes: number;
}

export interface FeedPage {
  rows: FeedRow[];
  /**
   * The read stopped at `maxBytes` before `limit` rows: more entries follow the last row.
   * (The last row is then one past the bytes, so that the caller may still take it.)
   */
  cutByBytes: boolean;
}

/**
 * Entries after `after`, in feed order, of records in scope. Only transactions older than the
 * oldest one still running are read: their entries are all committed or gone for good, so what a
 * reader has passed can never gain a late entry. The entries of `ownDevice` come back as positions
 * only, so that a device's own pushes cost neither transfer nor parsing.
 *
 * At most `limit` rows, and no more bodies than about `maxBytes` of JSON text (PostgreSQL's, which
 * is never shorter than JSON.stringify's; stored as `body_bytes` when appended) plus one, so that a
 * page of large entries never loads thousands of them into memory to send a few.
 */
export async function readFeed(
  db: Kysely<Database>,
  after: FeedPosition | null,
  scope: FeedScope | null,
  limit: number,
  ownDevice: string | null = null,
  maxBytes = Number.MAX_SAFE_INTEGER,
): Promise<FeedPage> {
  const start = after ?? { tx: '0', pos: '0' };
  const inScope = scope === null ? sql`true` : scopeCondition(scope);
  const own = ownDevice === null ? sql`false` : sql`e.device_id = ${ownDevice}::uuid`;
  const size = sql`CASE WHEN ${own} THEN 0 ELSE e.body_bytes END`;
  const result = await sql<
    Omit<EntryRow, 'body'> & {
      body: EntryRow['body'] | null;
      tx: string;
      pos: string;
      r_type: string;
      r_location: string;
      before: string;
      body_bytes: number;
    }
  >`
    SELECT id, record_id, seq, body, device_id, device_seq, status, code, message,
           registration_number, created_by, created_by_role, created_at_location, recorded_at,
           config_version, tx::text AS tx, pos::text AS pos, r_type, r_location, before::text AS before,
           body_bytes
    FROM (
      SELECT e.id, e.record_id, e.seq, CASE WHEN ${own} THEN NULL ELSE e.body END AS body,
             e.device_id, e.device_seq, e.status, e.code, e.message,
             e.registration_number, e.created_by, e.created_by_role, e.created_at_location,
             e.recorded_at, e.config_version, e.tx, e.pos,
             r.type AS r_type, r.created_at_location AS r_location, ${size} AS body_bytes,
             coalesce(sum(${size}) OVER (ORDER BY e.tx, e.pos
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before,
             coalesce(sum(${size}) OVER (ORDER BY e.tx, e.pos
               ROWS BETWEEN UNBOUNDED PRECEDING AND 2 PRECEDING), 0) AS before_previous
      FROM entries e JOIN records r ON r.id = e.record_id
      WHERE (e.tx, e.pos) > (${start.tx}::xid8, ${start.pos}::bigint)
        AND e.tx < pg_snapshot_xmin(pg_current_snapshot())
        AND ${inScope}
      ORDER BY e.tx, e.pos
      LIMIT ${limit}
    ) page
    WHERE before_previous < ${maxBytes}
    ORDER BY page.tx, page.pos`.execute(db);
  const rows = result.rows;
  const last = rows[rows.length - 1];
  return {
    rows: rows.map((row) => ({
      entry: row.body === null ? null : toEntry({ ...row, body: row.body }),
      position: { tx: row.tx, pos: row.pos },
      recordType: row.r_type,
      recordLocation: row.r_location,
      bodyBytes: Number(row.body_bytes),
    })),
    cutByBytes: last !== undefined && Number(last.before) >= maxBytes,
  };
}

function scopeCondition(scope: FeedScope) {
  const parts = scope.types.map(({ type, locations }) =>
    locations === null
      ? sql`r.type = ${type}`
      : sql`(r.type = ${type} AND r.created_at_location = ANY(${locations}::text[]))`,
  );
  if (scope.assignedTo !== null) parts.push(sql`r.assigned_to = ${scope.assignedTo}::uuid`);
  return parts.length === 0 ? sql`false` : sql`(${sql.join(parts, sql` OR `)})`;
}

/** The entries of a record up to a feed position, for a record that just came into someone's scope. */
export async function readLogUpTo(
  db: Kysely<Database>,
  recordId: string,
  upTo: FeedPosition,
): Promise<Entry[]> {
  const result = await sql<EntryRow>`
    SELECT ${sql.join(ENTRY_COLUMNS.map((c) => sql.ref(`e.${c}`)))}
    FROM entries e
    WHERE e.record_id = ${recordId}::uuid AND (e.tx, e.pos) <= (${upTo.tx}::xid8, ${upTo.pos}::bigint)
    ORDER BY e.seq`.execute(db);
  return result.rows.map(toEntry);
}

/** The accepted APPROVE or DECLINE of each of these requests that has been appended, if any. */
export async function findDecisions(
  db: Kysely<Database>,
  requests: readonly { recordId: string; requestId: string }[],
): Promise<Map<string, Entry>> {
  const decisions = new Map<string, Entry>();
  if (requests.length === 0) return decisions;
  const columns = sql.join(ENTRY_COLUMNS.map((c) => sql.ref(c)));
  const result = await sql<EntryRow>`
    SELECT ${columns} FROM entries
    WHERE record_id = ANY(${requests.map((r) => r.recordId)}::uuid[])
      AND type IN ('APPROVE', 'DECLINE') AND status = 'accepted'
      AND body->>'requestId' = ANY(${requests.map((r) => r.requestId)}::text[])`.execute(db);
  for (const row of result.rows) {
    const entry = toEntry(row);
    if (entry.requestId) decisions.set(entry.requestId, entry);
  }
  return decisions;
}
