import { takeBaseBackup, type BackupSource, type BaseBackupInfo } from './base-backup.js';
import { planPruning, type Retention } from './retention.js';
import type { BackupTarget } from './target.js';

/** A base backup, taken into the backup directory and kept by the target (uploaded to S3). */
export async function backUp(source: BackupSource, target: BackupTarget): Promise<BaseBackupInfo> {
  const taken = await takeBaseBackup(source, target.dir);
  return target.store(taken);
}

export interface PruneReport {
  kept: string[];
  removed: string[];
  segments: number;
}

/**
 * Removes the base backups the retention lets go, and the archived WAL that no kept backup
 * needs (backup/retention.ts says which).
 */
export async function prune(
  target: BackupTarget,
  retention: Retention,
  now = new Date(),
): Promise<PruneReport> {
  const plan = planPruning(await target.list(), retention, now);
  const { segments } = await target.remove(plan.removed, plan.walBefore);
  return {
    kept: plan.kept.map((b) => b.label),
    removed: plan.removed.map((b) => b.label),
    segments,
  };
}
