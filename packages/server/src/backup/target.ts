import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { walDir } from './archive.js';
import { listBaseBackups, type BaseBackupInfo } from './base-backup.js';
import { isWalBefore } from './retention.js';

/**
 * # Backups: where they are kept
 *
 * Base backups are always taken into the backup directory (REGISTRA_BACKUP_DIR), and PostgreSQL
 * always archives its WAL into `<dir>/wal/`. A target keeps them from there: the directory target
 * keeps them in place; the S3 target (s3-target.ts) uploads each base backup and each archived
 * segment to a bucket and removes the local copy, so that the directory is only a spool.
 */
export interface BackupTarget {
  /** For messages: never holds a secret. */
  readonly description: string;
  /** The local backup directory: the WAL archive, and where base backups are taken. */
  readonly dir: string;
  /** Whether backups leave the machine (the WAL is then shipped every minute). */
  readonly remote: boolean;
  /** Whole base backups, oldest first. */
  list(): Promise<BaseBackupInfo[]>;
  /** Keeps a base backup just taken into `dir` (after the WAL it needs). Answers where it is. */
  store(backup: BaseBackupInfo): Promise<BaseBackupInfo>;
  /** Moves archived WAL from the spool to the target; answers how many segments. */
  shipWal(): Promise<number>;
  /**
   * A local backup directory holding the base backup that ended last before `to` (or the latest)
   * and the WAL after it, downloaded into `scratch` when the target is remote; `downloaded` says
   * so (its base backup may then be moved rather than copied).
   */
  open(to: Date | undefined, scratch: string): Promise<{ dir: string; downloaded: boolean }>;
  /** Removes base backups, and archived segments before `walBefore` (none if null). */
  remove(backups: BaseBackupInfo[], walBefore: string | null): Promise<{ segments: number }>;
  close(): void;
}

/** Backups kept in the backup directory itself (copy it off the machine by other means). */
export class DirectoryTarget implements BackupTarget {
  readonly description: string;
  readonly remote = false;

  constructor(readonly dir: string) {
    this.description = `directory ${dir}`;
  }

  async list() {
    return listBaseBackups(this.dir);
  }

  async store(backup: BaseBackupInfo) {
    return backup;
  }

  async shipWal() {
    return 0;
  }

  async open() {
    return { dir: this.dir, downloaded: false };
  }

  async remove(backups: BaseBackupInfo[], walBefore: string | null) {
    for (const backup of backups) rmSync(backup.path, { recursive: true, force: true });
    return { segments: walBefore ? removeLocalWal(this.dir, walBefore) : 0 };
  }

  close() {}
}

/** Removes archived segments before `before` from `<dir>/wal/`; answers how many. */
export function removeLocalWal(dir: string, before: string): number {
  let removed = 0;
  const wal = walDir(dir);
  for (const name of readdirSafe(wal)) {
    if (!isWalBefore(name, before)) continue;
    rmSync(path.join(wal, name), { force: true });
    removed += 1;
  }
  return removed;
}

export function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
