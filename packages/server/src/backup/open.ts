import path from 'node:path';
import { backupS3Settings, type Env } from '../env.js';
import type { Retention } from './retention.js';
import { S3Target } from './s3-target.js';
import { DirectoryTarget, type BackupTarget } from './target.js';

/** Where backups are kept, by the environment: a bucket when REGISTRA_BACKUP_S3_BUCKET is set. */
export function openBackupTarget(env: Env): BackupTarget {
  if (!env.REGISTRA_BACKUP_DIR) throw new Error('set REGISTRA_BACKUP_DIR: where backups are taken');
  const dir = path.resolve(env.REGISTRA_BACKUP_DIR);
  const s3 = backupS3Settings(env);
  return s3 ? new S3Target(dir, s3) : new DirectoryTarget(dir);
}

export const retentionOf = (env: Env): Retention => ({
  keep: env.REGISTRA_BACKUP_KEEP,
  keepDays: env.REGISTRA_BACKUP_KEEP_DAYS,
});
