import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A round-robin load balancer in front of several API nodes, as a deployment runs one: each
 * request goes to the next node on a connection of its own. A node that refuses the connection
 * (down, or draining: it has stopped listening) is skipped and the request goes to the next one,
 * since nothing reached it. A node that dies while it holds a request cuts that request: the
 * caller sees a dead connection (`dropped`), as behind a real balancer. A 503 with Retry-After
 * (a draining node, or one shedding load: it did nothing) is sent on to the next node once round,
 * as a balancer's `proxy_next_upstream http_503` does. A sync (exactly-once by PROTOCOL 5, so
 * safe to send again) or a GET whose connection was cut before any answer is sent to the next
 * node too (nginx: `proxy_next_upstream error non_idempotent`): a node that stops listening
 * closes the connections it accepted a moment before without reading their request.
 */
export class RoundRobinProxy {
  /** Requests answered by a node, per node. */
  readonly answered: number[];
  /** Requests whose connection was refused by a node and sent to the next one. */
  refused = 0;
  /** Requests cut because their node died while holding them (or closed their new connection). */
  dropped = 0;
  /** Idempotent requests whose connection was cut before an answer, sent to the next node. */
  resent = 0;
  /** Answers with a 5xx status, passed on to the caller: status and the start of the body. */
  readonly serverErrors: string[] = [];
  /** 503 answers with Retry-After (a draining or overloaded node did nothing): sent to the next node. */
  retried503 = 0;
  #next = 0;
  #server: http.Server | null = null;

  constructor(private readonly ports: number[]) {
    this.answered = ports.map(() => 0);
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server?.address() as AddressInfo).port}`;
  }

  async start(): Promise<void> {
    this.#server = http.createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#server?.closeAllConnections();
      this.#server?.close(() => resolve());
    });
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    // Every node in turn at most twice, with a short pause between rounds (a restart).
    for (let attempt = 0; attempt < this.ports.length * 20; attempt++) {
      const node = this.#next++ % this.ports.length;
      try {
        const answer = await this.#forward(this.ports[node] as number, req, body);
        this.answered[node] = (this.answered[node] ?? 0) + 1;
        if (answer.status === 503 && answer.headers['retry-after'] && attempt < this.ports.length) {
          this.retried503 += 1;
          continue;
        }
        if (answer.status >= 500)
          this.serverErrors.push(`${answer.status} ${answer.body.toString().slice(0, 200)}`);
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body);
        return;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ECONNRESET' && resendable(req) && attempt < this.ports.length) {
          this.resent += 1;
          continue;
        }
        if (code === 'ECONNREFUSED') {
          this.refused += 1;
          if ((attempt + 1) % this.ports.length === 0) await new Promise((r) => setTimeout(r, 250));
          continue;
        }
        break;
      }
    }
    this.dropped += 1;
    res.socket?.destroy();
  }

  #forward(
    port: number,
    req: http.IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; headers: http.OutgoingHttpHeaders; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: `127.0.0.1:${port}`, connection: 'close' };
      const upstream = http.request(
        { host: '127.0.0.1', port, method: req.method, path: req.url, headers, agent: false },
        (response) => {
          const parts: Buffer[] = [];
          response.on('data', (part: Buffer) => parts.push(part));
          response.on('end', () => {
            const { connection: _connection, ...rest } = response.headers;
            resolve({
              status: response.statusCode ?? 502,
              headers: rest,
              body: Buffer.concat(parts),
            });
          });
          response.on('error', reject);
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });
  }
}

/** Requests a balancer may send again after a cut connection: reads, and syncs (exactly-once). */
function resendable(req: http.IncomingMessage): boolean {
  return req.method === 'GET' || (req.method === 'POST' && req.url === '/api/v1/sync');
}
