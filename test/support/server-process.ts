import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixedPort } from '../../packages/server/test/ports.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** `registra start` in a child process, so that a test can kill it with SIGKILL and start it again. */
export class ServerProcess {
  #child: ChildProcess | null = null;
  kills = 0;
  /** The same port at every start: the fault proxy in front keeps forwarding there. */
  readonly port: Promise<number> = fixedPort();

  constructor(private readonly env: Record<string, string>) {}

  async start(): Promise<void> {
    const port = await this.port;
    this.#child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'packages/server/src/cli.ts'), 'start'],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          ...this.env,
          PORT: String(port),
          HOST: '127.0.0.1',
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    this.#child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // Generous: tsx compiles the server at start, which takes long on a loaded machine.
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline) {
      if (this.#exited(this.#child)) throw new Error(`server exited: ${stderr}`);
      const up = await fetch(`http://127.0.0.1:${port}/api/v1/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (up) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`server did not start: ${stderr}`);
  }

  /** SIGKILL: no shutdown hooks, connections cut wherever they are. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || this.#exited(child)) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.kills += 1;
  }

  async stop(): Promise<void> {
    await this.terminate();
  }

  /** SIGTERM: the server drains and stops; resolves with its exit code once it has exited. */
  async terminate(): Promise<number | null> {
    const child = this.#child;
    if (!child || this.#exited(child)) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    child.kill('SIGTERM');
    return exited;
  }

  /** Ended, by itself or by a signal (then exitCode stays null and 'exit' will not come again). */
  #exited(child: ChildProcess): boolean {
    return child.exitCode !== null || child.signalCode !== null;
  }
}
