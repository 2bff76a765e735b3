import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

/** One read as the audit keeps it. */
export interface ReadAuditRow {
  at: string;
  userId: string;
  role: string;
  route: string;
  kind: 'read' | 'search' | 'export';
  recordIds: string[];
  query: Record<string, unknown> | null;
}

/** Appends reads, as one statement with one parameter whatever their number. */
export async function insertReads(
  db: Kysely<Database>,
  rows: readonly ReadAuditRow[],
): Promise<void> {
  if (rows.length === 0) return;
  const json = JSON.stringify(
    rows.map((r) => ({
      at: r.at,
      user_id: r.userId,
      role: r.role,
      route: r.route,
      kind: r.kind,
      record_ids: r.recordIds,
      query: r.query,
    })),
  );
  await sql`
    INSERT INTO read_audit (at, user_id, role, route, kind, record_ids, query)
    SELECT at, user_id, role, route, kind, record_ids, query
    FROM jsonb_to_recordset(${json}::jsonb) AS x(at timestamptz, user_id uuid, role text,
      route text, kind text, record_ids uuid[], query jsonb)`.execute(db);
}

/** The reads of one record, newest first, in keyset pages (`after`: the last row's id). */
export async function readsOf(
  db: Kysely<Database>,
  recordId: string,
  limit: number,
  after: string | null,
): Promise<
  ({ id: string; at: Date } & Pick<ReadAuditRow, 'userId' | 'role' | 'route' | 'kind'>)[]
> {
  const rows = await sql<{
    id: string;
    at: Date;
    user_id: string;
    role: string;
    route: string;
    kind: ReadAuditRow['kind'];
  }>`
    SELECT id::text, at, user_id, role, route, kind FROM read_audit
    WHERE record_ids @> ARRAY[${recordId}::uuid]
      AND (${after}::bigint IS NULL OR id < ${after}::bigint)
    ORDER BY id DESC LIMIT ${limit}`.execute(db);
  return rows.rows.map((r) => ({
    id: r.id,
    at: r.at,
    userId: r.user_id,
    role: r.role,
    route: r.route,
    kind: r.kind,
  }));
}
