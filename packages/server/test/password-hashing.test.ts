import { sql } from 'kysely';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PasswordHasher } from '../src/services/passwords.js';
import {
  action,
  Device,
  expectWellFormedProblem,
  newId,
  PASSWORD,
  startTestServer,
  type TestServer,
} from './harness.js';

/**
 * PROTOCOL 7: password hashing never starves other requests. Hashes run on their own threads
 * with a bounded queue; a full queue is answered 503 SERVICE_UNAVAILABLE with Retry-After.
 */

const USERS = ['agent', 'registrar', 'registrar2', 'supervisor', 'agent.far', 'admin'];
const login = (server: TestServer, username: string, password = PASSWORD) =>
  server.request('POST', '/api/v1/auth/token', {
    body: { grant_type: 'password', username, password },
  });

describe('a full hashing queue', () => {
  let server: TestServer;
  const hasher = new PasswordHasher({ threads: 1, maxQueue: 2 });
  beforeAll(async () => {
    server = await startTestServer('civil-registry', { auth: { hasher } });
  });
  afterAll(async () => {
    await server?.close();
    await hasher.close();
  });

  it('answers 503 SERVICE_UNAVAILABLE with Retry-After, and the refused login does not count as a failure', async () => {
    // 12 logins at once, two per user (under the throttle's 5): one hashes, two wait, the rest
    // are refused at once.
    const usernames = USERS.flatMap((u) => [u, u]);
    const answers = await Promise.all(usernames.map((u) => login(server, u, 'wrong-password')));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 401 || s === 503)).toBe(true);
    for (const answer of answers.filter((a) => a.status === 503)) {
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
      await expectWellFormedProblem(answer, 503, 'SERVICE_UNAVAILABLE');
    }
    // Only the checked guesses are counted: the refused ones left no attempt behind.
    const { rows } = await sql<{ n: string }>`
      SELECT count(*) AS n FROM login_attempts WHERE failed`.execute(server.db);
    expect(Number(rows[0]?.n)).toBe(statuses.filter((s) => s === 401).length);
    // And once the queue has drained, logins work.
    expect((await login(server, 'agent')).status).toBe(200);
  });
});

describe('a login flood', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it("does not hold up a sync's gzip behind the queued hashes", async () => {
    const session = await server.login('agent');
    const device = new Device(server, session);
    // Three logins per user: 18 hashes queued on the hashing thread.
    const finished: string[] = [];
    const flood = USERS.flatMap((u) => [u, u, u]).map((u, i) =>
      login(server, u, `wrong-${i}`).then((r) => {
        finished.push(`login ${r.status}`);
      }),
    );
    // A gzip-compressed sync sent meanwhile: its body is inflated on libuv's thread pool, where
    // scrypt used to queue. It must not wait for the flood to be hashed.
    const body = {
      deviceId: device.id,
      cursor: null,
      actions: device.stamp([action({ type: 'CREATE', recordId: newId(), recordType: 'birth' })]),
    };
    const sync = fetch(`${server.url}/api/v1/sync`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${session.token}`,
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        'accept-encoding': 'gzip',
      },
      body: new Uint8Array(gzipSync(JSON.stringify(body))),
    }).then(async (r) => {
      finished.push(`sync ${r.status}`);
      return r.json();
    });
    await Promise.all([...flood, sync]);
    const syncAt = finished.findIndex((f) => f.startsWith('sync'));
    expect(finished[syncAt]).toBe('sync 200');
    // Before: every one of the 18 hashes ahead of it in libuv's queue finished first (4 threads).
    expect(syncAt, finished.join(', ')).toBeLessThan(9);
  });
});
