/**
 * Backup and restore: seconds per GB of a base backup (backup/base-backup.ts) and of a restore
 * that replays the archived WAL until the database opens (backup/restore.ts), on the embedded
 * PostgreSQL (backup API and a copy) and on Debian's (pg_basebackup); against a plain copy of the
 * same data directory (`cp -a`, the disk's own speed) measured in the same run; then the same
 * base backup and restore with an S3 bucket (moto_server on this machine) as the target, against
 * the directory target of the same run. The database holds
 * Registra's schema and a ballast table of BENCH_BACKUP_MB megabytes (a physical backup copies
 * bytes, whatever they mean); figures per GB are extrapolated from that size.
 *
 *   npx tsx bench/backup.ts     (BENCH_BACKUP_MB=300 by default)
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { archiveSettings, prepareWalArchive } from '../packages/server/src/backup/archive.js';
import { backUp } from '../packages/server/src/backup/backup.js';
import { takeBaseBackup, type BackupSource } from '../packages/server/src/backup/base-backup.js';
import { S3Target } from '../packages/server/src/backup/s3-target.js';
import { prepareRestore, startRestored } from '../packages/server/src/backup/restore.js';
import { connect } from '../packages/server/src/db/database.js';
import { startEmbeddedPostgres } from '../packages/server/src/db/embedded.js';
import { migrate } from '../packages/server/src/db/migrations.js';
import { startS3 } from '../packages/server/test/files-support.js';
import { newCluster } from '../packages/server/test/local-postgres.js';
import { fixedPort } from '../packages/server/test/ports.js';
import { elapsed, size, type Row } from './fixtures.js';

const MB = size('BENCH_BACKUP_MB', 300, 30);
const run$ = promisify(execFile);

interface Subject {
  name: string;
  source: BackupSource;
  /** The data directory a plain copy is timed on. */
  dataDir: string;
  stop(): Promise<void>;
}

async function fill(url: string): Promise<number> {
  const { db, pool } = connect(url, 4);
  await migrate({ db, pool });
  await db.destroy();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // About 1 KB a row of incompressible text (md5s), MB megabytes in all.
    await client.query(`CREATE TABLE ballast (id bigint, body text)`);
    await client.query(
      `INSERT INTO ballast SELECT g, string_agg(md5(g::text || ':' || i), '') FROM
       generate_series(1, $1) g, generate_series(1, 30) i GROUP BY g`,
      [MB * 1000],
    );
    await client.query('CHECKPOINT');
    const { rows } = await client.query<{ bytes: string }>(
      'SELECT pg_database_size(current_database()) AS bytes',
    );
    return Number(rows[0]!.bytes);
  } finally {
    await client.end();
  }
}

async function measure(subject: Subject, root: string, bytes: number): Promise<Row[]> {
  const gb = bytes / 1e9;
  const copyDir = path.join(root, `${subject.name}-cp`);
  let started = performance.now();
  await run$('cp', ['-a', subject.dataDir, copyDir]);
  const copySeconds = elapsed(started);
  rmSync(copyDir, { recursive: true, force: true });

  const backupDir = path.join(root, `${subject.name}-backups`);
  started = performance.now();
  const info = await takeBaseBackup(subject.source, backupDir);
  const backupSeconds = elapsed(started);

  started = performance.now();
  const dataDir = path.join(root, `${subject.name}-restored`);
  prepareRestore({ dir: backupDir, dataDir });
  const restored = await startRestored({
    dataDir,
    port: await fixedPort(),
    sourceUrl: subject.source.url,
  });
  const restoreSeconds = elapsed(started);
  await restored.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(`${dataDir}.log`, { force: true });

  // The same to an S3 bucket (moto on this machine): upload of the base backup as a tar stream
  // and of the archived WAL; a restore downloads both, then recovers the same way.
  const s3 = await startS3('registra-bench-backups');
  const target = new S3Target(backupDir, { ...s3.settings, prefix: `${subject.name}/` });
  let s3Backup: number;
  let s3Restore: number;
  let s3Bytes: number;
  try {
    await target.shipWal();
    started = performance.now();
    s3Bytes = (await backUp(subject.source, target)).bytes;
    s3Backup = elapsed(started);
    started = performance.now();
    const opened = await target.open(undefined, path.join(root, `${subject.name}-download`));
    prepareRestore({ dir: opened.dir, dataDir, move: true });
    const fromS3 = await startRestored({
      dataDir,
      port: await fixedPort(),
      sourceUrl: subject.source.url,
    });
    s3Restore = elapsed(started);
    await fromS3.stop();
  } finally {
    target.close();
    await s3.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(`${dataDir}.log`, { force: true });
    rmSync(path.join(root, `${subject.name}-download`), { recursive: true, force: true });
  }

  const row = (what: string, seconds: number, copied: number, directory?: number): Row => ({
    subject: subject.name,
    what,
    MB: Math.round(copied / 1e6),
    seconds,
    's per GB of database': seconds / gb,
    'ratio to cp -a': seconds / copySeconds,
    'ratio to directory': directory ? seconds / directory : 1,
  });
  return [
    row('cp -a of the data directory (baseline)', copySeconds, bytes),
    row(`base backup (${info.method}) to a directory`, backupSeconds, info.bytes),
    row('restore from a directory: copy, replay, promote', restoreSeconds, info.bytes),
    row(`base backup (${info.method}) to S3 (moto)`, s3Backup, s3Bytes, backupSeconds),
    row('restore from S3: download, replay, promote', s3Restore, s3Bytes, restoreSeconds),
  ];
}

export async function run(): Promise<Row[]> {
  const root = mkdtempSync(path.join(tmpdir(), 'registra-bench-backup-'));
  chmodSync(root, 0o755);
  const rows: Row[] = [];
  try {
    const embeddedDir = path.join(root, 'embedded');
    const embedded = await startEmbeddedPostgres({
      dataDir: embeddedDir,
      port: await fixedPort(),
      walArchiveDir: path.join(root, 'embedded-backups'),
    });
    const subjects: (() => Promise<Subject>)[] = [
      async () => ({
        name: 'embedded',
        source: { url: embedded.url, dataDir: path.join(embeddedDir, 'pg') },
        dataDir: path.join(embeddedDir, 'pg'),
        stop: () => embedded.stop(),
      }),
      async () => {
        const dataDir = path.join(root, 'debian');
        const cluster = await newCluster(
          dataDir,
          await fixedPort(),
          archiveSettings(prepareWalArchive(path.join(root, 'debian-backups'))),
        );
        return {
          name: 'debian',
          source: { url: cluster.url, dataDir: null },
          dataDir,
          stop: () => cluster.stop(),
        };
      },
    ];
    for (const make of subjects) {
      const subject = await make();
      try {
        const bytes = await fill(subject.source.url);
        rows.push(...(await measure(subject, root, bytes)));
      } finally {
        await subject.stop();
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { table } = await import('./support.js');
  console.log(`backup: a database of Registra's schema and ${MB} MB of ballast`);
  table(await run());
}
