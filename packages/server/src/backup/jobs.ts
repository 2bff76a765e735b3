import { z } from 'zod';
import { defineTask, type JobQueue } from '../jobs/index.js';
import type { Registry } from '../services/context.js';
import { saveBackupRun } from '../store/backup-runs.js';
import { takeBaseBackup, type BackupSource } from './base-backup.js';
import { runRestoreTest } from './restore-test.js';

/** Where and when backups are taken and proven (REGISTRA_BACKUP_*). */
export interface BackupSettings {
  dir: string;
  source: BackupSource;
  /** Crontab patterns (server time). */
  schedule: string;
  restoreTestSchedule: string;
}

/** A base backup, recorded in backup_runs; a failure is recorded too, then retried by the queue. */
export function baseBackupTask(registry: Registry, settings: BackupSettings) {
  return defineTask('backup.base', z.object({}), async () => {
    const started = performance.now();
    try {
      const info = await takeBaseBackup(settings.source, settings.dir);
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
  });
}

/** The restore test: its outcome is the metric, so a failed test completes (it is not retried). */
export function restoreTestTask(registry: Registry, settings: BackupSettings) {
  return defineTask('backup.restore-test', z.object({}), async (_payload, job) => {
    const run = await runRestoreTest(registry, settings.source, settings.dir);
    if (!run.ok)
      job.logger.error(`restore test of ${run.label ?? 'no backup'} failed: ${run.message ?? ''}`);
  });
}

/** Schedules both on the server's queue. */
export function scheduleBackups(
  jobs: JobQueue,
  registry: Registry,
  settings: BackupSettings,
): void {
  jobs.cron(baseBackupTask(registry, settings), settings.schedule, {});
  jobs.cron(restoreTestTask(registry, settings), settings.restoreTestSchedule, {});
}
