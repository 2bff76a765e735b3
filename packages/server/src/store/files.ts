import type { HeldFile, RecordHead } from '@registra/core';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../db/schema.js';

/**
 * The files among `hashes` that are held (stored and not condemned), locked in share mode until
 * the transaction ends: the cleanup cannot condemn a file while an append that names it is
 * deciding (services/files/cleanup.ts).
 */
export async function lockHeldFiles(
  trx: Kysely<Database>,
  hashes: string[],
): Promise<Map<string, HeldFile>> {
  if (hashes.length === 0) return new Map();
  const result = await sql<{ sha256: string; type: string; size: string }>`
    SELECT sha256, type, size FROM files
    WHERE sha256 = ANY(${hashes}::text[]) AND condemned_at IS NULL
    ORDER BY sha256 FOR SHARE`.execute(trx);
  return new Map(result.rows.map((r) => [r.sha256, { type: r.type, size: Number(r.size) }]));
}

/** A file an appended entry names. */
export interface FileReferenceRow {
  sha256: string;
  recordId: string;
  entryId: string;
  /** Named by an accepted or requested entry: kept as long as the log. */
  kept: boolean;
}

/** The INSERT of file references, as one statement with one parameter (see writeAll). */
export function insertFileReferencesStatement(rows: FileReferenceRow[]): RawBuilder<unknown> {
  return sql`
    INSERT INTO file_references (sha256, record_id, entry_id, kept)
    SELECT sha256, record_id, entry_id, kept
    FROM jsonb_to_recordset(${JSON.stringify(rows.map(toColumns))}::jsonb)
      AS x(sha256 text, record_id uuid, entry_id uuid, kept boolean)
    ON CONFLICT DO NOTHING`;
}

function toColumns(row: FileReferenceRow) {
  return { sha256: row.sha256, record_id: row.recordId, entry_id: row.entryId, kept: row.kept };
}

/**
 * Records an accepted upload: the file held (taken back if it was condemned), its uploader, and
 * the time the grace period counts from. Locks the file's row until the transaction ends, so that
 * the cleanup cannot delete the bytes meanwhile. Answers the held file as it was stored first.
 */
export async function recordUpload(
  trx: Kysely<Database>,
  upload: { sha256: string; type: string; size: number; userId: string; at: Date },
): Promise<HeldFile> {
  const { rows } = await sql<{ type: string; size: string }>`
    INSERT INTO files (sha256, type, size, first_uploaded_at, last_uploaded_at)
    VALUES (${upload.sha256}, ${upload.type}, ${upload.size}, ${upload.at}, ${upload.at})
    ON CONFLICT (sha256) DO UPDATE SET
      last_uploaded_at = GREATEST(files.last_uploaded_at, excluded.last_uploaded_at),
      condemned_at = NULL
    RETURNING type, size`.execute(trx);
  await sql`
    INSERT INTO file_uploaders (sha256, user_id, uploaded_at)
    VALUES (${upload.sha256}, ${upload.userId}, ${upload.at})
    ON CONFLICT (sha256, user_id) DO UPDATE SET uploaded_at = excluded.uploaded_at`.execute(trx);
  const row = rows[0] as { type: string; size: string };
  return { type: row.type, size: Number(row.size) };
}

/** What a read of a file needs: the file, whether the caller uploaded it, the records naming it. */
export interface FileAccess {
  file: HeldFile;
  uploadedByCaller: boolean;
  /** Heads of records whose log names the file (up to `limit`), for the reach rule. */
  records: RecordHead[];
}

/** A held file and what decides whether `userId` may read it; null when it is not held. */
export async function findFileAccess(
  db: Kysely<Database>,
  sha256: string,
  userId: string,
  limit = 1000,
): Promise<FileAccess | null> {
  const { rows } = await sql<{
    type: string;
    size: string;
    uploaded: boolean;
    records: RecordHead[] | null;
  }>`
    SELECT f.type, f.size,
      EXISTS (SELECT 1 FROM file_uploaders u WHERE u.sha256 = f.sha256 AND u.user_id = ${userId})
        AS uploaded,
      (SELECT jsonb_agg(jsonb_build_object('id', r.id, 'type', r.type,
          'createdAtLocation', r.created_at_location, 'assignedTo', r.assigned_to))
        FROM (SELECT DISTINCT record_id FROM file_references WHERE sha256 = f.sha256
              LIMIT ${limit}) x
        JOIN records r ON r.id = x.record_id) AS records
    FROM files f WHERE f.sha256 = ${sha256} AND f.condemned_at IS NULL`.execute(db);
  const row = rows[0];
  if (!row) return null;
  return {
    file: { type: row.type, size: Number(row.size) },
    uploadedByCaller: row.uploaded,
    records: row.records ?? [],
  };
}

/**
 * Condemns up to `limit` files that no accepted or requested entry names and whose last upload
 * is older than `cutoff`. The candidates are locked first, skipping files an append holds in
 * share mode; the second statement sees every reference committed before the locks were taken,
 * and no append can name a locked file until this transaction ends.
 */
export async function condemnUnreferencedFiles(
  trx: Kysely<Database>,
  cutoff: Date,
  at: Date,
  limit: number,
): Promise<number> {
  const { rows: locked } = await sql<{ sha256: string }>`
    SELECT sha256 FROM files f
    WHERE condemned_at IS NULL AND last_uploaded_at < ${cutoff}
      AND NOT EXISTS (SELECT 1 FROM file_references r WHERE r.sha256 = f.sha256 AND r.kept)
    ORDER BY last_uploaded_at LIMIT ${limit}
    FOR UPDATE SKIP LOCKED`.execute(trx);
  if (locked.length === 0) return 0;
  const { rows } = await sql<{ sha256: string }>`
    UPDATE files f SET condemned_at = ${at}
    WHERE sha256 = ANY(${locked.map((r) => r.sha256)}::text[])
      AND last_uploaded_at < ${cutoff}
      AND NOT EXISTS (SELECT 1 FROM file_references r WHERE r.sha256 = f.sha256 AND r.kept)
    RETURNING sha256`.execute(trx);
  return rows.length;
}

/** The condemned files, oldest first: their bytes are to be deleted, then their rows. */
export async function findCondemnedFiles(db: Kysely<Database>, limit: number): Promise<string[]> {
  const { rows } = await sql<{ sha256: string }>`
    SELECT sha256 FROM files WHERE condemned_at IS NOT NULL
    ORDER BY condemned_at LIMIT ${limit}`.execute(db);
  return rows.map((r) => r.sha256);
}

/**
 * Locks a condemned file's row (null if it is no longer condemned: uploaded again meanwhile, or
 * already deleted), so that its bytes can be deleted before the row, under the lock.
 */
export async function lockCondemnedFile(trx: Kysely<Database>, sha256: string): Promise<boolean> {
  const { rows } = await sql<{ sha256: string }>`
    SELECT sha256 FROM files WHERE sha256 = ${sha256} AND condemned_at IS NOT NULL
    FOR UPDATE`.execute(trx);
  return rows.length > 0;
}

export async function deleteFileRow(trx: Kysely<Database>, sha256: string): Promise<void> {
  await sql`DELETE FROM files WHERE sha256 = ${sha256}`.execute(trx);
}
