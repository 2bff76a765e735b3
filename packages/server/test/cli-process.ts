import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestServer } from './harness.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `registra <args>` as a process against a test server's database, with its key file (the
 * same vault opens the same records) and `env` on top.
 */
/** The environment a CLI process runs with against a test server's database. */
function cliEnv(
  server: Pick<TestServer, 'databaseUrl' | 'keyFile'>,
  env: Record<string, string>,
): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: server.databaseUrl,
    REGISTRA_KEY_FILE: server.keyFile,
    REGISTRA_SEED_DEMO_USERS: 'false',
    REGISTRA_CONFIG: 'civil-registry',
    LOG_LEVEL: 'silent',
    ...env,
  };
}

/** Starts `registra <args>` as a process the test may kill; its output is piped. */
export function spawnCli(
  server: Pick<TestServer, 'databaseUrl' | 'keyFile'>,
  args: string[],
  env: Record<string, string> = {},
): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'packages/server/src/cli.ts', ...args], {
    cwd: ROOT,
    env: cliEnv(server, env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function runCli(
  server: Pick<TestServer, 'databaseUrl' | 'keyFile'>,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'packages/server/src/cli.ts', ...args],
      {
        cwd: ROOT,
        env: cliEnv(server, env),
        timeout: timeoutMs,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
