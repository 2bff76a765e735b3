import type { FoldCarry, RecordHead, RecordState } from '@registra/core';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../db/schema.js';
import { reachCondition } from './reach.js';

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

/** A read-model row: the folded state and its carry, plus what search finds it by. */
export interface RecordRow {
  state: RecordState;
  carry: FoldCarry;
  /** The hash of the record's last entry (PROTOCOL 13). */
  headHash: string | null;
  name: string;
  /** core's searchKeys: name words exactly, by sound, by deletion forms; identifiers. */
  keys: string[];
}

/** The INSERT … ON CONFLICT of read-model rows, as one statement with one parameter. */
export function upsertRecordsStatement(
  rows: RecordRow[],
  table: 'records' | 'records_rebuild' = 'records',
): RawBuilder<unknown> {
  const json = JSON.stringify(rows.map(toColumns));
  return sql`
    INSERT INTO ${sql.table(table)} (id, type, status, flags, tracking_id, registration_number, assigned_to,
      created_at_location, created_by, created_at, updated_at, seq, name, state, fold, head_hash,
      search_keys)
    SELECT id, type, status, flags, tracking_id, registration_number, assigned_to,
      created_at_location, created_by, created_at, updated_at, seq, name, state, fold, head_hash,
      search_keys
    FROM jsonb_to_recordset(${json}::jsonb) AS x(id uuid, type text, status text, flags text[],
      tracking_id text, registration_number text, assigned_to uuid, created_at_location text,
      created_by uuid, created_at timestamptz, updated_at timestamptz, seq integer, name text,
      state jsonb, fold jsonb, head_hash text, search_keys text[])
    ON CONFLICT (id) DO UPDATE SET status = excluded.status, flags = excluded.flags,
      registration_number = excluded.registration_number, assigned_to = excluded.assigned_to,
      updated_at = excluded.updated_at, seq = excluded.seq, name = excluded.name,
      state = excluded.state, fold = excluded.fold, head_hash = excluded.head_hash,
      search_keys = excluded.search_keys`;
}

/** Inserts or replaces read-model rows. */
export async function upsertRecords(
  db: Kysely<Database>,
  rows: RecordRow[],
  table: 'records' | 'records_rebuild' = 'records',
): Promise<void> {
  if (rows.length > 0) await upsertRecordsStatement(rows, table).execute(db);
}

/** The columns of `records` that a read-model row fills, in the order of `recordCopyLine`. */
export const RECORD_COPY_COLUMNS = [
  'id',
  'type',
  'status',
  'flags',
  'tracking_id',
  'registration_number',
  'assigned_to',
  'created_at_location',
  'created_by',
  'created_at',
  'updated_at',
  'seq',
  'name',
  'state',
  'fold',
  'head_hash',
  'search_keys',
] as const;

/**
 * A read-model row as one line of COPY's text format (columns `RECORD_COPY_COLUMNS`): the same
 * values as the upsert's, arrays as array literals and JSON as jsonb input.
 */
export function recordCopyLine(row: RecordRow): string {
  const columns = toColumns(row);
  return `${RECORD_COPY_COLUMNS.map((column) => copyValue(column, columns[column])).join('\t')}\n`;
}

function copyValue(column: (typeof RECORD_COPY_COLUMNS)[number], value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  if (column === 'flags' || column === 'search_keys') {
    return copyText(arrayLiteral(value as unknown[]));
  }
  if (column === 'state' || column === 'fold') return copyText(JSON.stringify(value));
  return copyText(String(value));
}

/** A text[] literal, every element quoted. */
function arrayLiteral(values: unknown[]): string {
  return `{${values.map((v) => `"${String(v).replace(/[\\"]/g, '\\$&')}"`).join(',')}}`;
}

/** A value escaped for COPY's text format. */
function copyText(text: string): string {
  return text.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c] as string);
}

const COPY_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
};

function toColumns({ state, carry, headHash, name, keys }: RecordRow) {
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
    search_keys: keys,
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

/** One word of `q`, as index keys (core's wordKeys). */
export interface WordQuery {
  exact: string;
  phonetic: string[];
  fuzzy: string[];
}

/** What `q` looks for: its words, and a tracking id fragment when it can be one. */
export interface NameQuery {
  words: WordQuery[];
  trackingFragment: string | null;
}

export interface RecordFilter {
  types: { type: string; locations: string[] | null }[];
  assignedToMe: string;
  type?: string | undefined;
  status?: string | undefined;
  flag?: string | undefined;
  q?: NameQuery | undefined;
  /** Identifier keys (core's identifierKey) the record must all hold: `?field.<id>=`. */
  identifiers?: string[] | undefined;
  trackingId?: string | undefined;
  registrationNumber?: string | undefined;
  locations?: string[] | undefined;
  assignedTo?: string | undefined;
  /** Keyset: the sort key and id of the last row of the previous page. */
  after?: { key: string; id: string } | undefined;
  limit: number;
}

/** The tiers of a `q` search, in the order their records come (PROTOCOL 10). */
const TRACKING_TIER = 0;
const ALL_WORDS_TIER = 1;
const SOME_WORDS_TIER = 2;

/** A `q` page key: the tier, then the rank within it. */
export function parseSearchKey(key: string): { tier: number; rank: number } | null {
  const match = /^([0-2]):(\d{1,6})$/.exec(key);
  return match ? { tier: Number(match[1]), rank: Number(match[2]) } : null;
}

const allKeys = (word: WordQuery) => [word.exact, ...word.phonetic, ...word.fuzzy];

/**
 * One page of records in reach matching the filter. Without `q`, newest change first. With `q`,
 * in tiers, each read through the GIN index of `search_keys` (or the trigram index of the
 * tracking id) and only as far as the page needs: records whose tracking id holds `q`, then
 * records matching every word, by how (exact 3, by sound 2, by a typo 1, summed over the words),
 * then records matching some, newest first; the id breaks ties.
 */
export async function listRecords(
  db: Kysely<Database>,
  filter: RecordFilter,
): Promise<{ state: RecordState; key: string }[]> {
  const where = [reachCondition({ types: filter.types, assignedTo: filter.assignedToMe })];
  if (filter.type) where.push(sql`r.type = ${filter.type}`);
  if (filter.status) where.push(sql`r.status = ${filter.status}`);
  if (filter.flag) where.push(sql`r.flags @> ARRAY[${filter.flag}]::text[]`);
  if (filter.identifiers && filter.identifiers.length > 0) {
    where.push(sql`r.search_keys @> ${filter.identifiers}::text[]`);
  }
  if (filter.trackingId) where.push(sql`r.tracking_id = ${filter.trackingId}`);
  if (filter.registrationNumber)
    where.push(sql`r.registration_number = ${filter.registrationNumber}`);
  if (filter.locations) where.push(sql`r.created_at_location = ANY(${filter.locations}::text[])`);
  if (filter.assignedTo) where.push(sql`r.assigned_to = ${filter.assignedTo}::uuid`);

  if (filter.q) return searchByName(db, where, filter.q, filter);

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

async function searchByName(
  db: Kysely<Database>,
  where: RawBuilder<unknown>[],
  q: NameQuery,
  filter: RecordFilter,
): Promise<{ state: RecordState; key: string }[]> {
  const after = filter.after ? parseSearchKey(filter.after.key) : null;
  const fragment = q.trackingFragment;
  const byTracking = fragment ? sql`r.tracking_id LIKE ${`%${fragment}%`}` : null;
  const matches = q.words.map((word) => sql`r.search_keys && ${allKeys(word)}::text[]`);
  const everyWord = matches.length > 0 ? sql`(${sql.join(matches, sql` AND `)})` : null;
  const anyWord =
    matches.length > 0 ? sql`r.search_keys && ${q.words.flatMap(allKeys)}::text[]` : null;
  const quality = q.words.map(
    (word) => sql`CASE WHEN r.search_keys @> ARRAY[${word.exact}]::text[] THEN 3
      WHEN r.search_keys && ${word.phonetic}::text[] THEN 2
      WHEN r.search_keys && ${word.fuzzy}::text[] THEN 1 ELSE 0 END`,
  );
  const matched = matches.map((m) => sql`(CASE WHEN ${m} THEN 100 ELSE 0 END)`);
  const rank = quality.length > 0 ? sql`(${sql.join([...matched, ...quality], sql` + `)})` : sql`0`;

  const tiers: {
    tier: number;
    condition: RawBuilder<unknown> | null;
    rank: RawBuilder<unknown>;
  }[] = [
    { tier: TRACKING_TIER, condition: byTracking, rank: sql`0` },
    {
      tier: ALL_WORDS_TIER,
      condition: everyWord && (byTracking ? sql`${everyWord} AND NOT ${byTracking}` : everyWord),
      rank,
    },
    {
      // With one word, every record matching some words matches them all. Newest first: for
      // common names this tier holds tens of thousands of records at 1,000,000, and ranking them
      // all meant reading every one (1.9 s); by id the planner stops at the page's end
      // (bench/README.md, Search).
      tier: SOME_WORDS_TIER,
      condition:
        anyWord && everyWord && q.words.length > 1
          ? sql`${anyWord} AND NOT ${everyWord}${byTracking ? sql` AND NOT ${byTracking}` : sql``}`
          : null,
      rank: sql`0`,
    },
  ];
  const rows: { state: RecordState; key: string }[] = [];
  for (const { tier, condition, rank: rankOf } of tiers) {
    if (condition === null || rows.length >= filter.limit) continue;
    if (after && after.tier > tier) continue;
    const conditions = [...where, condition];
    if (after && filter.after && after.tier === tier) {
      conditions.push(sql`(${rankOf}, r.id) < (${after.rank}, ${filter.after.id}::uuid)`);
    }
    const result = await sql<{ state: RecordState; rank: number }>`
      SELECT r.state, ${rankOf} AS rank FROM records r
      WHERE ${sql.join(conditions, sql` AND `)}
      ORDER BY rank DESC, r.id DESC LIMIT ${filter.limit - rows.length}`.execute(db);
    for (const row of result.rows) rows.push({ state: row.state, key: `${tier}:${row.rank}` });
  }
  return rows;
}
