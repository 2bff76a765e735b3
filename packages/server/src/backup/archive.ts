import { chownSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { postgresIds } from '../db/postgres-user.js';

/**
 * # Backups: layout of a backup directory
 *
 * ```
 * <dir>/wal/             WAL segments, copied by PostgreSQL's archive_command as each one fills
 * <dir>/base/<label>/    base backups: a copy of the data directory and registra-backup.json
 * ```
 *
 * A base backup plus the WAL archived since restores the database to any moment after the base
 * backup ended (point-in-time recovery, PostgreSQL's own mechanism).
 */
export const walDir = (dir: string) => path.join(path.resolve(dir), 'wal');
export const baseDir = (dir: string) => path.join(path.resolve(dir), 'base');

/** Paths go into shell commands between single quotes, which they must therefore not hold. */
export function shellSafe(dir: string): string {
  const resolved = path.resolve(dir);
  if (/['\n\\]/.test(resolved))
    throw new Error(`a backup directory may not contain ' or \\: ${dir}`);
  return resolved;
}

/**
 * The archive_command that copies a finished WAL segment into `wal`: to a temporary name, synced,
 * then renamed, so that a segment in the archive is always whole. A segment already archived is
 * accepted again only if identical (PostgreSQL may retry after a crash).
 */
export function archiveCommand(wal: string): string {
  const dir = shellSafe(wal);
  return (
    `if [ -f '${dir}/%f' ]; then cmp -s '%p' '${dir}/%f'; ` +
    `else cp '%p' '${dir}/%f.part' && sync '${dir}/%f.part' && mv '${dir}/%f.part' '${dir}/%f'; fi`
  );
}

/** The command a restore reads archived segments back with. */
export function restoreCommand(wal: string): string {
  return `cp '${shellSafe(wal)}/%f' '%p'`;
}

/**
 * The settings that turn continuous archiving on. `archive_timeout` bounds what a lost server can
 * lose on a quiet day: a segment is archived at least every 5 minutes when anything was written.
 */
export function archiveSettings(wal: string): Record<string, string> {
  return {
    archive_mode: 'on',
    archive_command: archiveCommand(wal),
    archive_timeout: '300',
  };
}

/**
 * Makes the WAL directory of a backup directory, writable by the PostgreSQL that archives into it
 * (the `postgres` user, when Registra runs as root). Answers its path.
 */
export function prepareWalArchive(dir: string): string {
  const wal = walDir(shellSafe(dir));
  mkdirSync(wal, { recursive: true });
  const { uid, gid } = postgresIds();
  if (uid !== undefined && gid !== undefined) chownSync(wal, uid, gid);
  return wal;
}
