import { copyFileSync, existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../db/embedded.js';
import { inspectCluster } from '../db/postmaster.js';
import type { Env } from '../env.js';
import { openBackupTarget } from './open.js';
import { ownForPostgres, prepareRestore } from './restore.js';

/**
 * `registra restore [--to TIME] [--target DIR]`. On the embedded default, the server must be
 * stopped: its data directory is kept aside as `pg.before-restore-<time>` (nothing is deleted),
 * the backup is restored in its place and PostgreSQL replays the archived WAL up to TIME, then
 * opens for writes; `npm start` carries on from there. With DATABASE_URL, Registra does not own
 * the server's files: it prepares a data directory in DIR for the operator's PostgreSQL. From an
 * S3 bucket, the base backup and the WAL after it are first downloaded into the backup directory
 * (`restore-<time>/`), which recovery reads; Registra removes it once the embedded database is up.
 */
export async function restore(env: Env, to?: string, target?: string): Promise<number> {
  if (!env.REGISTRA_BACKUP_DIR) throw new Error('set REGISTRA_BACKUP_DIR: where the backups are');
  const until = to === undefined ? undefined : new Date(to);
  if (until && Number.isNaN(until.getTime())) {
    throw new Error(`--to ${to}: not a time (e.g. 2026-12-01T09:30:00Z)`);
  }
  if ((env.DATABASE_URL || target) && !target) {
    throw new Error('with DATABASE_URL, give --target DIR: the data directory to make');
  }
  const backups = openBackupTarget(env);
  const scratch = path.join(
    path.resolve(env.REGISTRA_BACKUP_DIR),
    `restore-${new Date().toISOString().replace(/[-:.]/g, '')}`,
  );
  try {
    const opened = await backups.open(until, scratch);
    if (target) {
      const base = prepareRestore({ dir: opened.dir, dataDir: target, to: until, move: true });
      console.log(
        `restored base backup ${base.label} from ${backups.description} into ${target}; start ` +
          `PostgreSQL ${base.major} on it: it replays the archived WAL` +
          `${until ? ` up to ${until.toISOString()}` : ''}, then opens for writes` +
          (opened.downloaded ? `; remove ${scratch} once it is open` : ''),
      );
      return 0;
    }
    return await restoreEmbedded(env, opened, until);
  } finally {
    backups.close();
    if (!target) rmSync(scratch, { recursive: true, force: true });
  }
}

/** In place, on the embedded default (the server stopped). */
async function restoreEmbedded(
  env: Env,
  opened: { dir: string; downloaded: boolean },
  until: Date | undefined,
): Promise<number> {
  const dataDir = path.resolve(env.REGISTRA_DATA_DIR);
  const databaseDir = path.join(dataDir, 'pg');
  if (inspectCluster(databaseDir).kind === 'running') {
    throw new Error('stop Registra first: its PostgreSQL runs on the data directory to restore');
  }
  const aside = `${databaseDir}.before-restore-${new Date().toISOString().replace(/[-:.]/g, '')}`;
  if (existsSync(databaseDir)) renameSync(databaseDir, aside);
  let base;
  try {
    base = prepareRestore({
      dir: opened.dir,
      dataDir: databaseDir,
      to: until,
      move: opened.downloaded,
    });
  } catch (error) {
    if (existsSync(aside)) renameSync(aside, databaseDir);
    throw error;
  }
  // The WAL the old cluster wrote but had not archived yet (the segment in use when it stopped)
  // is replayed too, after the archive's, as PostgreSQL's documentation advises.
  const unarchived = path.join(aside, 'pg_wal');
  if (existsSync(unarchived)) {
    for (const name of readdirSync(unarchived)) {
      if (/^[0-9A-F]{24}$/.test(name)) {
        copyFileSync(path.join(unarchived, name), path.join(databaseDir, 'pg_wal', name));
      }
    }
    ownForPostgres(path.join(databaseDir, 'pg_wal'));
  }
  // Starting it replays the WAL; it answers once recovery is over and it was promoted.
  let embedded;
  try {
    embedded = await startEmbeddedPostgres({
      dataDir,
      port: env.REGISTRA_PG_PORT,
      walArchiveDir: env.REGISTRA_BACKUP_DIR!,
    });
  } catch (error) {
    // The data directory goes back as it was; the failed attempt is kept beside it to look at.
    renameSync(databaseDir, aside.replace('.before-restore-', '.failed-restore-'));
    if (existsSync(aside)) renameSync(aside, databaseDir);
    throw error;
  }
  try {
    const client = new pg.Client({ connectionString: embedded.url });
    await client.connect();
    const { rows } = await client.query<{ n: string; last: Date | null }>(
      'SELECT count(*) AS n, max(recorded_at) AS last FROM entries',
    );
    await client.end();
    console.log(
      `restored base backup ${base.label}${until ? ` up to ${until.toISOString()}` : ''}: ` +
        `${rows[0]?.n} entries, the latest recorded ${rows[0]?.last?.toISOString() ?? 'never'}; ` +
        `the previous data directory is kept in ${aside}`,
    );
  } finally {
    await embedded.stop();
  }
  return 0;
}
