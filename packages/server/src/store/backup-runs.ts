import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

export interface BackupRun {
  kind: 'base-backup' | 'restore-test';
  label: string | null;
  ok: boolean;
  seconds: number;
  bytes?: number | undefined;
  records?: number | undefined;
  entries?: number | undefined;
  differences?: number | undefined;
  message?: string | undefined;
}

export async function saveBackupRun(db: Kysely<Database>, run: BackupRun): Promise<void> {
  await db
    .insertInto('backup_runs')
    .values({
      kind: run.kind,
      label: run.label,
      ok: run.ok,
      seconds: run.seconds,
      bytes: run.bytes ?? null,
      records: run.records ?? null,
      entries: run.entries ?? null,
      differences: run.differences ?? null,
      message: run.message ?? null,
    })
    .execute();
}

export interface LatestRun {
  ok: boolean;
  finishedAt: Date;
  seconds: number;
  records: number | null;
}

/** The latest run of a kind, and the latest that succeeded (both null when none). */
export async function latestBackupRuns(
  db: Kysely<Database>,
  kind: BackupRun['kind'],
): Promise<{ latest: LatestRun | null; latestOk: LatestRun | null }> {
  const query = (okOnly: boolean) =>
    db
      .selectFrom('backup_runs')
      .select(['ok', 'finished_at', 'seconds', 'records'])
      .where('kind', '=', kind)
      .$if(okOnly, (q) => q.where('ok', '=', true))
      .orderBy('finished_at', 'desc')
      .limit(1)
      .executeTakeFirst();
  const as = (row: Awaited<ReturnType<typeof query>>): LatestRun | null =>
    row
      ? { ok: row.ok, finishedAt: row.finished_at, seconds: row.seconds, records: row.records }
      : null;
  const [latest, latestOk] = await Promise.all([query(false), query(true)]);
  return { latest: as(latest), latestOk: as(latestOk) };
}
