import type { DciOperator, RecordState } from '@registra/core';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../db/schema.js';

/** A DCI search as SQL sees it (services/dci/search.ts makes it from the partner's criteria). */
export interface DciRecordQuery {
  type: string;
  statuses: string[];
  /** Index keys (core's identifierKey) the record must all hold: through the GIN index. */
  identifierKeys: string[];
  registrationNumber?: string | undefined;
  /** Comparisons of a declaration field's value. */
  comparisons: {
    field: string;
    op: DciOperator;
    value: string | number | boolean | (string | number)[];
  }[];
  sort?: { field: string; order: 'asc' | 'desc' } | undefined;
  limit: number;
  offset: number;
}

const SQL_OPERATORS: Record<Exclude<DciOperator, 'in'>, RawBuilder<unknown>> = {
  eq: sql`=`,
  lt: sql`<`,
  gt: sql`>`,
  le: sql`<=`,
  ge: sql`>=`,
};

function comparison({
  field,
  op,
  value,
}: DciRecordQuery['comparisons'][number]): RawBuilder<unknown> {
  const text = sql`(r.state->'declaration'->>${field})`;
  if (op === 'in') {
    const values = (value as (string | number)[]).map(String);
    return sql`${text} = ANY(${values}::text[])`;
  }
  if (typeof value === 'boolean') {
    return op === 'eq'
      ? sql`(r.state->'declaration'->${field}) = to_jsonb(${value}::boolean)`
      : sql`false`;
  }
  if (typeof value === 'number') {
    // Only values that read as numbers compare; anything else never matches (and never fails).
    return sql`(CASE WHEN ${text} ~ '^-?[0-9]{1,15}(\\.[0-9]{1,15})?$' THEN ${text}::numeric END) ${SQL_OPERATORS[op]} ${value}::numeric`;
  }
  return sql`${text} ${SQL_OPERATORS[op]} ${value}::text`;
}

/** One page of the records matching, and how many match in all. */
export async function findDciRecords(
  db: Kysely<Database>,
  query: DciRecordQuery,
): Promise<{ records: RecordState[]; total: number }> {
  const where = [sql`r.type = ${query.type}`, sql`r.status = ANY(${query.statuses}::text[])`];
  if (query.identifierKeys.length > 0)
    where.push(sql`r.search_keys @> ${query.identifierKeys}::text[]`);
  if (query.registrationNumber !== undefined)
    where.push(sql`r.registration_number = ${query.registrationNumber}`);
  for (const c of query.comparisons) where.push(comparison(c));
  const order = query.sort
    ? sql`(r.state->'declaration'->>${query.sort.field}) ${query.sort.order === 'asc' ? sql`ASC` : sql`DESC`} NULLS LAST, r.id`
    : sql`r.id`;
  const result = await sql<{ state: RecordState; total: string }>`
    SELECT r.state, count(*) OVER () AS total FROM records r
    WHERE ${sql.join(where, sql` AND `)}
    ORDER BY ${order} LIMIT ${query.limit} OFFSET ${query.offset}`.execute(db);
  const total = result.rows[0] ? Number(result.rows[0].total) : 0;
  // Past the last page, the window count is not there: count on its own.
  if (result.rows.length === 0 && query.offset > 0) {
    const counted = await sql<{ total: string }>`
      SELECT count(*) AS total FROM records r WHERE ${sql.join(where, sql` AND `)}`.execute(db);
    return { records: [], total: Number(counted.rows[0]?.total ?? 0) };
  }
  return { records: result.rows.map((row) => row.state), total };
}
