import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import type { Env } from './env.js';
import { METRICS_REQUEST, type MetricsRequest } from './http/metrics.js';
import type { JobRunner } from './jobs/index.js';
import { HookMetrics } from './services/hooks/index.js';
import {
  backupSettings,
  demoUsersCreated,
  jobQueueFor,
  openDatabase,
  openRegistry,
  printReady,
  startJobRunner,
} from './server.js';
import { loadSigner } from './services/tokens.js';
import { scheduleBackups } from './backup/jobs.js';

export interface Primary {
  url: string;
  stop(): Promise<void>;
}

/** How long a worker has beyond its drain (REGISTRA_DRAIN_GRACE_MS) to stop before it is killed. */
const STOP_MARGIN_MS = 10_000;

/**
 * `registra start` with REGISTRA_WORKERS > 1. This process owns the database: it starts the
 * embedded PostgreSQL (unless DATABASE_URL is set), migrates, seeds the demo users and makes the
 * signing key, once. It then forks the HTTP workers, which share the port (node:cluster) and reach
 * the database by URL. A worker that dies is replaced. `stop` lets the workers finish their
 * requests, then stops the database. /metrics in any worker answers for all of them.
 */
export async function startPrimary(env: Env, log: (message: string) => void): Promise<Primary> {
  const database = await openDatabase(env);
  let stopping = false;
  let runner: JobRunner | null = null;
  try {
    const { registry, demoUsers, files } = await openRegistry(env, database.db);
    const signer = await loadSigner(database.db, env.REGISTRA_SIGNING_KEY, env.REGISTRA_ISSUER);
    // The jobs run here, in the process that owns the database, not in each HTTP worker; their
    // metrics join the workers' (below).
    const hookMetrics = new HookMetrics(registry);
    const jobs = jobQueueFor(registry, { signer, hookMetrics, files });
    const backups = backupSettings(env, database);
    if (backups) scheduleBackups(jobs, registry, backups);
    if (env.REGISTRA_JOB_CONCURRENCY > 0) {
      runner = await startJobRunner(env, database.url, jobs, (_level, message) => log(message));
    }

    const aggregator = new AggregatorRegistry();
    const fork = (): Worker => {
      const worker = cluster.fork({
        DATABASE_URL: database.url,
        REGISTRA_SEED_DEMO_USERS: 'false',
      });
      worker.on('message', (message: MetricsRequest) => {
        if (message?.type !== METRICS_REQUEST) return;
        Promise.all([aggregator.clusterMetrics(), hookMetrics.registry.metrics()]).then(
          ([text, own]) => worker.send({ type: METRICS_REQUEST, id: message.id, text: text + own }),
          (error: Error) =>
            worker.send({ type: METRICS_REQUEST, id: message.id, error: error.message }),
        );
      });
      return worker;
    };
    cluster.on('exit', (worker, code, signal) => {
      // A worker ends with 0 only when told to stop (or when Ctrl-C reached its process group).
      if (stopping || code === 0) return;
      log(
        `worker ${worker.process.pid} ended (${signal ?? `exit code ${code}`}); starting another`,
      );
      fork();
    });

    const listening = new Promise<string>((resolve, reject) => {
      let count = 0;
      cluster.on('listening', (_worker, address) => {
        if (++count === env.REGISTRA_WORKERS) resolve(`http://${env.HOST}:${address.port}`);
      });
      cluster.once('exit', (worker, code) => {
        if (count < env.REGISTRA_WORKERS)
          reject(new Error(`worker ${worker.process.pid} ended with ${code} before listening`));
      });
    });
    for (let i = 0; i < env.REGISTRA_WORKERS; i++) fork();
    const url = await listening;
    log(`Registra is listening on ${url} with ${env.REGISTRA_WORKERS} worker processes`);
    if (demoUsers.length > 0) log(demoUsersCreated(env, demoUsers));
    if (process.stdout.isTTY) printReady(url);

    return {
      url,
      stop: async () => {
        stopping = true;
        const workers = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
        await Promise.all(
          workers.map((w) => stopWorker(w, env.REGISTRA_DRAIN_GRACE_MS + STOP_MARGIN_MS)),
        );
        await runner?.stop();
        await database.close();
      },
    };
  } catch (error) {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
    await runner?.stop();
    await database.close();
    throw error;
  }
}

function stopWorker(worker: Worker, graceMs: number): Promise<void> {
  if (worker.isDead()) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => worker.process.kill('SIGKILL'), graceMs);
    worker.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    worker.process.kill('SIGTERM');
  });
}
