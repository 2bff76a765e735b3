import { sql, type Kysely, type RawBuilder } from 'kysely';
import type pg from 'pg';
import { Logger, runMigrations } from 'graphile-worker';
import type { Database } from '../db/schema.js';

/** A job to add, as the store writes it (see jobs/index.ts for the typed way in). */
export interface JobRow {
  task: string;
  payload: unknown;
  runAt?: Date | undefined;
  /** At most one pending job per key: adding again updates it (see `preserveRunAt`). */
  jobKey?: string | undefined;
  /** With a key: keep the pending job's run time instead of moving it to `runAt`. */
  preserveRunAt?: boolean | undefined;
  /** Jobs of one queue run one at a time, in order. Keep the number of queue names small. */
  queueName?: string | undefined;
  maxAttempts?: number | undefined;
  priority?: number | undefined;
}

/**
 * The INSERT that adds jobs, as one data-modifying statement: it can be a CTE of writeAll (the
 * appending transaction) or run on its own in any transaction or none. The rows go to
 * `job_requests`, whose statement trigger (migration 0008_1_jobs) hands them to graphile-worker's
 * `add_jobs` and deletes them, so the jobs commit, or vanish, with the transaction.
 */
export function addJobsStatement(jobs: readonly JobRow[]): RawBuilder<unknown> {
  const rows = JSON.stringify(
    jobs.map((job) => ({
      task: job.task,
      payload: job.payload ?? {},
      run_at: job.runAt?.toISOString() ?? null,
      job_key: job.jobKey ?? null,
      preserve_run_at: job.preserveRunAt ?? false,
      queue_name: job.queueName ?? null,
      max_attempts: job.maxAttempts ?? null,
      priority: job.priority ?? null,
    })),
  );
  return sql`
    INSERT INTO job_requests (task, payload, run_at, job_key, preserve_run_at, queue_name,
      max_attempts, priority)
    SELECT task, payload, run_at, job_key, preserve_run_at, queue_name, max_attempts, priority
    FROM jsonb_to_recordset(${rows}::jsonb) AS x(task text, payload json, run_at timestamptz,
      job_key text, preserve_run_at boolean, queue_name text, max_attempts integer,
      priority integer)`;
}

/** Adds jobs now, in `db`'s transaction if it is one. */
export async function addJobs(db: Kysely<Database>, jobs: readonly JobRow[]): Promise<void> {
  if (jobs.length > 0) await addJobsStatement(jobs).execute(db);
}

/**
 * graphile-worker's own schema (`graphile_worker`), migrated by graphile-worker itself. It runs
 * before Registra's migrations, whose `job_requests` trigger calls into it.
 */
export async function migrateJobQueue(pool: pg.Pool): Promise<void> {
  await runMigrations({ pgPool: pool, logger: silentLogger() });
}

/** graphile-worker's logger, writing nothing (its migrations say only "migrating"). */
export function silentLogger(): Logger {
  return new Logger(() => () => undefined);
}
