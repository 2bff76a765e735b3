import type { RecordState } from '@registra/core';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

/** What candidate generation asks the index for (services/deduplication/candidates.ts). */
export interface CandidateQuery {
  type: string;
  recordId: string;
  /** Any one block is enough; within a block, the record holds a key of every key set. */
  blocks: string[][][];
  /** Identifier keys: sharing any one is enough. */
  identifiers: string[];
  /** Only records created before this one (`dedup --all` flags each pair once, on the newer). */
  olderThan?: { createdAt: string; id: string } | undefined;
  limit: number;
}

/**
 * Records of the type, in any status but ARCHIVED, that the GIN index of `search_keys` finds by
 * the blocks or identifiers: never a scan of the register.
 */
export async function findCandidates(
  db: Kysely<Database>,
  query: CandidateQuery,
): Promise<Pick<RecordState, 'id' | 'declaration'>[]> {
  const found = [
    ...query.blocks.map(
      (block) =>
        sql`(${sql.join(
          block.map((keys) => sql`r.search_keys && ${keys}::text[]`),
          sql` AND `,
        )})`,
    ),
  ];
  if (query.identifiers.length > 0) {
    found.push(sql`r.search_keys && ${query.identifiers}::text[]`);
  }
  if (found.length === 0) return [];
  const older = query.olderThan
    ? sql`AND (r.created_at, r.id) < (${query.olderThan.createdAt}::timestamptz, ${query.olderThan.id}::uuid)`
    : sql``;
  // One lookup per block, joined by UNION: each is an AND that the GIN index answers by itself.
  // The lookups stand alone (MATERIALIZED), so that the planner cannot trade them for a scan of
  // the type's records filtered row by row (bench/README.md, Deduplication).
  const selects = found.map((condition) => sql`(SELECT r.id FROM records r WHERE ${condition})`);
  const statement = sql<Pick<RecordState, 'id' | 'declaration'>>`
    WITH found AS MATERIALIZED (${sql.join(selects, sql` UNION `)})
    SELECT r.id, r.state->'declaration' AS declaration FROM found JOIN records r USING (id)
    WHERE r.type = ${query.type} AND r.id <> ${query.recordId}::uuid
      AND r.status <> 'ARCHIVED' ${older}
    LIMIT ${query.limit}`;
  return db.transaction().execute(async (trx) => {
    await sql`SET LOCAL enable_seqscan = off`.execute(trx);
    return (await statement.execute(trx)).rows;
  });
}

/**
 * Records a reviewer already judged not to be duplicates of this one: the candidates of its
 * findings that a later MARK_NOT_DUPLICATE answered.
 */
export async function dismissedCandidates(
  db: Kysely<Database>,
  recordId: string,
): Promise<Set<string>> {
  const result = await sql<{ record_id: string }>`
    SELECT DISTINCT c->>'recordId' AS record_id
    FROM entries f, jsonb_array_elements(f.body->'annotation'->'candidates') AS c
    WHERE f.record_id = ${recordId}::uuid AND f.type = 'DUPLICATES_FOUND' AND f.status = 'accepted'
      AND EXISTS (SELECT 1 FROM entries m WHERE m.record_id = f.record_id AND m.seq > f.seq
                  AND m.type = 'MARK_NOT_DUPLICATE' AND m.status = 'accepted')`.execute(db);
  return new Set(result.rows.map((r) => r.record_id));
}

/** The next page of records of these types to deduplicate in bulk, in id order. */
export async function recordsToDeduplicate(
  db: Kysely<Database>,
  types: string[],
  after: string | null,
  limit: number,
): Promise<RecordState[]> {
  const result = await sql<{ state: RecordState }>`
    SELECT r.state FROM records r
    WHERE r.type = ANY(${types}::text[]) AND r.status <> 'ARCHIVED'
      AND r.id > ${after ?? '00000000-0000-0000-0000-000000000000'}::uuid
    ORDER BY r.id LIMIT ${limit}`.execute(db);
  return result.rows.map((row) => row.state);
}

/** How many records of these types a bulk run will look at. */
export async function countToDeduplicate(db: Kysely<Database>, types: string[]): Promise<number> {
  const result = await sql<{ n: string }>`
    SELECT count(*) AS n FROM records WHERE type = ANY(${types}::text[]) AND status <> 'ARCHIVED'`.execute(
    db,
  );
  return Number(result.rows[0]?.n ?? 0);
}
