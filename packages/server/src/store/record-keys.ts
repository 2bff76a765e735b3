import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../db/schema.js';

/** A record's data key as stored: wrapped by a KEK, or null once erased (PROTOCOL 13). */
export interface StoredRecordKey {
  recordId: string;
  recordType: string;
  kekId: string;
  wrapped: Buffer | null;
}

interface KeyRow {
  record_id: string;
  record_type: string;
  kek_id: string;
  wrapped: Buffer | null;
}

const toKey = (r: KeyRow): StoredRecordKey => ({
  recordId: r.record_id,
  recordType: r.record_type,
  kekId: r.kek_id,
  wrapped: r.wrapped,
});

export async function findRecordKeys(
  db: Kysely<Database>,
  recordIds: string[],
): Promise<StoredRecordKey[]> {
  if (recordIds.length === 0) return [];
  const result = await sql<KeyRow>`
    SELECT record_id, record_type, kek_id, wrapped FROM record_keys
    WHERE record_id = ANY(${recordIds}::uuid[])`.execute(db);
  return result.rows.map(toKey);
}

/** The keys of the records whose ids lie in (after, upTo] (a rebuild's range). */
export async function findRecordKeysInRange(
  db: Kysely<Database>,
  range: { after: string | null; upTo: string | null },
): Promise<StoredRecordKey[]> {
  const result = await sql<KeyRow>`
    SELECT record_id, record_type, kek_id, wrapped FROM record_keys
    WHERE record_id > ${range.after ?? '00000000-0000-0000-0000-000000000000'}::uuid
      AND record_id <= ${range.upTo ?? 'ffffffff-ffff-ffff-ffff-ffffffffffff'}::uuid`.execute(db);
  return result.rows.map(toKey);
}

/** The INSERT of new records' keys, for an append's writeAll; a second key for a record fails. */
export function insertRecordKeysStatement(keys: StoredRecordKey[]): RawBuilder<unknown> {
  const json = JSON.stringify(
    keys.map((k) => ({
      record_id: k.recordId,
      record_type: k.recordType,
      kek_id: k.kekId,
      wrapped: k.wrapped?.toString('base64') ?? null,
    })),
  );
  return sql`
    INSERT INTO record_keys (record_id, record_type, kek_id, wrapped)
    SELECT record_id, record_type, kek_id, decode(wrapped, 'base64')
    FROM jsonb_to_recordset(${json}::jsonb)
      AS x(record_id uuid, record_type text, kek_id text, wrapped text)`;
}

/** Destroys a record's data key; false when it has none or it was erased before. */
export async function eraseRecordKey(
  db: Kysely<Database>,
  recordId: string,
  erasedBy: string,
): Promise<boolean> {
  const result = await sql`
    UPDATE record_keys SET wrapped = NULL, erased_at = now(), erased_by = ${erasedBy}
    WHERE record_id = ${recordId}::uuid AND wrapped IS NOT NULL`.execute(db);
  return Number(result.numAffectedRows ?? 0) === 1;
}

/** When and by whom a record's key was erased, or null. */
export async function findErasure(
  db: Kysely<Database>,
  recordId: string,
): Promise<{ erasedAt: string; erasedBy: string } | null> {
  const result = await sql<{ erased_at: Date; erased_by: string }>`
    SELECT erased_at, erased_by FROM record_keys
    WHERE record_id = ${recordId}::uuid AND erased_at IS NOT NULL`.execute(db);
  const row = result.rows[0];
  return row ? { erasedAt: row.erased_at.toISOString(), erasedBy: row.erased_by } : null;
}

/** Keys still wrapped by another KEK than `kekId`, a page at a time. */
export async function keysToRewrap(
  db: Kysely<Database>,
  kekId: string,
  limit: number,
): Promise<StoredRecordKey[]> {
  const result = await sql<KeyRow>`
    SELECT record_id, record_type, kek_id, wrapped FROM record_keys
    WHERE kek_id <> ${kekId} AND wrapped IS NOT NULL ORDER BY record_id LIMIT ${limit}`.execute(db);
  return result.rows.map(toKey);
}

/**
 * Stores a key re-wrapped, unless it changed meanwhile (erased, or re-wrapped by another run):
 * the data key itself, and so the log, are untouched.
 */
export async function replaceWrappedKey(
  db: Kysely<Database>,
  old: StoredRecordKey,
  kekId: string,
  wrapped: Buffer,
): Promise<void> {
  await sql`
    UPDATE record_keys SET kek_id = ${kekId}, wrapped = ${wrapped}
    WHERE record_id = ${old.recordId}::uuid AND kek_id = ${old.kekId}
      AND wrapped = ${old.wrapped}`.execute(db);
}

/** The KEKs that wrap at least one data key. */
export async function kekIdsInUse(db: Kysely<Database>): Promise<string[]> {
  const result = await sql<{ kek_id: string }>`
    SELECT DISTINCT kek_id FROM record_keys WHERE wrapped IS NOT NULL`.execute(db);
  return result.rows.map((r) => r.kek_id);
}
