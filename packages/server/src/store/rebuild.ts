import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { loadChains, type StoredLink } from './entries.js';
import { RECORD_COPY_COLUMNS } from './records.js';

/**
 * The SQL of `registra rebuild` and `verify`: a fresh read-model table shaped like `records`
 * (whatever the migrations made of it), loaded without its secondary indexes, then swapped in.
 */

/** A secondary index of `records`: its name and its definition as PostgreSQL prints it. */
export interface IndexDefinition {
  name: string;
  definition: string;
}

/**
 * Drops any earlier attempt and creates `records_rebuild` with the columns, defaults and checks of
 * `records` and only its primary key (the catch-up upserts on it). Returns the other indexes of
 * `records`, to be built on the new table once it is loaded: building an index once over the whole
 * table costs far less than keeping it up to date batch by batch.
 */
export async function createRebuildTable(db: Kysely<Database>): Promise<IndexDefinition[]> {
  await sql`DROP TABLE IF EXISTS records_rebuild`.execute(db);
  await sql`
    CREATE TABLE records_rebuild (LIKE records INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`.execute(
    db,
  );
  await sql`ALTER TABLE records_rebuild ADD CONSTRAINT records_rebuild_pkey PRIMARY KEY (id)`.execute(
    db,
  );
  const indexes = await sql<{ indexname: string; indexdef: string }>`
    SELECT indexname, indexdef FROM pg_indexes
    WHERE schemaname = current_schema() AND tablename = 'records' AND indexname <> 'records_pkey'
    ORDER BY indexname`.execute(db);
  return indexes.rows.map((r) => ({ name: r.indexname, definition: r.indexdef }));
}

const rebuildName = (name: string) => `${name.slice(0, 50)}_rebuild`;

/** Builds each index of `records` on `records_rebuild`, under a temporary name. */
export async function createRebuildIndexes(
  db: Kysely<Database>,
  indexes: IndexDefinition[],
): Promise<void> {
  await Promise.all(
    indexes.map(({ name, definition }) => {
      // "CREATE INDEX records_name ON public.records USING gin (...)": same index, other table.
      const match = /^(CREATE (?:UNIQUE )?INDEX )\S+ ON \S+( USING .*)$/s.exec(definition);
      if (!match) throw new Error(`cannot rebuild the index ${name}: ${definition}`);
      const statement = `${match[1]}${quoteId(rebuildName(name))} ON records_rebuild${match[2]}`;
      return sql.raw(statement).execute(db);
    }),
  );
}

function quoteId(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Replaces `records` with `records_rebuild`, indexes renamed to their usual names. */
export async function swapRebuildTable(
  trx: Kysely<Database>,
  indexes: IndexDefinition[],
): Promise<void> {
  await sql`DROP TABLE records`.execute(trx);
  await sql`ALTER TABLE records_rebuild RENAME TO records`.execute(trx);
  await sql`ALTER INDEX records_rebuild_pkey RENAME TO records_pkey`.execute(trx);
  for (const { name } of indexes) {
    await sql`ALTER INDEX ${sql.id(rebuildName(name))} RENAME TO ${sql.id(name)}`.execute(trx);
  }
}

/** Records of `records` that are missing from `records_rebuild`, or whose log grew since. */
export async function staleRebuildIds(trx: Kysely<Database>): Promise<string[]> {
  const stale = await sql<{ id: string }>`
    SELECT r.id FROM records r LEFT JOIN records_rebuild n ON n.id = r.id
    WHERE n.id IS NULL OR n.seq <> r.seq`.execute(trx);
  return stale.rows.map((r) => r.id);
}

/** Record ids after `after` (none: from the first) up to `upTo` included (none: to the last). */
export interface RecordRange {
  after: string | null;
  upTo: string | null;
}

/**
 * The record ids cut into consecutive ranges of `size` records (the last may be shorter), from the
 * first record to the last one there is now: records created later fall after every range and are
 * left to the rebuild's catch-up. No range when the log is empty.
 */
export async function recordRanges(db: Kysely<Database>, size: number): Promise<RecordRange[]> {
  // seq 1 is each record's first entry: one row per record, through the (record_id, seq) key.
  const bounds = await sql<{ record_id: string }>`
    SELECT record_id FROM (
      SELECT record_id, row_number() OVER (ORDER BY record_id) AS n, count(*) OVER () AS total
      FROM entries WHERE seq = 1) AS numbered
    WHERE n % ${size} = 0 OR n = total
    ORDER BY record_id`.execute(db);
  let after: string | null = null;
  return bounds.rows.map(({ record_id: upTo }) => {
    const range = { after, upTo };
    after = upTo;
    return range;
  });
}

/**
 * Streams the log of a range of records (default: all) with its chain, record by record, in
 * batches small enough to hold.
 */
export async function* recordLogs(
  db: Kysely<Database>,
  batchSize = 2000,
  range: RecordRange = { after: null, upTo: null },
): AsyncGenerator<StoredLink[][]> {
  let after = range.after ?? '00000000-0000-0000-0000-000000000000';
  const upTo = range.upTo ?? 'ffffffff-ffff-ffff-ffff-ffffffffffff';
  for (;;) {
    const ids = await sql<{ record_id: string }>`
      SELECT record_id FROM entries
      WHERE record_id > ${after}::uuid AND record_id <= ${upTo}::uuid AND seq = 1
      ORDER BY record_id LIMIT ${batchSize}`.execute(db);
    const batch = ids.rows.map((r) => r.record_id);
    if (batch.length === 0) return;
    yield [...(await loadChains(db, batch)).values()];
    after = batch[batch.length - 1] as string;
  }
}

/** The COPY that loads read-model rows (records.ts `recordCopyLine`) into the fresh table. */
export const COPY_INTO_REBUILD = `COPY records_rebuild (${RECORD_COPY_COLUMNS.join(', ')}) FROM STDIN`;

/** The read-model rows of the given records, as stored. */
export async function readModelRows(
  db: Kysely<Database>,
  ids: string[],
): Promise<
  Map<
    string,
    { state: unknown; fold: unknown; name: string; head_hash: string | null; search_keys: string[] }
  >
> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('records')
    .select(['id', 'state', 'fold', 'name', 'head_hash', 'search_keys'])
    .where('id', 'in', ids)
    .execute();
  return new Map(rows.map((r) => [r.id, r]));
}

/** Read-model rows whose record has no log. */
export async function orphanRecordIds(db: Kysely<Database>): Promise<string[]> {
  const orphans = await sql<{ id: string }>`
    SELECT r.id FROM records r
    WHERE NOT EXISTS (SELECT 1 FROM entries e WHERE e.record_id = r.id)`.execute(db);
  return orphans.rows.map((r) => r.id);
}
