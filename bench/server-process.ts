/**
 * Registra (`registra start`) in a child process on a fresh database of the bench cluster, so that
 * the load generator does not share the server's event loop. With BENCH_SERVER_PROF=<dir> the
 * server runs under `node --cpu-prof` and writes its profile there when it stops.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { passwordToken, PASSWORD, type Cluster } from './support.js';
import { freePort } from '../packages/server/test/ports.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

export interface ServerProcess {
  url: string;
  databaseUrl: string;
  token(username: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * `root`: the checkout whose server runs (default this one; a bench may compare another commit's
 * code in the same run).
 */
export async function startServerProcess(
  cluster: Cluster,
  env: Record<string, string> = {},
  root = ROOT,
): Promise<ServerProcess> {
  const { url: databaseUrl } = await cluster.database();
  const port = await freePort();
  const profile = process.env['BENCH_SERVER_PROF'];
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []),
      '--import',
      'tsx',
      path.join(root, 'packages/server/src/cli.ts'),
      'start',
    ],
    {
      cwd: root,
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        REGISTRA_SEED_DEMO_USERS: 'true',
        REGISTRA_DEMO_PASSWORD: PASSWORD,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + Number(process.env['BENCH_SERVER_START_MS'] ?? 240_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited: ${stderr}`);
    if (Date.now() > deadline) {
      // A server that did not start in time is stopped, not left running after the bench.
      child.kill('SIGTERM');
      throw new Error(`server did not start: ${stderr}`);
    }
    const up = await fetch(`${url}/api/v1/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    databaseUrl,
    token: (username) => passwordToken(url, username),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
