import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  addJob,
  defineTask,
  JobQueue,
  jobStatement,
  type JobRunner,
  type TaskRef,
} from '../src/jobs/index.js';
import { writeAll } from '../src/store/append.js';
import { freshDatabase } from './harness.js';

type Fresh = Awaited<ReturnType<typeof freshDatabase>>;

describe('the job queue (graphile-worker)', () => {
  let database: Fresh;
  const seen: string[] = [];
  const noted = defineTask('test.note', z.object({ text: z.string() }), async ({ text }) => {
    seen.push(text);
  });
  let runner: JobRunner | null = null;

  beforeAll(async () => {
    database = await freshDatabase();
  });
  afterAll(async () => {
    await runner?.stop();
    await database.drop();
  });

  const waitFor = async (text: string) =>
    expect.poll(() => seen.includes(text), { timeout: 20_000 }).toBe(true);

  it('runs jobs added inside a transaction with other writes, and from anywhere', async () => {
    // Added before any runner exists: the job waits in PostgreSQL.
    await database.db.transaction().execute(async (trx) => {
      await writeAll(trx, [
        sql`INSERT INTO registration_counters (key, value) VALUES ('jobs-test', 1)`,
        jobStatement(noted, [{ payload: { text: 'in the transaction' } }]),
      ]);
    });
    await addJob(database.db, noted, { payload: { text: 'from anywhere' } });
    // The trigger hands the rows to graphile-worker and keeps none.
    const left = await sql<{ n: string }>`SELECT count(*) AS n FROM job_requests`.execute(
      database.db,
    );
    expect(Number(left.rows[0]?.n)).toBe(0);

    runner = await new JobQueue()
      .define(noted)
      .start({ connectionString: database.url, concurrency: 2, pollInterval: 200 });
    await waitFor('in the transaction');
    await waitFor('from anywhere');
  });

  it('adds nothing when the transaction rolls back', async () => {
    await expect(
      database.db.transaction().execute(async (trx) => {
        await writeAll(trx, [jobStatement(noted, [{ payload: { text: 'rolled back' } }])]);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    await addJob(database.db, noted, { payload: { text: 'after the rollback' } });
    await waitFor('after the rollback');
    expect(seen).not.toContain('rolled back');
  });

  it('keeps one pending job per key, and runs a job at its runAt', async () => {
    const later = new Date(Date.now() + 1500);
    await database.db.transaction().execute(async (trx) => {
      await writeAll(trx, [
        jobStatement(noted, [
          { payload: { text: 'keyed 1' }, jobKey: 'k', runAt: later },
          { payload: { text: 'keyed 2' }, jobKey: 'k', runAt: later },
        ]),
      ]);
    });
    await addJob(database.db, noted, {
      payload: { text: 'keyed 3' },
      jobKey: 'k',
      runAt: new Date(Date.now() + 60_000),
      preserveRunAt: true,
    });
    await waitFor('keyed 3');
    expect(seen.filter((t) => t.startsWith('keyed'))).toEqual(['keyed 3']);
  });

  it('runs a scheduled job whose task takes no payload, and notes the run once', async () => {
    // A task with a strict empty payload, as the checkpoint's: graphile-worker's cron adds
    // `_cron` to the payload of every scheduled job, which such a schema must not refuse.
    const ticks: string[] = [];
    const tick = defineTask('test.tick', z.object({}).strict(), async () => {
      ticks.push('tick');
    });
    const ts = new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString();
    const scheduled: TaskRef<{ _cron: { ts: string; backfilled: boolean } }> = {
      name: tick.name,
      payload: z.object({ _cron: z.object({ ts: z.string(), backfilled: z.boolean() }) }),
    };
    await addJob(database.db, scheduled, { payload: { _cron: { ts, backfilled: false } } });
    const ticking = await new JobQueue()
      .define(tick)
      .start({ connectionString: database.url, concurrency: 1, pollInterval: 200 });
    try {
      await expect.poll(() => ticks.length, { timeout: 20_000 }).toBe(1);
      await expect
        .poll(async () => {
          const runs = await sql<{ n: string }>`
            SELECT count(*) AS n FROM cron_runs WHERE task = 'test.tick' AND scheduled_for = ${ts}
          `.execute(database.db);
          return Number(runs.rows[0]?.n);
        })
        .toBe(1);
    } finally {
      await ticking.stop();
    }
  });
});
