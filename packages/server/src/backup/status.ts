import type { DB } from '../db/database.js';
import type { BackupStatus } from '../http/metrics.js';
import { latestBackupRuns } from '../store/backup-runs.js';

/** What the metrics show of backups: the latest base backup and restore test. */
export async function backupStatus(db: DB): Promise<BackupStatus> {
  const [baseBackup, restoreTest] = await Promise.all([
    latestBackupRuns(db, 'base-backup'),
    latestBackupRuns(db, 'restore-test'),
  ]);
  return { baseBackup, restoreTest };
}
