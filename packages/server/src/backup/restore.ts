import { execFile } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { postgresIds } from '../db/postgres-user.js';
import { restoreCommand, walDir } from './archive.js';
import { listBaseBackups, type BaseBackupInfo } from './base-backup.js';
import { requireProgram } from './programs.js';

const run = promisify(execFile);

export interface RestorePlan {
  /** The backup directory (base backups and archived WAL). */
  dir: string;
  /** The data directory to make: must not exist, or be empty. */
  dataDir: string;
  /** Recover up to this moment (commits after it are not replayed); default: all archived WAL. */
  to?: Date | undefined;
  /** The backup directory was made for this restore: its base backup is moved, not copied. */
  move?: boolean | undefined;
}

/**
 * Makes a data directory that, once PostgreSQL starts on it, recovers the database from the
 * latest base backup that ended before `to` (or the latest of all) and the archived WAL, up to
 * `to`, then opens it for writes (recovery_target_action = promote). Answers the base backup used.
 */
export function prepareRestore(plan: RestorePlan): BaseBackupInfo {
  const backups = listBaseBackups(plan.dir);
  const to = plan.to;
  const usable = to ? backups.filter((b) => new Date(b.finishedAt) <= to) : backups;
  const base = usable.at(-1);
  if (!base) {
    throw new Error(
      to
        ? `no base backup in ${plan.dir} ended before ${to.toISOString()}`
        : `no base backup in ${plan.dir}`,
    );
  }
  if (existsSync(plan.dataDir) && readdirSync(plan.dataDir).length > 0) {
    throw new Error(`${plan.dataDir} is not empty: restore into a new directory`);
  }
  if (!plan.move || !moved(base.path, plan.dataDir)) {
    cpSync(base.path, plan.dataDir, { recursive: true, verbatimSymlinks: true });
  }
  rmSync(path.join(plan.dataDir, 'registra-backup.json'), { force: true });
  // The data directory of a Debian-managed cluster keeps its configuration in /etc: without one
  // here PostgreSQL would not start, so the restore gets a minimal one (local connections only).
  const conf = path.join(plan.dataDir, 'postgresql.conf');
  if (!existsSync(conf)) writeFileSync(conf, '');
  const hba = path.join(plan.dataDir, 'pg_hba.conf');
  if (!existsSync(hba)) {
    writeFileSync(
      hba,
      'host all all 127.0.0.1/32 scram-sha-256\nhost replication all 127.0.0.1/32 scram-sha-256\n',
    );
  }
  mkdirSync(path.join(plan.dataDir, 'pg_wal', 'archive_status'), { recursive: true });
  writeFileSync(path.join(plan.dataDir, 'recovery.signal'), '');
  const settings: Record<string, string> = {
    restore_command: restoreCommand(walDir(plan.dir)),
    recovery_target_action: 'promote',
    // PostgreSQL's timestamptz input: '2026-12-01 09:30:00.123+00'.
    ...(to ? { recovery_target_time: to.toISOString().replace('T', ' ').replace('Z', '+00') } : {}),
  };
  appendFileSync(
    path.join(plan.dataDir, 'postgresql.auto.conf'),
    '\n# registra restore\n' +
      Object.entries(settings)
        .map(([name, value]) => `${name} = '${value.replace(/'/g, "''")}'\n`)
        .join(''),
  );
  ownForPostgres(plan.dataDir);
  chmodSync(plan.dataDir, 0o700);
  return base;
}

/** Renames a directory over an empty one; false when they are on different file systems. */
function moved(from: string, to: string): boolean {
  rmSync(to, { recursive: true, force: true });
  try {
    renameSync(from, to);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EXDEV') return false;
    throw error;
  }
}

/** As root, PostgreSQL runs as `postgres`, which must own its data directory. */
export function ownForPostgres(dir: string): void {
  const { uid, gid } = postgresIds();
  if (uid === undefined || gid === undefined) return;
  chownSync(dir, uid, gid);
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    chownSync(path.join(entry.parentPath, entry.name), uid, gid);
  }
}

/** A PostgreSQL started by Registra on a restored (or replica) data directory. */
export interface LocalCluster {
  port: number;
  /** The source URL, pointed at this cluster. */
  url: string;
  stop(): Promise<void>;
  /** The last lines of its log, to say why it failed. */
  logTail(): string;
}

/**
 * Starts PostgreSQL (of the data directory's own version) on `dataDir` at 127.0.0.1:`port`
 * without archiving of its own, and waits until it accepts writes: recovery done and promoted.
 */
export async function startRestored(options: {
  dataDir: string;
  port: number;
  sourceUrl: string;
  timeoutMs?: number;
}): Promise<LocalCluster> {
  const major = Number(readFileSync(path.join(options.dataDir, 'PG_VERSION'), 'utf8').trim());
  const pgCtl = await requireProgram('pg_ctl', major);
  const logFile = `${options.dataDir}.log`;
  writeFileSync(logFile, '');
  const { uid, gid } = postgresIds();
  if (uid !== undefined && gid !== undefined) chownSync(logFile, uid, gid);
  const asPostgres = { ...postgresIds(), cwd: options.dataDir };
  const flags = [
    `-p ${options.port}`,
    '-c listen_addresses=127.0.0.1',
    "-c unix_socket_directories=''",
    '-c archive_mode=off',
    // No reads during recovery: a hot standby would need max_connections and the like at least
    // as high as the primary had them; without one it opens only once promoted.
    '-c hot_standby=off',
  ].join(' ');
  const url = new URL(options.sourceUrl);
  url.hostname = '127.0.0.1';
  url.port = String(options.port);
  const logTail = () => readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
  const stop = async () => {
    await run(pgCtl, ['stop', '-D', options.dataDir, '-m', 'fast', '-w'], asPostgres).catch(
      () => undefined,
    );
  };
  try {
    await run(
      pgCtl,
      ['start', '-D', options.dataDir, '-l', logFile, '-o', flags, '-w', '-t', '600'],
      asPostgres,
    );
    const running = async () =>
      run(pgCtl, ['status', '-D', options.dataDir], asPostgres).then(
        () => true,
        () => false,
      );
    await waitForPromotion(url.toString(), running, options.timeoutMs ?? 600_000);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    await stop();
    throw new Error(`the restored PostgreSQL did not come up: ${why}\n${logTail()}`, {
      cause: error,
    });
  }
  return { port: options.port, url: url.toString(), stop, logTail };
}

async function waitForPromotion(
  url: string,
  running: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const { rows } = await client.query<{ recovering: boolean }>(
        'SELECT pg_is_in_recovery() AS recovering',
      );
      if (!rows[0]?.recovering) return;
    } catch (error) {
      // PostgreSQL ends itself when recovery cannot reach its target (WAL missing).
      if (Date.now() > deadline || !(await running())) throw error;
    } finally {
      await client.end().catch(() => undefined);
    }
    if (Date.now() > deadline) throw new Error(`still recovering after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
