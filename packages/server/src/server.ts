import type { FastifyInstance } from 'fastify';
import cluster from 'node:cluster';
import type pg from 'pg';
import { connect, type DB } from './db/database.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.js';
import { migrate } from './db/migrations.js';
import path from 'node:path';
import { scheduleBackups, type BackupSettings } from './backup/jobs.js';
import { openBackupTarget, retentionOf } from './backup/open.js';
import { backupStatus } from './backup/status.js';
import { ReadReplica } from './db/replica.js';
import { JobQueue, type JobRunner } from './jobs/index.js';
import type { AppendEffect } from './services/append/effects.js';
import { deduplicationEffect, deduplicationTask } from './services/deduplication/job.js';
import { consentExpiryTask } from './services/exchange.js';
import { dciOutbox, defineDciJobs } from './services/dci/index.js';
import { s3Settings, type Env } from './env.js';
import { buildApp } from './http/app.js';
import { Drain } from './http/drain.js';
import { Metrics } from './http/metrics.js';
import { AuthService } from './services/auth.js';
import type { Registry } from './services/context.js';
import { FileKeyProvider, Vault } from './services/vault/index.js';
import { FILE_CLEANUP_SCHEDULE, fileCleanupTask } from './services/files/cleanup.js';
import { openFileStorage } from './services/files/open.js';
import type { FileStorage } from './services/files/storage.js';
import { checkpointTask, DEFAULT_CHECKPOINT_SCHEDULE } from './services/checkpoint-job.js';
import { Issuer } from './services/issuer.js';
import { SignOn } from './services/sign-on.js';
import { configureHashing } from './services/passwords.js';
import { loadConfigFile, resolveConfigDir, seed } from './services/seed.js';
import { loadSigner, type Signer } from './services/tokens.js';
import {
  defineAdapterJobs,
  inAdapterPullers,
  outAdapterSenders,
} from './services/adapters/index.js';
import { defineHookJobs, hookOutbox, hookSigners, HookMetrics } from './services/hooks/index.js';

export interface Database {
  db: DB;
  pool: pg.Pool;
  /** Where it is: DATABASE_URL, or the embedded server's address. */
  url: string;
  /** The embedded cluster's data directory; null with DATABASE_URL. */
  dataDir: string | null;
  close(): Promise<void>;
}

/** The database Registra runs on: DATABASE_URL when set, else the embedded PostgreSQL. */
export async function openDatabase(
  env: Env,
  log: (message: string) => void = () => undefined,
): Promise<Database> {
  let embedded: EmbeddedDatabase | null = null;
  let url = env.DATABASE_URL;
  if (!url) {
    embedded = await startEmbeddedPostgres({
      dataDir: env.REGISTRA_DATA_DIR,
      port: env.REGISTRA_PG_PORT,
      log,
      ...(env.REGISTRA_BACKUP_DIR ? { walArchiveDir: env.REGISTRA_BACKUP_DIR } : {}),
    });
    url = embedded.url;
  }
  const { db, pool } = connect(url);
  await migrate({ db, pool });
  return {
    db,
    pool,
    url,
    dataDir: embedded ? path.join(path.resolve(env.REGISTRA_DATA_DIR), 'pg') : null,
    close: async () => {
      await db.destroy();
      await embedded?.stop();
    },
  };
}

/**
 * Where and when backups are taken, when REGISTRA_BACKUP_DIR is set. Not in a cluster's HTTP
 * workers: the primary, which owns the embedded data directory, runs the backup jobs (a runner
 * only takes jobs of the tasks it defines).
 */
export function backupSettings(env: Env, database: Database): BackupSettings | null {
  if (!env.REGISTRA_BACKUP_DIR || cluster.isWorker) return null;
  return {
    target: openBackupTarget(env),
    source: { url: database.url, dataDir: database.dataDir },
    schedule: env.REGISTRA_BACKUP_SCHEDULE,
    restoreTestSchedule: env.REGISTRA_RESTORE_TEST_SCHEDULE,
    retention: retentionOf(env),
  };
}

export async function openRegistry(
  env: Env,
  db: DB,
): Promise<{ registry: Registry; demoUsers: string[]; files: FileStorage }> {
  configureHashing({ threads: env.REGISTRA_HASH_THREADS, maxQueue: env.REGISTRA_HASH_QUEUE });
  const { configFile, usersFile } = resolveConfigDir(env.REGISTRA_CONFIG);
  const config = loadConfigFile(configFile);
  // Checked at start in every process: a hook that is on needs its secret, and adapters their
  // headers' variables and expressions that compile.
  hookSigners(config);
  outAdapterSenders(config);
  inAdapterPullers(config);
  const keys = env.REGISTRA_KEY_FILE
    ? new FileKeyProvider(env.REGISTRA_KEY_FILE)
    : FileKeyProvider.inDataDir(env.REGISTRA_DATA_DIR);
  const registry: Registry = { db, config, now: () => new Date(), vault: await Vault.open(keys) };
  if (env.DATABASE_REPLICA_URL) {
    const replica = connect(env.DATABASE_REPLICA_URL);
    registry.replica = new ReadReplica(replica.db, db, env.REGISTRA_REPLICA_WAIT_MS);
  }
  registry.effects = appendEffectsFor(registry);
  const demoUsers =
    env.REGISTRA_SEED_DEMO_USERS === 'true'
      ? await seed(db, config, usersFile, env.REGISTRA_DEMO_PASSWORD)
      : [];
  const files = openFileStorage(config, { dataDir: env.REGISTRA_DATA_DIR, s3: s3Settings(env) });
  return { registry, demoUsers, files };
}

/** What the server's jobs work with besides the registry. */
export interface JobServices {
  signer: Signer;
  hookMetrics: HookMetrics;
  files: FileStorage;
  /** Where hooks' secrets are read (default: the process's environment). */
  env?: Readonly<Record<string, string | undefined>>;
  /** The issuer named in what the server signs (checkpoints). */
  publicUrl?: string;
  /** When checkpoints are made: a crontab pattern (default hourly). */
  checkpointSchedule?: string;
  /** When unreferenced files and expired uploads are deleted (default daily, 03:17). */
  fileCleanupSchedule?: string;
}

/**
 * Single sign-on, when REGISTRA_OIDC_ISSUER names a provider: the configuration must then say
 * what its claims mean (`singleSignOn`), or the server does not start.
 */
export function signOnOf(env: Env, registry: Registry): { signOn?: SignOn } {
  if (!env.REGISTRA_OIDC_ISSUER) return {};
  const mapping = registry.config.document.singleSignOn;
  if (!mapping) {
    throw new Error(
      'REGISTRA_OIDC_ISSUER is set but the configuration has no `singleSignOn` mapping of claims to role and office',
    );
  }
  if (!env.REGISTRA_OIDC_CLIENT_ID) {
    throw new Error('REGISTRA_OIDC_ISSUER is set: set REGISTRA_OIDC_CLIENT_ID too');
  }
  return {
    signOn: new SignOn(
      registry,
      {
        issuer: env.REGISTRA_OIDC_ISSUER,
        clientId: env.REGISTRA_OIDC_CLIENT_ID,
        clientSecret: env.REGISTRA_OIDC_CLIENT_SECRET,
        name: env.REGISTRA_OIDC_NAME,
        publicUrl: publicUrlOf(env),
      },
      mapping,
    ),
  };
}

/** The deployment's public URL: REGISTRA_PUBLIC_URL, else where it listens. */
export const publicUrlOf = (env: Env) =>
  env.REGISTRA_PUBLIC_URL ?? `http://${env.HOST}:${env.PORT}`;

/** Every task and schedule of the server, on one queue (jobs/index.ts): add yours here. */
export function jobQueueFor(registry: Registry, services: JobServices): JobQueue {
  const jobs = new JobQueue()
    .define(deduplicationTask(registry))
    .define(consentExpiryTask(registry))
    .cron(
      fileCleanupTask(registry, services.files),
      services.fileCleanupSchedule ?? FILE_CLEANUP_SCHEDULE,
      {},
    )
    .cron(
      checkpointTask(
        registry,
        new Issuer(
          registry.db,
          services.publicUrl ?? 'http://127.0.0.1:3000',
          registry.config.document.name,
        ),
      ),
      services.checkpointSchedule ?? DEFAULT_CHECKPOINT_SCHEDULE,
      {},
    );
  defineHookJobs(jobs, registry, services.signer, services.hookMetrics, services.env);
  defineAdapterJobs(jobs, registry, services.env);
  defineDciJobs(jobs, registry, services.env);
  return jobs;
}

/** What else happens when entries are appended (services/append/effects.ts): add yours here. */
export function appendEffectsFor(registry: Registry): AppendEffect[] {
  return [hookOutbox(registry.config), deduplicationEffect(registry), dciOutbox(registry.config)];
}

/** The job runner of the process that owns the database (jobs/index.ts). */
export function startJobRunner(
  env: Env,
  url: string,
  jobs: JobQueue,
  log: (level: string, message: string) => void,
): Promise<JobRunner> {
  return jobs.start({ connectionString: url, concurrency: env.REGISTRA_JOB_CONCURRENCY, log });
}

/** pino-pretty, for a terminal: time of day, level and message, without pid and host. */
export const PRETTY = {
  target: 'pino-pretty',
  options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,reqId', singleLine: true },
};

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  registry: Registry;
  stop(): Promise<void>;
}

/**
 * `registra worker`: the job runner alone, without HTTP, for deployments that scale job workers
 * apart from API nodes (ARCHITECTURE, Scale). Any number of them share the jobs.
 */
export async function startWorker(env: Env): Promise<{ stop(): Promise<void> }> {
  const database = await openDatabase(env);
  try {
    const { registry, files } = await openRegistry(env, database.db);
    const signer = await loadSigner(database.db, env.REGISTRA_SIGNING_KEY, env.REGISTRA_ISSUER);
    const jobs = jobQueueFor(registry, {
      signer,
      hookMetrics: new HookMetrics(registry),
      files,
      publicUrl: publicUrlOf(env),
      checkpointSchedule: env.REGISTRA_CHECKPOINT_SCHEDULE,
      fileCleanupSchedule: env.REGISTRA_FILE_CLEANUP_SCHEDULE,
    });
    const backups = backupSettings(env, database);
    if (backups) scheduleBackups(jobs, registry, backups);
    const runner = await jobs.start({
      connectionString: database.url,
      concurrency: Math.max(1, env.REGISTRA_JOB_CONCURRENCY),
      log: (level, message) => level === 'error' && console.error(message),
    });
    return {
      stop: async () => {
        await runner.stop();
        await database.close();
      },
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}

/** Everything `registra start` does: database, migrations, configuration, demo users, HTTP. */
export async function startServer(env: Env): Promise<RunningServer> {
  const logger = {
    level: env.LOG_LEVEL,
    redact: ['req.headers.authorization', 'req.headers.cookie'],
    // A person at a terminal reads lines; a log collector reads JSON.
    ...(process.stdout.isTTY ? { transport: PRETTY } : {}),
  };
  const database = await openDatabase(env, (m) => env.LOG_LEVEL === 'debug' && console.error(m));
  let runner: JobRunner | null = null;
  try {
    const { registry, demoUsers, files } = await openRegistry(env, database.db);
    const signer = await loadSigner(database.db, env.REGISTRA_SIGNING_KEY, env.REGISTRA_ISSUER);
    const auth = new AuthService(registry, signer);
    // In a cluster worker the jobs run in the primary, which serves their metrics (cluster.ts).
    const ownsJobs = cluster.isPrimary && env.REGISTRA_JOB_CONCURRENCY > 0;
    const hookMetrics = new HookMetrics(registry);
    const metrics = new Metrics(database.pool, ownsJobs ? [hookMetrics.registry] : []);
    const jobs = jobQueueFor(registry, {
      signer,
      hookMetrics,
      files,
      publicUrl: publicUrlOf(env),
      checkpointSchedule: env.REGISTRA_CHECKPOINT_SCHEDULE,
      fileCleanupSchedule: env.REGISTRA_FILE_CLEANUP_SCHEDULE,
    });
    const backups = backupSettings(env, database);
    if (backups) scheduleBackups(jobs, registry, backups);
    metrics.observeBackups(() => backupStatus(database.db));
    if (registry.replica) metrics.observeReplica(registry.replica.counts);
    const drain = new Drain();
    const app = await buildApp({
      registry,
      auth,
      drain,
      metrics,
      files,
      logger,
      pool: database.pool,
      publicUrl: publicUrlOf(env),
      chromiumPath: env.REGISTRA_CHROMIUM,
      ...signOnOf(env, registry),
      requestTimeout: env.REGISTRA_REQUEST_TIMEOUT_MS,
      ...(env.REGISTRA_TRUST_PROXY ? { trustProxy: env.REGISTRA_TRUST_PROXY } : {}),
    });
    if (ownsJobs) {
      runner = await startJobRunner(env, database.url, jobs, (level, message) =>
        level === 'error' ? app.log.error(message) : app.log.info(message),
      );
    }
    await app.listen({ host: env.HOST, port: env.PORT });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : env.PORT;
    const url = `http://${env.HOST}:${port}`;
    app.log.info(
      {
        url,
        configuration: `${registry.config.document.id}@${registry.config.version}`,
        files: files.description,
      },
      `Registra is listening on ${url}`,
    );
    if (demoUsers.length > 0) app.log.info(demoUsersCreated(env, demoUsers));
    if (process.stdout.isTTY && cluster.isPrimary) printReady(url);
    return {
      app,
      url,
      registry,
      // Drains HTTP (new requests refused, those held answered), then lets running jobs finish.
      stop: async () => {
        await drain.close(app, env.REGISTRA_DRAIN_GRACE_MS);
        await runner?.stop();
        await registry.replica?.db.destroy();
        await database.close();
      },
    };
  } catch (error) {
    await runner?.stop();
    await database.close();
    throw error;
  }
}

/** The address to open, plainly, for the person who just typed `npm start`. */
export function printReady(url: string): void {
  console.log(`\n  Registra is ready: open ${url} in a browser\n`);
}

/** The startup line that says how to log in, without printing a password that was set. */
export function demoUsersCreated(env: Env, demoUsers: string[]): string {
  const password =
    env.REGISTRA_DEMO_PASSWORD === 'registra-demo' ? 'registra-demo' : '$REGISTRA_DEMO_PASSWORD';
  return `demo users created: ${demoUsers.join(', ')} (password: ${password})`;
}
