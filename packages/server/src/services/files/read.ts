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
): Promise<HeldFile> {
  const access = await findFileAccess(registry.db, sha256, caller.user.id);
  const seen =
    access &&
    (access.uploadedByCaller ||
      access.records.some((record) => inReach(caller.principal, registry.config, record)));
  if (!access || !seen) throw notFound('no such file');
  return access.file;
}
