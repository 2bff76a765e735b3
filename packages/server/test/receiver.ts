import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import { EXAMPLES_DIR } from '../src/services/seed.js';

/** One delivery as a hook's receiver got it. */
export interface Received {
  path: string;
  id: string;
  timestamp: string;
  body: string;
  json: Record<string, unknown>;
  /** Whether `webhook-signature` verified with the path's secret (the standardwebhooks package). */
  verified: boolean;
}

export interface Reply {
  status: number;
  body?: unknown;
  /** Answer after this long (a slow hook). */
  delayMs?: number;
}

/**
 * A real HTTP server that plays the country's hooks in tests: it verifies every delivery's
 * Standard Webhooks signature, keeps what it got, and answers as `reply` says.
 */
export class Receiver {
  readonly received: Received[] = [];
  reply: (delivery: Received) => Reply | Promise<Reply> = () => ({ status: 200, body: {} });
  #server: Server | null = null;
  #port = 0;
  readonly #verifiers: Map<string, Webhook>;

  /** `secrets`: path → the secret its hook signs with (`whsec_…` or plain text). */
  constructor(secrets: Record<string, string>) {
    this.#verifiers = new Map(
      Object.entries(secrets).map(([p, secret]) => [
        p,
        secret.startsWith('whsec_')
          ? new Webhook(secret)
          : new Webhook(new TextEncoder().encode(secret), { format: 'raw' }),
      ]),
    );
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  async start(port = 0): Promise<this> {
    const server = createServer((request, response) => void this.#handle(request, response));
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    const address = server.address();
    this.#port = typeof address === 'object' && address ? address.port : port;
    this.#server = server;
    return this;
  }

  /** Stops answering (connections refused), keeping the port for `start` again. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async restart(): Promise<void> {
    await this.start(this.#port);
  }

  of(pathName: string): Received[] {
    return this.received.filter((r) => r.path === pathName);
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const pathName = request.url ?? '/';
    const headers = {
      'webhook-id': String(request.headers['webhook-id'] ?? ''),
      'webhook-timestamp': String(request.headers['webhook-timestamp'] ?? ''),
      'webhook-signature': String(request.headers['webhook-signature'] ?? ''),
    };
    let verified: boolean;
    try {
      this.#verifiers.get(pathName)?.verify(body, headers);
      verified = this.#verifiers.has(pathName);
    } catch {
      verified = false;
    }
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(body) as Record<string, unknown>;
    } catch {
      // kept as it came
    }
    const received: Received = {
      path: pathName,
      id: headers['webhook-id'],
      timestamp: headers['webhook-timestamp'],
      body,
      json,
      verified,
    };
    this.received.push(received);
    const reply = await this.reply(received);
    if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
    if (response.destroyed) return;
    const text =
      reply.body === undefined
        ? ''
        : typeof reply.body === 'string'
          ? reply.body
          : JSON.stringify(reply.body);
    response.writeHead(reply.status, { 'content-type': 'application/json' });
    response.end(text);
  }
}

/** The parts of the civil registry example's configuration that tests change. */
export interface CivilRegistryDocument {
  version: string;
  hooks: Record<string, unknown>[];
  recordTypes: Record<string, unknown>[];
  dci: {
    recordTypes: { recordType: string; events: { event: string; actions: string[] }[] }[];
    partners: ({ id: string } & Record<string, unknown>)[];
  };
}

/**
 * The civil registry example in a directory of its own, changed by `change` (its version marked
 * as a test's), with its demo users.
 */
export function civilRegistryWith(change: (config: CivilRegistryDocument) => void): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'registra-config-'));
  const source = path.join(EXAMPLES_DIR, 'civil-registry');
  const config = JSON.parse(
    readFileSync(path.join(source, 'config.json'), 'utf8'),
  ) as CivilRegistryDocument;
  change(config);
  config.version = `${config.version}-test`;
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  copyFileSync(path.join(source, 'users.json'), path.join(dir, 'users.json'));
  return dir;
}

/**
 * The civil registry example in a directory of its own, its hooks changed by `change` (quicker
 * timeouts and overdue times for tests), with its demo users.
 */
export function civilRegistryWithHooks(
  change: (hook: Record<string, unknown>) => void = () => {},
  { deduplication = true }: { deduplication?: boolean } = {},
): string {
  return civilRegistryWith((config) => {
    for (const hook of config.hooks) change(hook);
    if (!deduplication) for (const type of config.recordTypes) delete type['deduplication'];
  });
}
