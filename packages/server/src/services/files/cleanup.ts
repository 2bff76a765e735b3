import { z } from 'zod';
import { defineTask, type TaskDefinition } from '../../jobs/index.js';
import {
  condemnUnreferencedFiles,
  deleteFileRow,
  findCondemnedFiles,
  lockCondemnedFile,
} from '../../store/files.js';
import type { Registry } from '../context.js';
import type { FileStorage } from './storage.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Files condemned per transaction: bounded, so that no run holds many locks for long. */
const BATCH = 500;

export interface CleanupReport {
  /** Files deleted: referenced by no accepted or requested entry, past the grace period. */
  deleted: number;
  /** Uploads in progress deleted for having passed their expiration. */
  expiredUploads: number;
}

/**
 * The scheduled cleanup of files (PROTOCOL 9): a file that no accepted or requested entry names
 * is deleted once `files.graceDays` have passed since its last upload, never sooner, since an
 * offline device may name it later. A file named by such an entry is never touched.
 *
 * In two steps, so that a crash anywhere leaves nothing that says "held" without bytes behind it:
 * 1. condemn: in one transaction, mark the unreferenced files past their grace (services and the
 *    read rule count a condemned file as not held);
 * 2. for each condemned file, in its own transaction holding its row lock: delete the bytes, then
 *    the row. An upload of the same bytes meanwhile takes the file back (clears the mark) or, if it
 *    comes after, writes the bytes anew.
 * Uploads in progress older than the grace period are deleted too.
 */
export async function cleanUpFiles(
  registry: Registry,
  storage: FileStorage,
): Promise<CleanupReport> {
  const now = registry.now();
  const cutoff = new Date(now.getTime() - registry.config.document.files.graceDays * DAY_MS);
  for (;;) {
    const condemned = await registry.db
      .transaction()
      .execute((trx) => condemnUnreferencedFiles(trx, cutoff, now, BATCH));
    if (condemned < BATCH) break;
  }
  let deleted = 0;
  for (;;) {
    const hashes = await findCondemnedFiles(registry.db, BATCH);
    for (const sha256 of hashes) {
      const gone = await registry.db.transaction().execute(async (trx) => {
        if (!(await lockCondemnedFile(trx, sha256))) return false;
        await storage.delete(sha256);
        await deleteFileRow(trx, sha256);
        return true;
      });
      if (gone) deleted += 1;
    }
    if (hashes.length < BATCH) break;
  }
  const expiredUploads = await storage.deleteExpiredUploads();
  return { deleted, expiredUploads };
}

/** When the cleanup runs: every day at 03:17, server time (jobs/index.ts, a cron job). */
export const FILE_CLEANUP_SCHEDULE = '17 3 * * *';

/**
 * The cleanup as a job of the queue: one run at a time across every process. (Cron jobs carry a
 * `_cron` key of graphile-worker's in their payload: the schema lets it through.)
 */
export function fileCleanupTask(
  registry: Registry,
  storage: FileStorage,
): TaskDefinition<Record<string, never>> {
  return defineTask('files.cleanup', z.object({}), async (_payload, job) => {
    const report = await cleanUpFiles(registry, storage);
    job.logger.info(
      `files cleanup: ${report.deleted} files and ${report.expiredUploads} expired uploads deleted`,
    );
  });
}
