import type { QueueFilter, RecordState } from '@registra/core';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../db/schema.js';
import type { FeedScope } from './entries.js';
import { reachCondition } from './reach.js';

/**
 * core's `queueHolds` as SQL over the read model: the same conditions, so that the server's
 * queue and the device's hold the same records (packages/server/test/workqueues.test.ts checks
 * both on one data set).
 */
function filterConditions(filter: QueueFilter, personId: string): RawBuilder<unknown>[] {
  const where: RawBuilder<unknown>[] = [];
  if (filter.recordTypes) where.push(sql`r.type = ANY(${filter.recordTypes}::text[])`);
  if (filter.statuses) where.push(sql`r.status = ANY(${filter.statuses}::text[])`);
  if (filter.flags?.all?.length) where.push(sql`r.flags @> ${filter.flags.all}::text[]`);
  if (filter.flags?.any?.length) where.push(sql`r.flags && ${filter.flags.any}::text[]`);
  if (filter.flags?.none?.length) where.push(sql`NOT (r.flags && ${filter.flags.none}::text[])`);
  if (filter.assigned === 'me') where.push(sql`r.assigned_to = ${personId}::uuid`);
  if (filter.assigned === 'nobody') where.push(sql`r.assigned_to IS NULL`);
  if (filter.assigned === 'anyone') where.push(sql`r.assigned_to IS NOT NULL`);
  if (filter.createdByMe !== undefined)
    where.push(
      filter.createdByMe
        ? sql`r.created_by = ${personId}::uuid`
        : sql`r.created_by <> ${personId}::uuid`,
    );
  if (filter.printed !== undefined)
    where.push(
      filter.printed
        ? sql`(r.state->>'printCount')::int > 0`
        : sql`(r.state->>'printCount')::int = 0`,
    );
  if (filter.pendingRequest !== undefined)
    where.push(
      filter.pendingRequest
        ? sql`jsonb_array_length(r.state->'pending') > 0`
        : sql`jsonb_array_length(r.state->'pending') = 0`,
    );
  return where;
}

export interface QueueQuery {
  scope: FeedScope;
  filter: QueueFilter;
  personId: string;
  type?: string | undefined;
}

/**
 * How many records each queue holds, counting no further than `cap`: one statement (one
 * connection, however many queues a role has), each count a capped subquery.
 */
export async function countQueues(
  db: Kysely<Database>,
  queries: QueueQuery[],
  cap: number,
): Promise<number[]> {
  if (queries.length === 0) return [];
  const counts = queries.map((query, i) => {
    const where = [reachCondition(query.scope), ...filterConditions(query.filter, query.personId)];
    return sql`(SELECT count(*) FROM (
      SELECT 1 FROM records r WHERE ${sql.join(where, sql` AND `)} LIMIT ${cap}
    ) AS capped) AS ${sql.ref(`q${i}`)}`;
  });
  const result = await sql<Record<string, string>>`SELECT ${sql.join(counts, sql`, `)}`.execute(db);
  const row = result.rows[0] ?? {};
  return queries.map((_, i) => Number(row[`q${i}`] ?? 0));
}

/** One keyset page of a queue, by `updated_at` then id, newest first unless `ascending`. */
export async function readQueuePage(
  db: Kysely<Database>,
  query: QueueQuery & {
    ascending: boolean;
    after?: { key: string; id: string } | undefined;
    limit: number;
  },
): Promise<{ state: RecordState; key: string }[]> {
  const where = [reachCondition(query.scope), ...filterConditions(query.filter, query.personId)];
  if (query.type) where.push(sql`r.type = ${query.type}`);
  if (query.after) {
    const key = sql`(${query.after.key}::timestamptz, ${query.after.id}::uuid)`;
    where.push(
      query.ascending ? sql`(r.updated_at, r.id) > ${key}` : sql`(r.updated_at, r.id) < ${key}`,
    );
  }
  const direction = query.ascending ? sql`ASC` : sql`DESC`;
  const result = await sql<{ state: RecordState; key: Date }>`
    SELECT r.state, r.updated_at AS key FROM records r
    WHERE ${sql.join(where, sql` AND `)}
    ORDER BY r.updated_at ${direction}, r.id ${direction} LIMIT ${query.limit}`.execute(db);
  return result.rows.map((row) => ({ state: row.state, key: row.key.toISOString() }));
}
