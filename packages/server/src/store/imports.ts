import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../db/schema.js';

/** An import as stored: its source, its state and its counts (services/imports). */
export interface ImportRow {
  id: string;
  recordType: string;
  source: string;
  format: 'csv' | 'jsonl';
  createdBy: string;
  state: 'waiting' | 'running' | 'done' | 'failed';
  occurredAt: string;
  startedAt: string;
  finishedAt: string | null;
  bytesTotal: number | null;
  bytesDone: number;
  rowsDone: number;
  rowsImported: number;
  rowsRequested: number;
  rowsAlready: number;
  rowsFailed: number;
  message: string | null;
}

export interface ImportError {
  row: number;
  rowKey: string;
  field: string | null;
  message: string;
}

/** What one batch adds to an import's counts. */
export interface ImportCounts {
  bytesDone: number;
  rowsDone: number;
  rowsImported: number;
  rowsRequested: number;
  rowsAlready: number;
  rowsFailed: number;
}

const COLUMNS = sql`id, record_type AS "recordType", source, format, created_by AS "createdBy", state,
  occurred_at AS "occurredAt", started_at AS "startedAt", finished_at AS "finishedAt",
  bytes_total::float8 AS "bytesTotal", bytes_done::float8 AS "bytesDone", rows_done AS "rowsDone",
  rows_imported AS "rowsImported", rows_requested AS "rowsRequested", rows_already AS "rowsAlready",
  rows_failed AS "rowsFailed", message`;

type RawImportRow = Omit<ImportRow, 'occurredAt' | 'startedAt' | 'finishedAt'> & {
  occurredAt: Date;
  startedAt: Date;
  finishedAt: Date | null;
};

const toImport = (row: RawImportRow): ImportRow => ({
  ...row,
  occurredAt: row.occurredAt.toISOString(),
  startedAt: row.startedAt.toISOString(),
  finishedAt: row.finishedAt?.toISOString() ?? null,
});

/**
 * Starts (or starts again) the import of a source: its counts and errors are reset, and the time
 * its actions carry as `occurredAt` is kept from its first run, so that a re-run sends the same
 * actions and lands none of them twice.
 */
export async function openImport(
  db: Kysely<Database>,
  row: Pick<ImportRow, 'id' | 'recordType' | 'source' | 'format' | 'createdBy' | 'bytesTotal'> & {
    mapping: unknown;
    occurredAt: string;
    state: 'waiting' | 'running';
  },
): Promise<ImportRow> {
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<RawImportRow>`
      INSERT INTO imports (id, record_type, source, format, mapping, created_by, state, occurred_at, bytes_total)
      VALUES (${row.id}, ${row.recordType}, ${row.source}, ${row.format}, ${JSON.stringify(row.mapping)}::jsonb,
        ${row.createdBy}, ${row.state}, ${row.occurredAt}, ${row.bytesTotal})
      ON CONFLICT (id) DO UPDATE SET format = excluded.format, mapping = excluded.mapping,
        created_by = excluded.created_by, state = excluded.state, started_at = now(),
        finished_at = NULL, bytes_total = excluded.bytes_total, bytes_done = 0, rows_done = 0,
        rows_imported = 0, rows_requested = 0, rows_already = 0, rows_failed = 0, message = NULL
      RETURNING ${COLUMNS}`.execute(trx);
    await sql`DELETE FROM import_errors WHERE import_id = ${row.id}`.execute(trx);
    return toImport(rows[0] as RawImportRow);
  });
}

export async function findImport(db: Kysely<Database>, id: string): Promise<ImportRow | null> {
  const { rows } = await sql<RawImportRow>`SELECT ${COLUMNS} FROM imports WHERE id = ${id}`.execute(
    db,
  );
  return rows[0] ? toImport(rows[0]) : null;
}

/** The mapping an import was created with. */
export async function findImportMapping(db: Kysely<Database>, id: string): Promise<unknown> {
  const row = await db
    .selectFrom('imports')
    .select('mapping')
    .where('id', '=', id)
    .executeTakeFirst();
  return row?.mapping;
}

/** A batch's counts and errors, written in the transaction that appends its rows. */
export function importProgressStatements(
  id: string,
  counts: ImportCounts,
  errors: ImportError[],
): RawBuilder<unknown>[] {
  const statements: RawBuilder<unknown>[] = [
    sql`UPDATE imports SET state = 'running', bytes_done = bytes_done + ${counts.bytesDone},
      rows_done = rows_done + ${counts.rowsDone}, rows_imported = rows_imported + ${counts.rowsImported},
      rows_requested = rows_requested + ${counts.rowsRequested},
      rows_already = rows_already + ${counts.rowsAlready}, rows_failed = rows_failed + ${counts.rowsFailed}
      WHERE id = ${id}`,
  ];
  if (errors.length > 0) {
    statements.push(sql`
      INSERT INTO import_errors (import_id, row, row_key, field, message)
      SELECT ${id}::uuid, * FROM unnest(${errors.map((e) => e.row)}::int[], ${errors.map((e) => e.rowKey)}::text[],
        ${errors.map((e) => e.field)}::text[], ${errors.map((e) => e.message)}::text[])`);
  }
  return statements;
}

export async function finishImport(
  db: Kysely<Database>,
  id: string,
  state: 'done' | 'failed',
  message: string | null,
): Promise<void> {
  await sql`UPDATE imports SET state = ${state}, finished_at = now(), message = ${message}
    WHERE id = ${id}`.execute(db);
}

/** An import's errors of the rows after `afterRow` up to `throughRow`, in row order. */
export async function importErrorsPage(
  db: Kysely<Database>,
  id: string,
  afterRow: number,
  throughRow: number,
): Promise<ImportError[]> {
  const { rows } = await sql<ImportError>`
    SELECT row, row_key AS "rowKey", field, message FROM import_errors
    WHERE import_id = ${id} AND row > ${afterRow} AND row <= ${throughRow}
    ORDER BY row`.execute(db);
  return rows;
}

/**
 * The requests (PROTOCOL 3.4) an import's rows are waiting on: its entries still pending on their
 * records, after the entry id given, for an approver to confirm in pages.
 */
export async function pendingImportRequests(
  db: Kysely<Database>,
  importId: string,
  after: string | null,
  limit: number,
): Promise<{ id: string; recordId: string; type: string }[]> {
  const { rows } = await sql<{ id: string; recordId: string; type: string }>`
    SELECT e.id, e.record_id AS "recordId", e.type FROM entries e
    JOIN records r ON r.id = e.record_id
    WHERE e.status = 'requested' AND e.body -> 'annotation' ->> 'importId' = ${importId}
      AND r.state -> 'pending' @> jsonb_build_array(jsonb_build_object('id', e.id))
      AND (${after}::uuid IS NULL OR e.id > ${after}::uuid)
    ORDER BY e.id LIMIT ${limit}`.execute(db);
  return rows;
}
