import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect } from '../db/database.js';
import type { Registry } from '../services/context.js';
import { verifyReadModel } from '../services/read-model.js';
import { saveBackupRun, type BackupRun } from '../store/backup-runs.js';
import type { BackupSource } from './base-backup.js';
import { prepareRestore, startRestored } from './restore.js';
import type { BackupTarget } from './target.js';

/**
 * The proof that backups restore: the latest base backup and the archived WAL (downloaded from the
 * bucket when backups go to S3) are restored into a scratch data directory, started on a free
 * port, and `verify` (every record's hash chain and fold, services/read-model.ts) runs on it. The outcome is stored (backup_runs) and shown
 * by every API node's metrics (registra_restore_test_*). The scratch copy is removed afterwards.
 */
export async function runRestoreTest(
  registry: Registry,
  source: BackupSource,
  target: BackupTarget,
): Promise<BackupRun> {
  const started = performance.now();
  const scratch = mkdtempSync(path.join(tmpdir(), 'registra-restore-test-'));
  chmodSync(scratch, 0o755); // reachable by `postgres`, which runs PostgreSQL when we are root
  let label: string | null = null;
  let run: BackupRun;
  try {
    const dataDir = path.join(scratch, 'data');
    // From a bucket, the latest backup and its WAL are downloaded into the scratch directory.
    const { dir, downloaded } = await target.open(undefined, path.join(scratch, 'backup'));
    label = prepareRestore({ dir, dataDir, move: downloaded }).label;
    const restored = await startRestored({
      dataDir,
      port: await freePort(),
      sourceUrl: source.url,
    });
    const { db } = connect(restored.url, 4);
    try {
      const report = await verifyReadModel({ ...registry, db });
      run = {
        kind: 'restore-test',
        label,
        ok: report.differences.length === 0,
        seconds: (performance.now() - started) / 1000,
        records: report.records,
        entries: report.entries,
        differences: report.differences.length,
        message:
          report.differences.length === 0
            ? undefined
            : report.differences
                .slice(0, 5)
                .map((d) => `${d.recordId}: ${d.problem}`)
                .join('; '),
      };
    } finally {
      await db.destroy();
      await restored.stop();
    }
  } catch (error) {
    run = {
      kind: 'restore-test',
      label,
      ok: false,
      seconds: (performance.now() - started) / 1000,
      message: (error instanceof Error ? error.message : String(error)).slice(0, 4000),
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  await saveBackupRun(registry.db, run);
  return run;
}

/** A port on 127.0.0.1 that nothing listens on now, for the scratch PostgreSQL. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}
