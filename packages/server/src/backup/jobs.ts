import { z } from 'zod';
import { defineTask, type JobQueue } from '../jobs/index.js';
import type { Registry } from '../services/context.js';
import { saveBackupRun } from '../store/backup-runs.js';
import { backUp, prune } from './backup.js';
import type { BackupSource } from './base-backup.js';
import { runRestoreTest } from './restore-test.js';
import type { Retention } from './retention.js';
import type { BackupTarget } from './target.js';

/** Where and when backups are taken and proven (REGISTRA_BACKUP_*). */
export interface BackupSettings {
  target: BackupTarget;
  source: BackupSource;
  /** Crontab patterns (server time). */
  schedule: string;
  restoreTestSchedule: string;
  retention: Retention;
}

/**
 * A base backup, recorded in backup_runs, then the pruning of what the retention lets go; a
 * failure is recorded too, then retried by the queue.
 */
export function baseBackupTask(registry: Registry, settings: BackupSettings) {
  return defineTask('backup.base', z.object({}), async (_payload, job) => {
    const started = performance.now();
    try {
      const info = await backUp(settings.source, settings.target);
      await saveBackupRun(registry.db, {
        kind: 'base-backup',
        label: info.label,
        ok: true,
        seconds: (performance.now() - started) / 1000,
        bytes: info.bytes,
      });
    } catch (error) {
      await saveBackupRun(registry.db, {
        kind: 'base-backup',
        label: null,
        ok: false,
        seconds: (performance.now() - started) / 1000,
        message: (error instanceof Error ? error.message : String(error)).slice(0, 4000),
      });
      throw error;
    }
    const pruned = await prune(settings.target, settings.retention, registry.now());
    if (pruned.removed.length > 0 || pruned.segments > 0) {
      job.logger.info(
        `backups: removed ${pruned.removed.length} base backups and ${pruned.segments} WAL ` +
          `segments from ${settings.target.description}; kept ${pruned.kept.length}`,
      );
    }
  });
}

/** The restore test: its outcome is the metric, so a failed test completes (it is not retried). */
export function restoreTestTask(registry: Registry, settings: BackupSettings) {
  return defineTask('backup.restore-test', z.object({}), async (_payload, job) => {
    const run = await runRestoreTest(registry, settings.source, settings.target);
    if (!run.ok)
      job.logger.error(`restore test of ${run.label ?? 'no backup'} failed: ${run.message ?? ''}`);
  });
}

/** Uploads the WAL archived since the last time (S3 target; nothing to do for a directory). */
export function shipWalTask(settings: BackupSettings) {
  return defineTask('backup.ship-wal', z.object({}), async () => {
    await settings.target.shipWal();
  });
}

/** Schedules them on the server's queue; WAL goes to a bucket every minute. */
export function scheduleBackups(
  jobs: JobQueue,
  registry: Registry,
  settings: BackupSettings,
): void {
  jobs.cron(baseBackupTask(registry, settings), settings.schedule, {});
  jobs.cron(restoreTestTask(registry, settings), settings.restoreTestSchedule, {});
  if (settings.target.remote) jobs.cron(shipWalTask(settings), '* * * * *', {});
}
