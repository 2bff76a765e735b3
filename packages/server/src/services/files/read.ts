import { inReach, type HeldFile } from '@registra/core';
import { findFileAccess } from '../../store/files.js';
import type { Caller, Registry } from '../context.js';
import { notFound } from '../problem.js';

/**
 * PROTOCOL 9's read rule: a held file answers a caller who uploaded it or can see a record whose
 * log names it; anyone else gets the same 404 as for bytes never uploaded, so that a hash reveals
 * nothing.
 */
export async function readableFile(
  registry: Registry,
  caller: Caller,
  sha256: string,
): Promise<{ file: HeldFile; recordIds: string[] }> {
  const access = await findFileAccess(registry.db, sha256, caller.user.id);
  const records = (access?.records ?? []).filter((record) =>
    inReach(caller.principal, registry.config, record),
  );
  if (!access || (!access.uploadedByCaller && records.length === 0)) {
    throw notFound('no such file');
  }
  // The records in the caller's reach that name it: a read of the file is a read of them.
  return { file: access.file, recordIds: records.map((record) => record.id) };
}
