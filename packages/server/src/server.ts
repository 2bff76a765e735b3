import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { connect, type DB } from './db/database.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.js';
import { migrate } from './db/migrations.js';
import { s3Settings, type Env } from './env.js';
import { buildApp } from './http/app.js';
import { Metrics } from './http/metrics.js';
import { AuthService } from './services/auth.js';
import type { Registry } from './services/context.js';
import { openFileStorage } from './services/files/open.js';
import { configureHashing } from './services/passwords.js';
import { loadConfigFile, resolveConfigDir, seed } from './services/seed.js';
import { loadSigner } from './services/tokens.js';

export interface Database {
  db: DB;
  pool: pg.Pool;
  /** Where it is: DATABASE_URL, or the embedded server's address. */
  url: string;
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
    });
    url = embedded.url;
  }
  const { db, pool } = connect(url);
  await migrate(db);
  return {
    db,
    pool,
    url,
    close: async () => {
      await db.destroy();
      await embedded?.stop();
    },
  };
}

export async function openRegistry(
  env: Env,
  db: DB,
): Promise<{ registry: Registry; demoUsers: string[] }> {
  configureHashing({ threads: env.REGISTRA_HASH_THREADS, maxQueue: env.REGISTRA_HASH_QUEUE });
  const { configFile, usersFile } = resolveConfigDir(env.REGISTRA_CONFIG);
  const config = loadConfigFile(configFile);
  const registry: Registry = { db, config, now: () => new Date() };
  const demoUsers =
    env.REGISTRA_SEED_DEMO_USERS === 'true'
      ? await seed(db, config, usersFile, env.REGISTRA_DEMO_PASSWORD)
      : [];
  return { registry, demoUsers };
}

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  registry: Registry;
  stop(): Promise<void>;
}

/** Everything `registra start` does: database, migrations, configuration, demo users, HTTP. */
export async function startServer(env: Env): Promise<RunningServer> {
  const logger = {
    level: env.LOG_LEVEL,
    redact: ['req.headers.authorization', 'req.headers.cookie'],
  };
  const database = await openDatabase(env, (m) => env.LOG_LEVEL === 'debug' && console.error(m));
  try {
    const { registry, demoUsers } = await openRegistry(env, database.db);
    const auth = new AuthService(registry, await loadSigner(database.db, env.REGISTRA_SIGNING_KEY));
    const metrics = new Metrics(database.pool);
    const files = openFileStorage(registry.config, {
      dataDir: env.REGISTRA_DATA_DIR,
      s3: s3Settings(env),
    });
    const app = await buildApp({
      registry,
      auth,
      metrics,
      files,
      logger,
      pool: database.pool,
      requestTimeout: env.REGISTRA_REQUEST_TIMEOUT_MS,
      ...(env.REGISTRA_TRUST_PROXY ? { trustProxy: env.REGISTRA_TRUST_PROXY } : {}),
    });
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
    return {
      app,
      url,
      registry,
      stop: async () => {
        await app.close();
        await database.close();
      },
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}

/** The startup line that says how to log in, without printing a password that was set. */
export function demoUsersCreated(env: Env, demoUsers: string[]): string {
  const password =
    env.REGISTRA_DEMO_PASSWORD === 'registra-demo' ? 'registra-demo' : '$REGISTRA_DEMO_PASSWORD';
  return `demo users created: ${demoUsers.join(', ')} (password: ${password})`;
}
