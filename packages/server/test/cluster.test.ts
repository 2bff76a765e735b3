import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freshDatabase } from './harness.js';
import { fixedPort } from './ports.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PASSWORD = 'cluster-test-password';

/** The node processes whose parent is `pid` (Linux /proc): the cluster's workers. */
function workersOf(pid: number): number[] {
  const children: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid …: comm may hold spaces, so split after its closing parenthesis.
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid && comm === 'node') children.push(Number(name));
    } catch {
      // the process ended while we looked
    }
  }
  return children.sort();
}

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 45_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const database = await freshDatabase();
afterAll(() => database.drop());

describe('registra start with REGISTRA_WORKERS=2', () => {
  it('serves from two processes, replaces a killed one, sums their metrics and stops cleanly', async () => {
    const port = await fixedPort();
    const base = `http://127.0.0.1:${port}`;
    const primary = spawn(
      process.execPath,
      ['--import', 'tsx', 'packages/server/src/cli.ts', 'start'],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          DATABASE_URL: database.url,
          REGISTRA_SEED_DEMO_USERS: 'true',
          REGISTRA_WORKERS: '2',
          REGISTRA_DEMO_PASSWORD: PASSWORD,
          HOST: '127.0.0.1',
          PORT: String(port),
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    primary.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => primary.once('exit', resolve));
    const pid = primary.pid as number;
    const healthy = () =>
      fetch(`${base}/api/v1/health`).then(
        (r) => r.ok,
        () => false,
      );

    try {
      await until(healthy, `the server answers (${stderr})`);
      await until(() => workersOf(pid).length === 2, 'two workers run');
      const first = workersOf(pid);

      const login = await fetch(`${base}/api/v1/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'password', username: 'admin', password: PASSWORD }),
      });
      const { accessToken } = (await login.json()) as { accessToken: string };
      const answers = await Promise.all(Array.from({ length: 40 }, healthy));
      expect(answers.every(Boolean)).toBe(true);
      // Whichever worker answers /metrics counts the health checks that both of them served.
      const metrics = await fetch(`${base}/metrics`, {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      expect(metrics.status).toBe(200);
      const text = await metrics.text();
      const counted =
        /registra_http_request_duration_seconds_count\{[^}]*route="\/api\/v1\/health"[^}]*status="200"[^}]*\} (\d+)/.exec(
          text,
        );
      expect(Number(counted?.[1])).toBeGreaterThanOrEqual(41);

      const victim = first[0] as number;
      process.kill(victim, 'SIGKILL');
      await until(() => {
        const now = workersOf(pid);
        return now.length === 2 && !now.includes(victim);
      }, 'a new worker replaces the killed one');
      await until(healthy, 'the server answers after the kill');

      const last = workersOf(pid);
      primary.kill('SIGTERM');
      expect(await exited).toBe(0);
      await until(
        () => last.every((worker) => !existsSync(`/proc/${worker}`)),
        'the workers have ended',
      );
    } finally {
      if (primary.exitCode === null) primary.kill('SIGKILL');
    }
  }, 90_000);
});
