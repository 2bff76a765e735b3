import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { ownForPostgres } from '../src/backup/restore.js';
import { postgresIds } from '../src/db/postgres-user.js';

const run = promisify(execFile);

/** The newest PostgreSQL that Debian installed (with pg_basebackup), for replication tests. */
export function debianMajor(): number {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root)
    ? readdirSync(root)
        .filter((name) => existsSync(path.join(root, name, 'bin', 'pg_basebackup')))
        .map(Number)
        .sort((a, b) => b - a)
    : [];
  if (majors[0] === undefined) {
    throw new Error("these tests need Debian's PostgreSQL server: apt-get install postgresql");
  }
  return majors[0];
}

export const debianBin = (program: string, major = debianMajor()) =>
  `/usr/lib/postgresql/${major}/bin/${program}`;

export const USER = 'registra';
export const PASSWORD = 'local-test-password';

/** A PostgreSQL of Debian's that a test runs itself on a data directory of its own. */
export interface LocalPostgres {
  dataDir: string;
  port: number;
  /** Its `registra` database. */
  url: string;
  stop(): Promise<void>;
}

const asPostgres = (cwd: string) => ({ ...postgresIds(), cwd });

/** initdb, as `postgres` when the test runs as root, with a password for `registra`. */
export async function initCluster(dataDir: string): Promise<void> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const pwfile = `${dataDir}.pw`;
  writeFileSync(pwfile, PASSWORD);
  ownForPostgres(dataDir);
  const { uid, gid } = postgresIds();
  if (uid !== undefined && gid !== undefined) chownSync(pwfile, uid, gid);
  await run(
    debianBin('initdb'),
    ['-D', dataDir, '-U', USER, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '-E', 'UTF8'],
    asPostgres(path.dirname(dataDir)),
  );
}

/** Starts PostgreSQL on an initialised (or base-backed-up) data directory. */
export async function startCluster(
  dataDir: string,
  port: number,
  settings: Record<string, string> = {},
): Promise<LocalPostgres> {
  const flags = [
    `-p ${port}`,
    '-c listen_addresses=127.0.0.1',
    "-c unix_socket_directories=''",
    ...Object.entries(settings).map(([k, v]) => `-c ${k}=${quote(v)}`),
  ].join(' ');
  const logFile = `${dataDir}.log`;
  writeFileSync(logFile, '');
  const { uid, gid } = postgresIds();
  if (uid !== undefined && gid !== undefined) chownSync(logFile, uid, gid);
  await run(
    debianBin('pg_ctl'),
    ['start', '-D', dataDir, '-l', logFile, '-o', flags, '-w', '-t', '300'],
    asPostgres(dataDir),
  );
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/registra`;
  return {
    dataDir,
    port,
    url,
    stop: async () => {
      await run(
        debianBin('pg_ctl'),
        ['stop', '-D', dataDir, '-m', 'fast', '-w'],
        asPostgres(dataDir),
      ).catch(() => undefined);
    },
  };
}

/** A new cluster with its `registra` database. */
export async function newCluster(
  dataDir: string,
  port: number,
  settings: Record<string, string> = {},
): Promise<LocalPostgres> {
  await initCluster(dataDir);
  const cluster = await startCluster(dataDir, port, settings);
  const admin = new pg.Client({
    connectionString: cluster.url.replace(/\/registra$/, '/postgres'),
  });
  await admin.connect();
  await admin.query('CREATE DATABASE registra');
  await admin.end();
  return cluster;
}

/** A value for postgres -c inside pg_ctl -o, which a shell splits: single-quoted. */
function quote(value: string): string {
  return /^[\w.:/-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
