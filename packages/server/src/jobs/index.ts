/**
 * # Jobs: background work over PostgreSQL (graphile-worker)
 *
 * Work that must not hold up a request (hook deliveries, file cleanup, deduplication) runs as jobs
 * of graphile-worker, a queue that lives in the same PostgreSQL: nothing else to run, jobs commit
 * with the data that causes them, and any number of processes share the work without doing it
 * twice (each job is locked by one worker at a time).
 *
 * ## Use
 *
 * ```ts
 * // 1. Define a task: a name, the schema of its payload, and what it does.
 * export const cleanFiles = defineTask('files.clean', z.object({ sha256: z.string() }),
 *   async ({ sha256 }, job) => { ... });
 *
 * // 2. Register it (and any schedule) on the process's JobQueue, before start().
 * jobs.define(cleanFiles);
 * jobs.cron(cleanFiles, '0 3 * * *', { sha256: '*' });   // every day at 03:00 (server time)
 *
 * // 3. Add jobs:
 * //    - inside the appending transaction: an AppendEffect's `writes` returns
 * //      jobStatement(cleanFiles, [{ payload }]), which writeAll runs with the entries;
 * //    - from anywhere (any transaction, or none): await addJob(db, cleanFiles, { payload }).
 * ```
 *
 * A task that throws is retried by graphile-worker with its own backoff (exp(min(attempt, 10))
 * seconds, `maxAttempts` times, 25 by default). A task that keeps its own state (hook deliveries
 * do) completes and schedules its next attempt itself with `runAt`.
 *
 * ## Lifecycle
 *
 * `npm start` migrates graphile-worker's schema with Registra's (store/jobs.ts, before the
 * migrations), then starts one runner in the process that owns the database (server.ts; the
 * cluster's primary with REGISTRA_WORKERS > 1), with REGISTRA_JOB_CONCURRENCY jobs at once on a
 * pool of its own. Shutdown stops HTTP first, then the runner (it lets running jobs finish), then
 * the database. Tests start a runner with `startTestServer(config, { jobs: true })`.
 *
 * A process killed while it runs a job leaves that job locked: graphile-worker frees it only after
 * 4 hours. Work that must go on sooner keeps its own state and a lease, and a cron job that
 * re-adds what is overdue (services/hooks/sweep.ts does so for deliveries).
 */
import { parseCronItems, run, type JobHelpers, type Runner, type TaskList } from 'graphile-worker';
import { Logger } from 'graphile-worker';
import type { Kysely, RawBuilder } from 'kysely';
import { z } from 'zod';
import type { Database } from '../db/schema.js';
import { addJobs, addJobsStatement, type JobRow } from '../store/jobs.js';

/** What graphile-worker adds to the payload of a scheduled job: the time it was scheduled for. */
const CronPayload = z.object({ _cron: z.object({ ts: z.string() }) });

/**
 * Notes a scheduled job that completed in cron_runs (kept 30 days): when cleanups, checkpoints
 * and backups last ran, and the proof that each scheduled time ran once across all processes.
 * Written after the task, outside its transaction: a process killed in between leaves no row.
 */
async function recordCronRun(helpers: JobHelpers, task: string, scheduledFor: string) {
  await helpers.withPgClient(async (client) => {
    await client.query('INSERT INTO cron_runs (task, scheduled_for) VALUES ($1, $2)', [
      task,
      scheduledFor,
    ]);
    await client.query(
      `DELETE FROM cron_runs WHERE task = $1 AND scheduled_for < now() - interval '30 days'`,
      [task],
    );
  });
}

/** A kind of job: its name, the schema of its payload, and what it does. */
export interface TaskDefinition<P> {
  name: string;
  payload: z.ZodType<P>;
  run(payload: P, job: JobHelpers): Promise<void>;
}

export function defineTask<P>(
  name: string,
  payload: z.ZodType<P>,
  run: (payload: P, job: JobHelpers) => Promise<void>,
): TaskDefinition<P> {
  return { name, payload, run };
}

/** What adding a job needs of its task: the name and the payload's type (no `run`). */
export type TaskRef<P> = Pick<TaskDefinition<P>, 'name' | 'payload'>;

/** One job of a task: its payload, and when and how it runs. */
export type JobSpec<P> = Omit<JobRow, 'task' | 'payload'> & { payload: P };

/** The statement that adds jobs of a task, for writeAll (the appending transaction). */
export function jobStatement<P>(
  task: TaskRef<P>,
  jobs: readonly JobSpec<P>[],
): RawBuilder<unknown> {
  return addJobsStatement(jobs.map((job) => ({ ...job, task: task.name })));
}

/** Adds a job now, in `db`'s transaction if it is one. */
export function addJob<P>(db: Kysely<Database>, task: TaskRef<P>, job: JobSpec<P>) {
  return addJobs(db, [{ ...job, task: task.name }]);
}

export interface JobRunnerOptions {
  /** The database, by URL: the runner keeps a pool of its own (concurrency + 2 connections). */
  connectionString: string;
  /** Jobs run at once in this process. */
  concurrency: number;
  /** Milliseconds between looks for jobs that became due (new jobs are signalled at once). */
  pollInterval?: number;
  log?: (level: string, message: string) => void;
}

export interface JobRunner {
  /** Lets running jobs finish, then stops; safe to call twice. */
  stop(): Promise<void>;
}

interface CronSpec {
  task: string;
  match: string;
  payload: Record<string, unknown>;
  identifier: string;
}

/** The tasks and schedules of a process, and the runner that works them. */
export class JobQueue {
  readonly #tasks = new Map<string, TaskDefinition<unknown>>();
  readonly #crons: CronSpec[] = [];

  define<P>(task: TaskDefinition<P>): this {
    if (this.#tasks.has(task.name)) throw new Error(`task ${task.name} is defined twice`);
    this.#tasks.set(task.name, task as TaskDefinition<unknown>);
    return this;
  }

  /**
   * Adds a job of `task` at every time `match` (a crontab pattern, server time) gives. Each time
   * is run once across all processes; times missed while nothing ran are not made up.
   */
  cron<P extends Record<string, unknown>>(
    task: TaskDefinition<P>,
    match: string,
    payload: P,
    identifier = task.name,
  ): this {
    if (!this.#tasks.has(task.name)) this.define(task);
    this.#crons.push({ task: task.name, match, payload, identifier });
    return this;
  }

  get taskNames(): string[] {
    return [...this.#tasks.keys()];
  }

  async start(options: JobRunnerOptions): Promise<JobRunner> {
    const taskList: TaskList = {};
    for (const [name, task] of this.#tasks) {
      taskList[name] = async (payload, helpers) => {
        // A scheduled job's payload also carries graphile-worker's `_cron` (its time): the task's
        // own schema is for what the task was given, so a strict one must not refuse it.
        const { _cron, ...own } = (payload ?? {}) as Record<string, unknown>;
        const parsed = task.payload.safeParse(_cron === undefined ? payload : own);
        // A payload that no longer parses would fail the same way every time: say so and drop it.
        if (!parsed.success) {
          helpers.logger.error(`job ${helpers.job.id} of ${name}: bad payload`, {
            issues: parsed.error.issues,
          });
          return;
        }
        await task.run(parsed.data, helpers);
        const cron = CronPayload.safeParse(payload);
        if (cron.success) await recordCronRun(helpers, name, cron.data._cron.ts);
      };
    }
    const log = options.log;
    const runner: Runner = await run({
      connectionString: options.connectionString,
      maxPoolSize: options.concurrency + 2,
      concurrency: options.concurrency,
      pollInterval: options.pollInterval ?? 1000,
      noHandleSignals: true,
      // Jobs are fetched and completed in batches (graphile-worker's localQueue and batched
      // completion): a round trip per batch instead of two per job (bench/README.md, Hooks).
      preset: {
        worker: {
          localQueue: { size: options.concurrency * 2 },
          completeJobBatchDelay: 5,
        },
      },
      taskList,
      parsedCronItems: parseCronItems(
        this.#crons.map((c) => ({
          task: c.task,
          match: c.match,
          payload: c.payload,
          identifier: c.identifier,
          options: { backfillPeriod: 0 },
        })),
      ),
      logger: new Logger(() => (level, message) => {
        if (log && level !== 'debug') log(level, message);
      }),
    });
    let stopped: Promise<void> | null = null;
    return {
      stop: () => (stopped ??= runner.stop()),
    };
  }
}
