import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { ServerProcess } from '../../../test/support/server-process.js';
import { fixedPort } from './ports.js';

/**
 * Crash-only start (issue 8, part 4): `registra start` SIGKILLed, with its embedded PostgreSQL
 * left running or killed as well, comes back healthy on the same data directory by itself, with
 * the data written before the crash. Real processes: the server is `cli.ts start` in a child
 * process, PostgreSQL the embedded one it starts. Each test has its own data directory.
 */

const PASSWORD = 'crash-test-password';
const SURVIVOR = { username: 'survivor', password: 'survivor-password' };

/** `npm start` on a data directory of its own. */
class Installation {
  readonly dataDir = mkdtempSync(path.join(tmpdir(), 'registra-crash-'));
  readonly pidFile = path.join(this.dataDir, 'pg', 'postmaster.pid');
  server!: ServerProcess;

  async start(): Promise<void> {
    this.server ??= new ServerProcess({
      REGISTRA_DATA_DIR: this.dataDir,
      REGISTRA_PG_PORT: String(await fixedPort()),
      REGISTRA_DEMO_PASSWORD: PASSWORD,
    });
    await this.server.start();
  }

  async url(path: string): Promise<string> {
    return `http://127.0.0.1:${await this.server.port}${path}`;
  }

  postmasterPid(): number | null {
    if (!existsSync(this.pidFile)) return null;
    const pid = Number(readFileSync(this.pidFile, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  }

  /** SIGKILL of the server, and of its PostgreSQL too when asked. */
  async crash({ postgresToo }: { postgresToo: boolean }): Promise<number> {
    const postmaster = this.postmasterPid() as number;
    expect(alive(postmaster)).toBe(true);
    await this.server.kill();
    expect(alive(postmaster)).toBe(true); // the crash left PostgreSQL behind
    if (postgresToo) {
      process.kill(postmaster, 'SIGKILL');
      await until(() => !alive(postmaster), 'PostgreSQL is gone');
      expect(existsSync(this.pidFile)).toBe(true);
    }
    return postmaster;
  }

  async login(username: string, password: string): Promise<Response> {
    return fetch(await this.url('/api/v1/auth/token'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'password', username, password }),
    });
  }

  /** Adds a user through the API: the data that must survive the crash. */
  async addSurvivor(): Promise<void> {
    const admin = (await (await this.login('admin', PASSWORD)).json()) as { accessToken: string };
    const created = await fetch(await this.url('/api/v1/users'), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${admin.accessToken}`,
      },
      body: JSON.stringify({
        ...SURVIVOR,
        name: 'Chanda Mwale',
        role: 'field-agent',
        officeId: 'ibombo-office',
      }),
    });
    expect(created.status).toBe(201);
  }

  /** Healthy, and the user added before the crash can log in. */
  async expectBackWithData(): Promise<void> {
    const health = await fetch(await this.url('/api/v1/health'));
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    expect((await this.login(SURVIVOR.username, SURVIVOR.password)).status).toBe(200);
  }

  async remove(): Promise<void> {
    await this.server?.stop();
    // A failed test may leave a PostgreSQL running on the directory: stop it before removing it.
    const pid = this.postmasterPid();
    if (pid && alive(pid)) {
      process.kill(pid, 'SIGQUIT');
      await until(() => !alive(pid), `PostgreSQL ${pid} exits`);
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

const installations: Installation[] = [];
afterEach(async () => {
  await Promise.all(installations.splice(0).map((i) => i.remove()));
});

async function running(): Promise<Installation> {
  const installation = new Installation();
  installations.push(installation);
  await installation.start();
  await installation.addSurvivor();
  return installation;
}

/** Running, and not a zombie (this machine's init may never reap an orphan). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// Two starts of a server and its PostgreSQL per test: more than the project's 60 s on a busy machine.
describe('registra start after a SIGKILL', { timeout: 240_000 }, () => {
  it('comes back when PostgreSQL was left running, and the data is there', async () => {
    const installation = await running();
    const orphan = await installation.crash({ postgresToo: false });

    await installation.start();
    await installation.expectBackWithData();
    // The orphan was stopped, not shared: the PostgreSQL running now is the new server's.
    expect(alive(orphan)).toBe(false);
    expect(installation.postmasterPid()).not.toBe(orphan);
  });

  it('comes back when PostgreSQL was killed too (a stale postmaster.pid)', async () => {
    const installation = await running();
    await installation.crash({ postgresToo: true });

    await installation.start();
    await installation.expectBackWithData();
  });

  it.each([
    ['a program that is not PostgreSQL', sleeper],
    ["another directory's PostgreSQL", otherPostmaster],
  ])(
    'comes back when the pid file names %s (its pid reused), and leaves that process alone',
    async (_what, stranger) => {
      const installation = await running();
      await installation.crash({ postgresToo: true });
      const { pid, done } = await stranger();
      try {
        const lines = readFileSync(installation.pidFile, 'utf8').split('\n');
        writeFileSync(installation.pidFile, [String(pid), ...lines.slice(1)].join('\n'));

        await installation.start();
        await installation.expectBackWithData();
        expect(alive(pid)).toBe(true);
      } finally {
        await done();
      }
    },
  );
});

/** A process of some other program. */
async function sleeper(): Promise<{ pid: number; done(): Promise<void> }> {
  const child = spawn('sleep', ['600'], { stdio: 'ignore' });
  return {
    pid: child.pid as number,
    done: async () => void child.kill('SIGKILL'),
  };
}

/** The postmaster of the test run's own cluster (the parent of one of its backends). */
async function otherPostmaster(): Promise<{ pid: number; done(): Promise<void> }> {
  const client = new pg.Client({ connectionString: inject('postgresUrl') });
  await client.connect();
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  // Read while the backend still runs: it ends with the connection.
  const stat = readFileSync(`/proc/${rows[0]?.pid}/stat`, 'utf8');
  await client.end();
  const pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  return { pid, done: async () => undefined };
}
