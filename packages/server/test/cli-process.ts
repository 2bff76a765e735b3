import { execFile } from 'node:child_process';
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
export function runCli(
  server: Pick<TestServer, 'databaseUrl' | 'keyFile'>,
  args: string[],
  env: Record<string, string> = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'packages/server/src/cli.ts', ...args],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          DATABASE_URL: server.databaseUrl,
          REGISTRA_KEY_FILE: server.keyFile,
          REGISTRA_SEED_DEMO_USERS: 'false',
          REGISTRA_CONFIG: 'civil-registry',
          LOG_LEVEL: 'silent',
          ...env,
        },
        timeout: 60_000,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
