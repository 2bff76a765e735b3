import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveSettings, prepareWalArchive } from '../src/backup/archive.js';
import { listBaseBackups, takeBaseBackup, type BackupSource } from '../src/backup/base-backup.js';
import { prepareRestore, startRestored } from '../src/backup/restore.js';
import { runRestoreTest } from '../src/backup/restore-test.js';
import { restoreTestTask, scheduleBackups } from '../src/backup/jobs.js';
import { backupStatus } from '../src/backup/status.js';
import { DirectoryTarget } from '../src/backup/target.js';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { Metrics } from '../src/http/metrics.js';
import { addJob, JobQueue } from '../src/jobs/index.js';
import { BIRTH, declareBirth, Device, startTestServer, type TestServer } from './harness.js';
import { newCluster } from './local-postgres.js';
import { fixedPort } from './ports.js';
import { archiveWrittenWal } from './wal-support.js';

interface Subject {
  source: BackupSource;
  stop(): Promise<void>;
}

/**
 * The same story on the embedded PostgreSQL (no pg_basebackup of its version: the low-level
 * backup API and a copy) and on Debian's (pg_basebackup), both archiving their WAL.
 */
const SUBJECTS: [string, (root: string, backupDir: string) => Promise<Subject>][] = [
  [
    'the embedded PostgreSQL (backup API and copy)',
    async (root, backupDir) => {
      const dataDir = path.join(root, 'registra');
      const embedded = await startEmbeddedPostgres({
        dataDir,
        port: await fixedPort(),
        walArchiveDir: backupDir,
      });
      return {
        source: { url: embedded.url, dataDir: path.join(dataDir, 'pg') },
        stop: () => embedded.stop(),
      };
    },
  ],
  [
    "Debian's PostgreSQL (pg_basebackup)",
    async (root, backupDir) => {
      const cluster = await newCluster(
        path.join(root, 'debian'),
        await fixedPort(),
        archiveSettings(prepareWalArchive(backupDir)),
      );
      return { source: { url: cluster.url, dataDir: null }, stop: () => cluster.stop() };
    },
  ],
];

describe.each(SUBJECTS)('backup and point-in-time restore on %s', (_name, start) => {
  let root: string;
  let backupDir: string;
  let subject: Subject;
  let server: TestServer;

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'registra-backup-'));
    chmodSync(root, 0o755); // PostgreSQL runs as `postgres` when the tests run as root
    backupDir = path.join(root, 'backups');
    subject = await start(root, backupDir);
    server = await startTestServer('civil-registry', { databaseUrl: subject.source.url });
  });

  afterAll(async () => {
    await server?.close();
    await subject?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('restores to a moment between two writes: the first is there, the second is not', async () => {
    const base = await takeBaseBackup(subject.source, backupDir);
    expect(listBaseBackups(backupDir).map((b) => b.label)).toEqual([base.label]);

    const device = new Device(server, await server.login('agent'));
    const first = await declareBirth(device, { ...BIRTH, 'child.firstName': 'Before' });
    const primary = new pg.Client({ connectionString: subject.source.url });
    await primary.connect();
    try {
      const between = (await primary.query<{ t: Date }>('SELECT clock_timestamp() AS t')).rows[0]!
        .t;
      // Commit times are what recovery compares: the second write commits after `between`.
      await primary.query('SELECT pg_sleep(0.05)');
      const second = await declareBirth(device, { ...BIRTH, 'child.firstName': 'After' });

      // Both writes reach the archive: the segment holding them is switched out and archived.
      await archiveWrittenWal(primary);

      const recordsIn = async (dataDir: string, to?: Date) => {
        prepareRestore({ dir: backupDir, dataDir, to });
        const restored = await startRestored({
          dataDir,
          port: await fixedPort(),
          sourceUrl: subject.source.url,
        });
        const client = new pg.Client({ connectionString: restored.url });
        try {
          await client.connect();
          const found = await client.query<{ id: string }>(
            'SELECT id FROM records WHERE id = ANY($1::uuid[]) ORDER BY id',
            [[first, second]],
          );
          return found.rows.map((r) => r.id);
        } finally {
          await client.end();
          await restored.stop();
        }
      };

      expect(await recordsIn(path.join(root, 'to-between'), between)).toEqual([first]);
      // The same backup without a target replays every archived write.
      expect(await recordsIn(path.join(root, 'to-end'))).toEqual([first, second].sort());
    } finally {
      await primary.end();
    }
  });

  it('proves the latest backup by restoring and verifying it on the job queue, and shows it in the metrics', async () => {
    const settings = {
      target: new DirectoryTarget(backupDir),
      source: subject.source,
      schedule: '15 1 * * *',
      restoreTestSchedule: '45 3 * * *',
      retention: { keep: 7, keepDays: 0 },
    };
    const metrics = new Metrics();
    metrics.observeBackups(() => backupStatus(server.db));
    // Never proven yet: 0, which is what an alert on the metric should fire on.
    expect(await metrics.text()).toMatch(/^registra_restore_test_ok 0$/m);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the scrape's cache lasts 1 s

    const jobs = new JobQueue();
    scheduleBackups(jobs, server.registry, settings);
    const runner = await jobs.start({
      connectionString: server.databaseUrl,
      concurrency: 2,
      pollInterval: 200,
    });
    try {
      await addJob(server.db, restoreTestTask(server.registry, settings), { payload: {} });
      await expect
        .poll(
          async () =>
            server.db
              .selectFrom('backup_runs')
              .select(['ok', 'records', 'differences', 'message'])
              .where('kind', '=', 'restore-test')
              .execute(),
          { timeout: 300_000, interval: 500 },
        )
        .toMatchObject([{ ok: true, differences: 0, message: null }]);
    } finally {
      await runner.stop();
    }
    const text = await metrics.text();
    expect(text).toMatch(/^registra_restore_test_ok 1$/m);
    expect(text).toMatch(/^registra_restore_test_records [1-9]\d*$/m);
    expect(text).toMatch(/^registra_restore_test_last_success_timestamp_seconds \d+/m);

    // A backup directory with nothing to restore fails the test, and the metric says so.
    await runRestoreTest(
      server.registry,
      subject.source,
      new DirectoryTarget(path.join(root, 'empty')),
    );
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the scrape's cache lasts 1 s
    expect(await metrics.text()).toMatch(/^registra_restore_test_ok 0$/m);
  });
});
