import net from 'node:net';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type Session, type TestServer } from './harness.js';

/**
 * PROTOCOL 7: a request whose body has not arrived within 30 seconds (here 1 s) is answered 408
 * and closed, so slow-body connections cannot pile up; and a caller hanging up is the caller's
 * business, not a database outage.
 */

const TIMEOUT = 1000;
const logLines: { level: number; msg: string; err?: { message?: string } }[] = [];
const log = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString().split('\n').filter(Boolean))
      logLines.push(JSON.parse(line));
    done();
  },
});

let server: TestServer;
let session: Session;
beforeAll(async () => {
  server = await startTestServer('civil-registry', {
    app: { requestTimeout: TIMEOUT, logger: { level: 'info', stream: log } },
  });
  session = await server.login('agent');
});
afterAll(() => server?.close());

/** A raw connection: what it receives, and when it was closed. */
async function connect(): Promise<{
  socket: net.Socket;
  received: () => string;
  closed: Promise<number>;
}> {
  const { port } = new URL(server.url);
  const socket = net.connect(Number(port), '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  let data = '';
  socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
  socket.on('error', () => undefined);
  const opened = Date.now();
  const closed = new Promise<number>((resolve) =>
    socket.once('close', () => resolve(Date.now() - opened)),
  );
  return { socket, received: () => data, closed };
}

const syncHead = (length: number, extra = '') =>
  `POST /api/v1/sync HTTP/1.1\r\nHost: registra\r\nAuthorization: Bearer ${session.token}\r\n` +
  `Content-Type: application/json\r\nContent-Length: ${length}\r\n${extra}\r\n`;

/** `promise`, or a failure if it takes longer than 20 s (the connections were left open). */
function within<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('still open after 20 s')), 20_000);
  });
  return Promise.race([promise, stuck]).finally(() => clearTimeout(timer));
}

function expect408(response: string): void {
  expect(response).toMatch(/^HTTP\/1\.1 408 /);
  expect(response).toMatch(/content-type: application\/problem\+json/i);
  const body = JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as { code: string };
  expect(body).toMatchObject({ status: 408, code: 'REQUEST_TIMEOUT' });
}

describe('request timeout (PROTOCOL 7)', () => {
  it('answers a body that trickles in 408 REQUEST_TIMEOUT and closes the connection', async () => {
    const { socket, received, closed } = await connect();
    socket.write(syncHead(1000));
    // One byte every 100 ms: the connection is never idle, the body never complete in time.
    const drip = setInterval(() => socket.writable && socket.write(' '), 100);
    try {
      const after = await within(closed);
      expect408(received());
      expect(after).toBeGreaterThanOrEqual(TIMEOUT);
    } finally {
      clearInterval(drip);
    }
  });

  it('answers headers that never end 408 and closes the connection', async () => {
    const { socket, received, closed } = await connect();
    socket.write('POST /api/v1/sync HTTP/1.1\r\nHost: registra\r\n');
    const drip = setInterval(() => socket.writable && socket.write('X-Slow: 1\r\n'), 100);
    try {
      await within(closed);
      expect408(received());
    } finally {
      clearInterval(drip);
    }
  });

  it('closes 200 slow-body connections and keeps answering health and sync meanwhile', async () => {
    logLines.length = 0;
    const connections = await Promise.all(Array.from({ length: 200 }, connect));
    for (const { socket } of connections) socket.write(syncHead(100_000, '') + '{"deviceId":');
    const health = await fetch(`${server.url}/api/v1/health`);
    expect(health.status).toBe(200);
    const sync = await server.request('POST', '/api/v1/sync', {
      token: session.token,
      body: { deviceId: crypto.randomUUID(), cursor: null, actions: [] },
    });
    expect(sync.status).toBe(200);
    await within(Promise.all(connections.map((c) => c.closed)));
    for (const { received } of connections) expect408(received());
    const timedOut = logLines.filter((l) => /did not arrive in time/.test(l.msg));
    expect(timedOut.length).toBe(200);
  });

  it('lets a request that is slow to be answered, not to arrive, take its time', async () => {
    // The timeout is about receiving the request: a fully received request is not cut off.
    const { socket, received, closed } = await connect();
    const body = JSON.stringify({ deviceId: crypto.randomUUID(), cursor: null, actions: [] });
    socket.write(syncHead(Buffer.byteLength(body), 'Connection: close\r\n') + body);
    await closed;
    expect(received()).toMatch(/^HTTP\/1\.1 200 /);
  });
});

describe('a client hanging up', () => {
  it('is logged as the client closing the connection, not as the database being unavailable', async () => {
    logLines.length = 0;
    for (const gzip of [false, true]) {
      const { socket, closed } = await connect();
      const part = gzip
        ? gzipSync('{"deviceId":"' + 'x'.repeat(5000)).subarray(0, 200)
        : '{"deviceId":';
      socket.write(syncHead(10_000, gzip ? 'Content-Encoding: gzip\r\n' : ''));
      socket.write(part);
      await new Promise((resolve) => setTimeout(resolve, 100));
      socket.destroy();
      await closed;
    }
    await expect
      .poll(() => logLines.filter((l) => /closed the connection/.test(l.msg)).length)
      .toBe(2);
    expect(logLines.filter((l) => /database/i.test(l.msg))).toEqual([]);
    expect(logLines.filter((l) => l.level >= 40)).toEqual([]);
    // The server is fine and says so; its metrics count the hang-ups and the timeouts apart.
    expect((await fetch(`${server.url}/api/v1/health`)).status).toBe(200);
    const metrics = await (
      await server.request('GET', '/metrics', { token: session.token })
    ).text();
    const aborted = (reason: string) =>
      Number(
        new RegExp(
          `registra_http_requests_aborted_total\\{route="/api/v1/sync",reason="${reason}"\\} (\\d+)`,
        ).exec(metrics)?.[1] ?? 0,
      );
    expect(aborted('hang-up')).toBe(2);
    expect(aborted('timeout')).toBeGreaterThanOrEqual(200);
  });
});
