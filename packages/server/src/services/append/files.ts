import {
  filesIn,
  type Action,
  type Declaration,
  type HeldFile,
  type RegistryConfig,
} from '@registra/core';
import type { Kysely, RawBuilder } from 'kysely';
import type { Database } from '../../db/schema.js';
import type { NewEntry } from '../../store/entries.js';
import {
  insertFileReferencesStatement,
  lockHeldFiles,
  type FileReferenceRow,
} from '../../store/files.js';

/**
 * The files a request's file fields name that the server holds, in one query (none when the
 * request names no file), locked in share mode so that the cleanup leaves them alone until the
 * request's transaction ends. core's decideAction asks `file(sha256)` of the answer: a file not in
 * it is FILE_MISSING (PROTOCOL 9).
 */
export async function findHeldFiles(
  trx: Kysely<Database>,
  config: RegistryConfig,
  actions: Action[],
  typeOf: (recordId: string) => string | undefined,
): Promise<Map<string, HeldFile>> {
  // A record created in this request has its type on its CREATE only.
  const created = new Map(
    actions.flatMap((a) => (a.recordType ? [[a.recordId, a.recordType]] : [])),
  );
  const hashes = new Set<string>();
  for (const action of actions) {
    const recordType = config.recordTypes.get(
      typeOf(action.recordId) ?? created.get(action.recordId) ?? '',
    );
    if (!recordType || !action.declaration) continue;
    for (const { sha256 } of filesIn(recordType, action.declaration)) hashes.add(sha256);
  }
  return lockHeldFiles(trx, [...hashes]);
}

/**
 * The references of the entries a request appended, written in the same transaction: an
 * accepted or requested entry keeps its files as long as the log; a rejected one only lets the
 * record's readers read them while they are held.
 */
export function fileReferenceWrites(
  config: RegistryConfig,
  entries: readonly NewEntry[],
): RawBuilder<unknown>[] {
  const rows: FileReferenceRow[] = [];
  for (const entry of entries) {
    const recordType = config.recordTypes.get(entry.recordType);
    const declaration = entry.body['declaration'] as Declaration | undefined;
    if (!recordType || !declaration) continue;
    for (const { sha256 } of filesIn(recordType, declaration)) {
      rows.push({
        sha256,
        recordId: entry.recordId,
        entryId: entry.id,
        kept: entry.status !== 'rejected',
      });
    }
  }
  return rows.length > 0 ? [insertFileReferencesStatement(rows)] : [];
}
