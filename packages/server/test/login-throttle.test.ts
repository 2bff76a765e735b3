import { sql } from 'kysely';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/http/app.js';
import { Metrics } from '../src/http/metrics.js';
import { AuthService } from '../src/services/auth.js';
import { addressKey } from '../src/services/login-throttle.js';
import { addUser } from '../src/services/users.js';
import { loadSigner } from '../src/services/tokens.js';
import { PASSWORD, startTestServer, type TestServer } from './harness.js';

/**
 * PROTOCOL 7, login: after 5 failed attempts for one username within 15 minutes, or 30 from one
 * address within a minute, POST /auth/token answers 429 TOO_MANY_ATTEMPTS with Retry-After,
 * whatever the password, until the window passes. The counters live in PostgreSQL. The server's
 * clock is moved instead of waiting; other addresses are loopback ones (127.0.x.y), which Linux
 * lets a client bind to.
 */

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

interface Answer {
  status: number;
  retryAfter: string | null;
  body: { code?: string; status?: number; accessToken?: string };
  contentType: string;
}

/** POST /api/v1/auth/token from the client address `from`. */
function tokenFrom(
  from: string,
  body: Record<string, string>,
  url: string = server.url,
): Promise<Answer> {
  const text = JSON.stringify(body);
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: hostname,
        port,
        localAddress: from,
        method: 'POST',
        path: '/api/v1/auth/token',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
      },
      (response) => {
        let data = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (data += chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            retryAfter: (response.headers['retry-after'] as string | undefined) ?? null,
            body: JSON.parse(data) as Answer['body'],
            contentType: response.headers['content-type'] ?? '',
          }),
        );
      },
    );
    request.on('error', reject);
    request.end(text);
  });
}

const password = (from: string, username: string, secret = PASSWORD, url?: string) =>
  tokenFrom(from, { grant_type: 'password', username, password: secret }, url);

function expectTooMany(answer: Answer, maxSeconds: number): number {
  expect(answer.status).toBe(429);
  expect(answer.contentType).toMatch(/^application\/problem\+json/);
  expect(answer.body).toMatchObject({ status: 429, code: 'TOO_MANY_ATTEMPTS' });
  const seconds = Number(answer.retryAfter);
  expect(Number.isInteger(seconds)).toBe(true);
  expect(seconds).toBeGreaterThan(0);
  expect(seconds).toBeLessThanOrEqual(maxSeconds);
  return seconds;
}

const minutes = (n: number) => n * 60_000;

describe('login throttling (PROTOCOL 7)', () => {
  it('refuses a username after 5 failures in 15 minutes, its right password too, until the window passes', async () => {
    // Five wrong guesses from five addresses: the username's count does not care where from.
    for (let i = 1; i <= 5; i++) {
      expect((await password(`127.0.1.${i}`, 'agent', 'wrong-password')).status).toBe(401);
    }
    const blocked = await password('127.0.1.6', 'agent');
    const wait = expectTooMany(blocked, 15 * 60);
    expect(wait).toBeGreaterThan(14 * 60);
    // Another username from the same address is not affected.
    expect((await password('127.0.1.6', 'registrar')).status).toBe(200);

    server.clock.offsetMs += minutes(14);
    expectTooMany(await password('127.0.1.6', 'agent'), 60);
    server.clock.offsetMs += minutes(1) + 1000;
    expect((await password('127.0.1.6', 'agent')).status).toBe(200);
  });

  it('refuses an address after 30 failures in a minute, whatever the username, until the minute passes', async () => {
    server.clock.offsetMs += minutes(16);
    for (let i = 0; i < 30; i++) {
      expect((await password('127.0.2.1', `nobody-${i}`, 'wrong-password')).status).toBe(401);
    }
    expectTooMany(await password('127.0.2.1', 'registrar2'), 60);
    expectTooMany(await password('127.0.2.1', 'nobody-new', 'wrong-password'), 60);
    // The same user from another address logs in.
    expect((await password('127.0.2.2', 'registrar2')).status).toBe(200);
    server.clock.offsetMs += minutes(1) + 1000;
    expect((await password('127.0.2.1', 'registrar2')).status).toBe(200);
  });

  it('counts a burst of parallel guesses one by one: only 5 of 20 are checked', async () => {
    server.clock.offsetMs += minutes(16);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        password(`127.0.3.${i + 1}`, 'supervisor', `wrong-password-${i}`),
      ),
    );
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
  });

  it("throttles a machine client's secret like a password", async () => {
    server.clock.offsetMs += minutes(16);
    const secret = 'integration-secret-1';
    await addUser(server.registry, {
      username: 'throttled-client',
      name: 'Hook',
      role: 'registrar',
      officeId: 'ibombo-office',
      password: secret,
      kind: 'client',
    });
    const grant = (from: string, clientSecret: string) =>
      tokenFrom(from, {
        grant_type: 'client_credentials',
        client_id: 'throttled-client',
        client_secret: clientSecret,
      });
    for (let i = 1; i <= 5; i++) expect((await grant(`127.0.4.${i}`, 'guess')).status).toBe(401);
    expectTooMany(await grant('127.0.4.9', secret), 15 * 60);
  });

  it('does not count logins with the right password', async () => {
    server.clock.offsetMs += minutes(16);
    for (let i = 0; i < 40; i++) {
      expect((await password('127.0.5.1', 'agent.far')).status).toBe(200);
    }
    const { rows } = await sql<{ n: string }>`
      SELECT count(*) AS n FROM login_attempts WHERE username = 'agent.far'`.execute(server.db);
    expect(Number(rows[0]?.n)).toBe(0);
  });

  it('shares the counts between API nodes: failures on one refuse the login on another', async () => {
    server.clock.offsetMs += minutes(16);
    const auth = new AuthService(server.registry, await loadSigner(server.db));
    const other = await buildApp({ registry: server.registry, auth, metrics: new Metrics() });
    await other.listen({ host: '127.0.0.1', port: 0 });
    try {
      const otherUrl = `http://127.0.0.1:${(other.server.address() as AddressInfo).port}`;
      for (let i = 1; i <= 5; i++) {
        const url = i % 2 === 0 ? otherUrl : server.url;
        expect((await password(`127.0.6.${i}`, 'admin', 'wrong', url)).status).toBe(401);
      }
      expectTooMany(await password('127.0.6.9', 'admin', PASSWORD, otherUrl), 15 * 60);
      expectTooMany(await password('127.0.6.9', 'admin', PASSWORD, server.url), 15 * 60);
    } finally {
      await other.close();
    }
  });

  it('keeps its table small: logins delete the attempts older than the longest window', async () => {
    server.clock.offsetMs += minutes(16);
    const now = server.registry.now().getTime();
    await sql`
      INSERT INTO login_attempts (username, address, attempted_at, failed)
      SELECT 'old-' || i, '10.0.0.' || (i % 250), ${new Date(now - minutes(20))}, true
      FROM generate_series(1, 1000) AS i`.execute(server.db);
    // Each attempt deletes up to 100 expired rows: ten logins clear a thousand.
    for (let i = 0; i < 10; i++)
      expect((await password('127.0.7.1', 'registrar')).status).toBe(200);
    const { rows } = await sql<{ n: string }>`
      SELECT count(*) AS n FROM login_attempts WHERE username LIKE 'old-%'`.execute(server.db);
    expect(Number(rows[0]?.n)).toBe(0);
  });

  it('counts an IPv6 caller by its /64 and an IPv4-mapped one as IPv4', () => {
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe(addressKey('2001:db8:1:2:bbbb::9'));
    expect(addressKey('2001:db8:1:2::1')).not.toBe(addressKey('2001:db8:1:3::1'));
    expect(addressKey('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(addressKey('10.1.2.3')).toBe('10.1.2.3');
  });
});
