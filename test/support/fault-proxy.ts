import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { prng } from './prng.js';

export type Fault = 'dropRequest' | 'dropResponse' | 'duplicate' | 'delay' | 'reorder' | 'cutBody';
export const FAULTS: readonly Fault[] = [
  'dropRequest',
  'dropResponse',
  'duplicate',
  'delay',
  'reorder',
  'cutBody',
];

/**
 * An HTTP proxy between devices and the server that injects the faults of a poor network and a
 * crashing server: it drops requests, drops answers after the server acted, sends requests twice,
 * delays and reorders them, and cuts bodies in the middle. Counts every fault it injects.
 */
export class FaultProxy {
  readonly injected: Record<Fault, number> = {
    dropRequest: 0,
    dropResponse: 0,
    duplicate: 0,
    delay: 0,
    reorder: 0,
    cutBody: 0,
  };
  /** Probability that a sync request gets a fault. 0 heals the network. */
  faultRate = 0.35;
  /** Which requests may get a fault: syncs by default; a test may add uploads (PATCH, POST). */
  faultable: (req: http.IncomingMessage) => boolean = (req) => req.url === '/api/v1/sync';
  upstreamPort = 0;
  #server: http.Server | null = null;
  #held: (() => void) | null = null;
  readonly #random: () => number;

  constructor(seed: number) {
    this.#random = prng(seed);
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server?.address() as AddressInfo).port}`;
  }

  async start(): Promise<void> {
    this.#server = http.createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    this.#held?.();
    await new Promise<void>((resolve) => {
      this.#server?.closeAllConnections();
      this.#server?.close(() => resolve());
    });
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const fault =
      this.faultable(req) && this.#random() < this.faultRate
        ? FAULTS[Math.floor(this.#random() * FAULTS.length)]
        : undefined;
    if (fault) this.injected[fault] += 1;

    try {
      switch (fault) {
        case 'dropRequest':
          res.socket?.destroy();
          return;
        case 'cutBody':
          await this.#forward(req, body.subarray(0, Math.floor(body.length / 2)), { cut: true });
          res.socket?.destroy();
          return;
        case 'delay':
          await new Promise((resolve) => setTimeout(resolve, 50 + this.#random() * 400));
          break;
        case 'reorder':
          // Hold this request until the next one has gone ahead (or a while has passed).
          await new Promise<void>((resolve) => {
            const release = () => {
              clearTimeout(timer);
              resolve();
            };
            const timer = setTimeout(release, 400);
            this.#held = release;
          });
          break;
        default:
          break;
      }
      if (fault !== 'reorder' && this.#held) {
        const release = this.#held;
        this.#held = null;
        setTimeout(release, 20);
      }
      if (fault === 'duplicate') await this.#forward(req, body).catch(() => undefined);
      const answer = await this.#forward(req, body);
      if (fault === 'dropResponse') {
        res.socket?.destroy();
        return;
      }
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    } catch {
      // The server is down (killed, restarting): the device sees a dead connection.
      res.socket?.destroy();
    }
  }

  #forward(
    req: http.IncomingMessage,
    body: Buffer,
    options: { cut?: boolean } = {},
  ): Promise<{ status: number; headers: http.OutgoingHttpHeaders; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: `127.0.0.1:${this.upstreamPort}` };
      const upstream = http.request(
        { host: '127.0.0.1', port: this.upstreamPort, method: req.method, path: req.url, headers },
        (response) => {
          const parts: Buffer[] = [];
          response.on('data', (part: Buffer) => parts.push(part));
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 502,
              headers: response.headers,
              body: Buffer.concat(parts),
            }),
          );
          response.on('error', reject);
        },
      );
      upstream.on('error', reject);
      if (options.cut) {
        upstream.write(body);
        setTimeout(() => {
          upstream.destroy();
          reject(new Error('cut'));
        }, 20);
        return;
      }
      upstream.end(body);
    });
  }
}
