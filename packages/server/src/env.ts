import { z } from 'zod';
import type { S3Settings } from './services/files/s3-storage.js';
import type { BackupS3Settings } from './backup/s3-target.js';

/** Settings read from the environment, checked once at start. Secrets never have a default. */
const EnvSchema = z.object({
  DATABASE_URL: z.string().url().optional(),
  /** A streaming replica of DATABASE_URL (or of the embedded one) that takes reads. */
  DATABASE_REPLICA_URL: z.string().url().optional(),
  /** How long a read waits for the replica to replay the caller's write before the primary. */
  REGISTRA_REPLICA_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  REGISTRA_DATA_DIR: z.string().default('./.registra'),
  /** The key-encryption keys' file (PROTOCOL 13); unset, REGISTRA_DATA_DIR/keys.json (mode 0600). */
  REGISTRA_KEY_FILE: z.string().min(1).optional(),
  REGISTRA_CONFIG: z.string().default('civil-registry'),
  REGISTRA_DEMO_PASSWORD: z.string().min(8).default('registra-demo'),
  /** Default: 'true' on the embedded database, 'false' with DATABASE_URL (see readEnv). */
  REGISTRA_SEED_DEMO_USERS: z.enum(['true', 'false']).optional(),
  REGISTRA_SIGNING_KEY: z.string().optional(),
  /** The access tokens' `iss`, naming the deployment. Default: `http://HOST:PORT`. */
  REGISTRA_ISSUER: z.string().min(1).optional(),
  REGISTRA_PG_PORT: z.coerce.number().int().min(1).max(65535).default(5433),
  /** HTTP processes sharing the port (node:cluster); more than one uses more than one core. */
  REGISTRA_WORKERS: z.coerce.number().int().min(1).max(64).default(1),
  /** Milliseconds a request's headers and body may take to arrive before it is answered 408. */
  REGISTRA_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  /** Milliseconds requests in flight may take to finish on SIGTERM (draining) before being cut. */
  REGISTRA_DRAIN_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(30_000),
  /** Load balancers (addresses or CIDRs, comma-separated) whose X-Forwarded-For is believed. */
  REGISTRA_TRUST_PROXY: z.string().optional(),
  /** Threads that hash passwords, per process, and hashes that may wait for one (then 503). */
  REGISTRA_HASH_THREADS: z.coerce.number().int().min(1).max(64).default(1),
  REGISTRA_HASH_QUEUE: z.coerce.number().int().min(0).max(10_000).default(32),
  /** Files in an S3-compatible bucket (PROTOCOL 9); unset, under REGISTRA_DATA_DIR/files. */
  REGISTRA_S3_BUCKET: z.string().min(1).optional(),
  REGISTRA_S3_ENDPOINT: z.string().url().optional(),
  REGISTRA_S3_REGION: z.string().min(1).default('us-east-1'),
  REGISTRA_S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  REGISTRA_S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  /** Bucket in the URL's path, not its host name: the default with REGISTRA_S3_ENDPOINT. */
  REGISTRA_S3_FORCE_PATH_STYLE: z.enum(['true', 'false']).optional(),
  /**
   * Background jobs (hook deliveries, cleanups) run at once by the process that owns the
   * database; 0: none here (`registra worker` processes run them).
   */
  REGISTRA_JOB_CONCURRENCY: z.coerce.number().int().min(0).max(200).default(16),
  /** The deployment's public URL: the issuer id of its credentials and where status lists are. */
  REGISTRA_PUBLIC_URL: z.string().url().optional(),
  /** When signed checkpoints are made: a crontab pattern, server time (default hourly). */
  REGISTRA_CHECKPOINT_SCHEDULE: z
    .string()
    .regex(/^\S+( \S+){4}$/, 'must be a crontab pattern, e.g. "0 * * * *"')
    .default('0 * * * *'),
  /** When unreferenced files and expired uploads are deleted: a crontab pattern, server time. */
  REGISTRA_FILE_CLEANUP_SCHEDULE: z
    .string()
    .regex(/^\S+( \S+){4}$/, 'must be a crontab pattern, e.g. "17 3 * * *"')
    .default('17 3 * * *'),
  /**
   * Single sign-on for staff: the OpenID Connect provider's issuer URL, Registra's client id
   * there, its secret (none: a public client with PKCE), and the name on the login button. The
   * configuration's `singleSignOn` says what the provider's claims mean.
   */
  REGISTRA_OIDC_ISSUER: z.string().url().optional(),
  REGISTRA_OIDC_CLIENT_ID: z.string().min(1).optional(),
  REGISTRA_OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  REGISTRA_OIDC_NAME: z.string().min(1).max(60).default('your organisation'),
  /** The Chromium that prints certificates to PDF. */
  REGISTRA_CHROMIUM: z.string().default('/usr/bin/chromium'),
  /**
   * Backups (backup/): base backups and the archived WAL go here; the embedded PostgreSQL then
   * archives its WAL into it. Unset: no backups are taken.
   */
  REGISTRA_BACKUP_DIR: z.string().min(1).optional(),
  /** When base backups and restore tests run (crontab patterns, server time). */
  REGISTRA_BACKUP_SCHEDULE: z.string().min(9).default('15 1 * * *'),
  REGISTRA_RESTORE_TEST_SCHEDULE: z.string().min(9).default('45 3 * * *'),
  /** Retention: the newest base backups kept, and those younger than this many days (0: none). */
  REGISTRA_BACKUP_KEEP: z.coerce.number().int().min(1).default(7),
  REGISTRA_BACKUP_KEEP_DAYS: z.coerce.number().int().min(0).default(0),
  /**
   * Backups to an S3-compatible bucket: REGISTRA_BACKUP_DIR is then a spool (WAL is uploaded
   * every minute, base backups once taken). Endpoint, region, credentials and path style unset
   * here are those of the files' bucket (REGISTRA_S3_*).
   */
  REGISTRA_BACKUP_S3_BUCKET: z.string().min(1).optional(),
  REGISTRA_BACKUP_S3_PREFIX: z
    .string()
    .regex(/^([A-Za-z0-9._-]+\/)*$/, 'a key prefix ending with /, e.g. "registra/"')
    .default(''),
  REGISTRA_BACKUP_S3_ENDPOINT: z.string().url().optional(),
  REGISTRA_BACKUP_S3_REGION: z.string().min(1).optional(),
  REGISTRA_BACKUP_S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  REGISTRA_BACKUP_S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  REGISTRA_BACKUP_S3_FORCE_PATH_STYLE: z.enum(['true', 'false']).optional(),
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** The settings, with the defaults that depend on other settings filled in. */
export type Env = z.infer<typeof EnvSchema> & {
  REGISTRA_SEED_DEMO_USERS: 'true' | 'false';
  REGISTRA_ISSUER: string;
};

/** The S3 settings of the environment, or undefined when files stay on local disk. */
export function s3Settings(env: Env): S3Settings | undefined {
  if (!env.REGISTRA_S3_BUCKET) return undefined;
  return {
    bucket: env.REGISTRA_S3_BUCKET,
    endpoint: env.REGISTRA_S3_ENDPOINT,
    region: env.REGISTRA_S3_REGION,
    accessKeyId: env.REGISTRA_S3_ACCESS_KEY_ID,
    secretAccessKey: env.REGISTRA_S3_SECRET_ACCESS_KEY,
    forcePathStyle: env.REGISTRA_S3_FORCE_PATH_STYLE
      ? env.REGISTRA_S3_FORCE_PATH_STYLE === 'true'
      : env.REGISTRA_S3_ENDPOINT !== undefined,
  };
}

/** Where backups go in a bucket, or undefined when they stay in REGISTRA_BACKUP_DIR. */
export function backupS3Settings(env: Env): BackupS3Settings | undefined {
  if (!env.REGISTRA_BACKUP_S3_BUCKET) return undefined;
  const endpoint = env.REGISTRA_BACKUP_S3_ENDPOINT ?? env.REGISTRA_S3_ENDPOINT;
  const pathStyle = env.REGISTRA_BACKUP_S3_FORCE_PATH_STYLE ?? env.REGISTRA_S3_FORCE_PATH_STYLE;
  return {
    bucket: env.REGISTRA_BACKUP_S3_BUCKET,
    prefix: env.REGISTRA_BACKUP_S3_PREFIX,
    endpoint,
    region: env.REGISTRA_BACKUP_S3_REGION ?? env.REGISTRA_S3_REGION,
    accessKeyId: env.REGISTRA_BACKUP_S3_ACCESS_KEY_ID ?? env.REGISTRA_S3_ACCESS_KEY_ID,
    secretAccessKey: env.REGISTRA_BACKUP_S3_SECRET_ACCESS_KEY ?? env.REGISTRA_S3_SECRET_ACCESS_KEY,
    forcePathStyle: pathStyle ? pathStyle === 'true' : endpoint !== undefined,
  };
}

export function readEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const parsed = EnvSchema.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid environment:\n${problems.join('\n')}`);
  }
  const env = parsed.data;
  return {
    ...env,
    // Demo users with a published password belong on a trial install (`npm start`), not on a
    // database an operator brought: there they are created only when asked for.
    REGISTRA_SEED_DEMO_USERS: env.REGISTRA_SEED_DEMO_USERS ?? (env.DATABASE_URL ? 'false' : 'true'),
    REGISTRA_ISSUER: env.REGISTRA_ISSUER ?? `http://${hostInUrl(env.HOST)}:${env.PORT}`,
  };
}

/** An IPv6 address goes in brackets in a URL. */
const hostInUrl = (host: string) => (host.includes(':') ? `[${host}]` : host);
