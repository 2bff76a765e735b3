import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { walDir } from '../src/backup/archive.js';
import { backUp, prune } from '../src/backup/backup.js';
import type { BackupSource } from '../src/backup/base-backup.js';
import { prepareRestore, startRestored } from '../src/backup/restore.js';
import { runRestoreTest } from '../src/backup/restore-test.js';
import { isWalBefore, planPruning } from '../src/backup/retention.js';
import { S3Target } from '../src/backup/s3-target.js';
import { DirectoryTarget, type BackupTarget } from '../src/backup/target.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../src/db/embedded.js';
import { BIRTH, declareBirth, Device, startTestServer, type TestServer } from './harness.js';
import { startS3, type S3Server } from './files-support.js';
import { fixedPort } from './ports.js';
import { archiveWrittenWal } from './wal-support.js';

describe('backup retention (pure)', () => {
  const at = (day: number, startWal?: string) => ({
    label: `d${day}`,
    finishedAt: new Date(Date.UTC(2026, 11, day)).toISOString(),
    ...(startWal ? { startWal } : {}),
  });
  const now = new Date(Date.UTC(2026, 11, 10));

  it('keeps the newest N, or those younger than D days, and the WAL from the oldest kept one', () => {
    const backups = [
      at(1, '000000010000000000000002'),
      at(5, '000000010000000000000009'),
      at(8, '00000002000000000000000F'),
      at(9, '000000020000000000000012'),
    ];
    const byCount = planPruning(backups, { keep: 2, keepDays: 0 }, now);
    expect(byCount.kept.map((b) => b.label)).toEqual(['d9', 'd8']);
    expect(byCount.removed.map((b) => b.label)).toEqual(['d5', 'd1']);
    expect(byCount.walBefore).toBe('00000002000000000000000F');

    const byAge = planPruning(backups, { keep: 1, keepDays: 7 }, now);
    expect(byAge.kept.map((b) => b.label)).toEqual(['d9', 'd8', 'd5']);
    expect(byAge.walBefore).toBe('000000010000000000000009');

    // The WAL start of the oldest kept one unknown: nothing is removed.
    const unknown = planPruning(
      [at(1, '000000010000000000000002'), at(9)],
      { keep: 1, keepDays: 0 },
      now,
    );
    expect(unknown.removed).toEqual([]);
    expect(unknown.walBefore).toBeNull();
  });

  it('compares segments whatever their timeline, and keeps timeline histories', () => {
    const cut = '00000002000000000000000F';
    expect(isWalBefore('00000001000000000000000E', cut)).toBe(true);
    expect(isWalBefore('00000001000000000000000F', cut)).toBe(false);
    expect(isWalBefore('00000001000000000000000E.00000028.backup', cut)).toBe(true);
    expect(isWalBefore('00000002.history', cut)).toBe(false);
    expect(isWalBefore('00000001000000000000000E.part', cut)).toBe(false);
  });
});

/**
 * Backups to an S3-compatible bucket (moto): the embedded PostgreSQL archives into the backup
 * directory, which the S3 target empties into the bucket; restores download from it.
 */
describe('backups in an S3 bucket', { timeout: 300_000 }, () => {
  let root: string;
  let backupDir: string;
  let s3: S3Server;
  let embedded: EmbeddedDatabase;
  let source: BackupSource;
  let server: TestServer;
  let target: S3Target;
  let client: S3Client;
  let primary: pg.Client;

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'registra-backup-s3-'));
    chmodSync(root, 0o755); // PostgreSQL runs as `postgres` when the tests run as root
    backupDir = path.join(root, 'spool');
    s3 = await startS3('registra-backups');
    const dataDir = path.join(root, 'registra');
    embedded = await startEmbeddedPostgres({
      dataDir,
      port: await fixedPort(),
      walArchiveDir: backupDir,
    });
    source = { url: embedded.url, dataDir: path.join(dataDir, 'pg') };
    server = await startTestServer('civil-registry', { databaseUrl: embedded.url });
    target = new S3Target(backupDir, { ...s3.settings, prefix: 'registra/' });
    client = new S3Client({
      region: s3.settings.region,
      endpoint: s3.settings.endpoint!,
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    primary = new pg.Client({ connectionString: embedded.url });
    await primary.connect();
  });

  afterAll(async () => {
    await primary?.end();
    client?.destroy();
    target?.close();
    await server?.close();
    await embedded?.stop();
    await s3?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  const keys = async (under: string) =>
    (
      (
        await client.send(
          new ListObjectsV2Command({ Bucket: 'registra-backups', Prefix: `registra/${under}` }),
        )
      ).Contents ?? []
    )
      .map((o) => o.Key!.slice(`registra/${under}`.length))
      .sort();

  /** Archives everything written so far (see archiveWrittenWal) and ships it to the bucket. */
  const archiveNow = async () => {
    const segment = await archiveWrittenWal(primary);
    await target.shipWal();
    return segment;
  };

  /** The ids of `ids` that a restore from `backups` (up to `to`) holds. */
  const restoredRecords = async (backups: BackupTarget, ids: string[], to?: Date) => {
    const scratch = mkdtempSync(path.join(root, 'restore-'));
    chmodSync(scratch, 0o755);
    const dataDir = path.join(scratch, 'data');
    const opened = await backups.open(to, path.join(scratch, 'download'));
    prepareRestore({ dir: opened.dir, dataDir, to, move: opened.downloaded });
    const restored = await startRestored({
      dataDir,
      port: await fixedPort(),
      sourceUrl: source.url,
    });
    const reader = new pg.Client({ connectionString: restored.url });
    try {
      await reader.connect();
      const found = await reader.query<{ id: string }>(
        'SELECT id FROM records WHERE id = ANY($1::uuid[]) ORDER BY id',
        [ids],
      );
      return found.rows.map((r) => r.id);
    } finally {
      await reader.end();
      await restored.stop();
      rmSync(scratch, { recursive: true, force: true });
    }
  };

  let first: string;
  let second: string;

  it('restores from the bucket to a moment between two writes: the first is there, the second is not', async () => {
    const base = await backUp(source, target);
    expect(base.path).toBe(`s3://registra-backups/registra/base/${base.label}.tar`);
    expect(await keys('base/')).toEqual([`${base.label}.json`, `${base.label}.tar`]);
    // The backup directory was only a spool: the base backup left it once uploaded.
    expect(readdirSync(path.join(backupDir, 'base'))).toEqual([]);

    const device = new Device(server, await server.login('agent'));
    first = await declareBirth(device, { ...BIRTH, 'child.firstName': 'Before' });
    const between = (await primary.query<{ t: Date }>('SELECT clock_timestamp() AS t')).rows[0]!.t;
    await primary.query('SELECT pg_sleep(0.05)'); // the second commits after `between`
    second = await declareBirth(device, { ...BIRTH, 'child.firstName': 'After' });
    const segment = await archiveNow();
    expect(await keys('wal/')).toContain(segment);
    expect(readdirSync(walDir(backupDir)).filter((n) => !n.endsWith('.part'))).not.toContain(
      segment,
    );

    expect(await restoredRecords(target, [first, second], between)).toEqual([first]);
    expect(await restoredRecords(target, [first, second])).toEqual([first, second].sort());
  });

  it('proves the latest backup in the bucket by restoring and verifying it', async () => {
    const run = await runRestoreTest(server.registry, source, target);
    expect(run.message ?? '').toBe('');
    expect(run).toMatchObject({ ok: true, differences: 0 });
    expect(run.records).toBeGreaterThanOrEqual(2);
  });

  it('prunes to the newest backup: older base backups and their WAL go, the kept one restores', async () => {
    const device = new Device(server, await server.login('agent'));
    await backUp(source, target);
    await archiveNow();
    const third = await declareBirth(device, { ...BIRTH, 'child.firstName': 'Third' });
    await archiveNow();
    const newest = await backUp(source, target);
    const fourth = await declareBirth(device, { ...BIRTH, 'child.firstName': 'Fourth' });
    await archiveNow();
    const before = await keys('wal/');
    expect((await target.list()).length).toBe(3);

    const report = await prune(target, { keep: 1, keepDays: 0 });
    expect(report.kept).toEqual([newest.label]);
    expect(report.removed).toHaveLength(2);
    expect(report.segments).toBeGreaterThan(0);
    expect(await keys('base/')).toEqual([`${newest.label}.json`, `${newest.label}.tar`]);
    const after = await keys('wal/');
    expect(after.length).toBeLessThan(before.length);
    const segments = after.filter((k) => /^[0-9A-F]{24}$/.test(k));
    expect(segments.every((k) => k.slice(8) >= newest.startWal!.slice(8))).toBe(true);
    expect(segments).toContain(newest.startWal);

    // The kept backup still restores, with every write up to the last archived one.
    expect(await restoredRecords(target, [first, second, third, fourth])).toEqual(
      [first, second, third, fourth].sort(),
    );
  });

  it('prunes a backup directory the same way', async () => {
    const dir = path.join(root, 'local');
    const local = new DirectoryTarget(dir);
    const other = await startEmbeddedPostgres({
      dataDir: path.join(root, 'other'),
      port: await fixedPort(),
      walArchiveDir: dir,
    });
    const otherSource = { url: other.url, dataDir: path.join(root, 'other', 'pg') };
    const switchWal = async () => {
      const c = new pg.Client({ connectionString: other.url });
      await c.connect();
      await c.query('CREATE TABLE IF NOT EXISTS t (n int); INSERT INTO t VALUES (1)');
      await c.query('SELECT pg_switch_wal()');
      await c.end();
    };
    try {
      const oldest = await backUp(otherSource, local);
      await switchWal();
      await backUp(otherSource, local);
      await switchWal();
      const newest = await backUp(otherSource, local);
      const report = await prune(local, { keep: 2, keepDays: 0 });
      expect(report.removed).toEqual([oldest.label]);
      expect(existsSync(oldest.path)).toBe(false);
      expect((await local.list()).length).toBe(2);
      const kept = (await local.list())[0]!;
      expect(
        readdirSync(walDir(dir))
          .filter((n) => /^[0-9A-F]{24}$/.test(n))
          .every((n) => n.slice(8) >= kept.startWal!.slice(8)),
      ).toBe(true);
      expect(report.segments).toBeGreaterThan(0);
      expect(newest.startWal).toBeDefined();
    } finally {
      await other.stop();
    }
  });
});
