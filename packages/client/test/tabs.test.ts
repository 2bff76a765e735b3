import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { LoginRequired } from '../src/index.js';
import { startTestServer, type TestServer } from '../../server/test/harness.js';
import { hashRefreshToken } from '../../server/src/services/tokens.js';
import { expiredCopy } from './expired-token.js';
import { PASSWORD, testDevice, type TestDevice } from './support.js';

/**
 * Tabs of one browser are SDK instances over one IndexedDB: here, instances over one fake
 * IndexedDB in one process, where the SDK's in-process lock stands in for Web Locks and Node's
 * BroadcastChannel carries the messages between them.
 */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

interface Seen {
  path: string;
  bearer: string | null;
  status: number;
}

/** A fetch that remembers the path, bearer token and status of each request. */
function watched(): { fetch: typeof fetch; seen: Seen[] } {
  const seen: Seen[] = [];
  return {
    seen,
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      const bearer = new Headers(init?.headers).get('authorization');
      seen.push({
        path: new URL(String(input)).pathname,
        bearer: bearer?.replace(/^Bearer /, '') ?? null,
        status: response.status,
      });
      return response;
    },
  };
}

/** The pair the device keeps for the agent. */
async function stored(device: TestDevice): Promise<{ accessToken: string; refreshToken: string }> {
  const sessions = device.raw('registra-sessions');
  await sessions.open();
  const row = (await sessions.table('sessions').get('agent')) as {
    accessToken: string;
    refreshToken: string;
  };
  sessions.close();
  return { accessToken: row.accessToken, refreshToken: row.refreshToken };
}

/** The stored access token has outlived its lifetime: what a tab left open for a while finds. */
async function expireStoredAccessToken(device: TestDevice): Promise<string> {
  const expired = await expiredCopy(server, (await stored(device)).accessToken);
  const sessions = device.raw('registra-sessions');
  await sessions.open();
  await sessions.table('sessions').update('agent', { accessToken: expired });
  sessions.close();
  return expired;
}

/** What the server holds of the login that issued `refreshToken`: its family of refresh tokens. */
async function family(refreshToken: string) {
  const first = await server.db
    .selectFrom('refresh_tokens')
    .select('family')
    .where('token_hash', '=', hashRefreshToken(refreshToken))
    .executeTakeFirstOrThrow();
  const rows = await server.db
    .selectFrom('refresh_tokens')
    .select(['used_at', 'revoked_at'])
    .where('family', '=', first.family)
    .execute();
  return {
    issued: rows.length,
    used: rows.filter((r) => r.used_at !== null).length,
    revoked: rows.filter((r) => r.revoked_at !== null).length,
  };
}

const refreshes = (...tabs: { seen: Seen[] }[]) =>
  tabs.flatMap((t) => t.seen).filter((s) => s.path === '/api/v1/auth/token' && s.bearer === null)
    .length;

describe('two tabs of one person', () => {
  it('refresh an expired access token once between them, and both stay signed in', async () => {
    const one = watched();
    const two = watched();
    const device = testDevice(server, { fetch: one.fetch });
    const first = device.client;
    await first.login('agent', PASSWORD);
    const recordId = uuidv7();
    await first.actions.submit({ type: 'CREATE', recordId, recordType: 'birth' });
    await first.sync.now();

    // Both tabs hold an access token that has expired, and the same refresh token.
    const expired = await expireStoredAccessToken(device);
    const login = await stored(device);
    first.lock();
    await first.unlock('agent', PASSWORD);
    const second = device.tab({ fetch: two.fetch });
    await second.unlock('agent', PASSWORD);
    const before = refreshes(one, two);

    // Both need the server at the same moment: both are refused, one refreshes.
    const [a, b] = await Promise.all([
      first.records.fetch(recordId),
      second.records.fetch(recordId),
    ]);
    expect(a?.record.id).toBe(recordId);
    expect(b?.record.id).toBe(recordId);
    for (const tab of [one, two])
      expect(tab.seen.filter((s) => s.status === 401)).toEqual([
        { path: `/api/v1/records/${recordId}`, bearer: expired, status: 401 },
      ]);
    expect(refreshes(one, two) - before).toBe(1);
    expect(await family(login.refreshToken)).toEqual({ issued: 2, used: 1, revoked: 0 });

    // Both keep working, with the pair that one of them got.
    await first.actions.submit({
      type: 'UPDATE',
      recordId,
      declaration: { 'child.firstName': 'One' },
    });
    await second.actions.submit({
      type: 'UPDATE',
      recordId,
      declaration: { 'child.firstName': 'Two' },
    });
    const reports = await Promise.all([first.sync.now(), second.sync.now()]);
    expect(reports.reduce((sum, r) => sum + r.accepted, 0)).toBe(2);
    const now = await stored(device);
    expect(now.refreshToken).not.toBe(login.refreshToken);
    for (const [tab, client] of [
      [one, first],
      [two, second],
    ] as const) {
      expect(client.sync.status.get()).toMatchObject({ phase: 'idle', pending: 0 });
      expect(tab.seen.at(-1)).toEqual({
        path: '/api/v1/sync',
        bearer: now.accessToken,
        status: 200,
      });
    }
    expect(refreshes(one, two) - before).toBe(1);
    first.close();
    second.close();
  });

  it('hear when another tab has refreshed, and send the new access token at once', async () => {
    const one = watched();
    const two = watched();
    const device = testDevice(server, { fetch: one.fetch });
    const first = device.client;
    await first.login('agent', PASSWORD);
    const second = device.tab({ fetch: two.fetch });
    await second.unlock('agent', PASSWORD);
    const login = await stored(device);

    // Only the first tab's access token has expired: it refreshes, the second still could go on
    // with its own, and does not need to.
    await expireStoredAccessToken(device);
    first.lock();
    await first.unlock('agent', PASSWORD);
    await first.sync.now();
    const now = await stored(device);
    expect(now.accessToken).not.toBe(login.accessToken);

    await vi.waitFor(async () => {
      await second.sync.now();
      expect(two.seen.at(-1)).toEqual({
        path: '/api/v1/sync',
        bearer: now.accessToken,
        status: 200,
      });
    });
    expect(two.seen.filter((s) => s.status === 401)).toEqual([]);
    expect(await family(login.refreshToken)).toEqual({ issued: 2, used: 1, revoked: 0 });
    first.close();
    second.close();
  });

  it('ask to log in again after logging out in another tab, and present no refresh token', async () => {
    const two = watched();
    const device = testDevice(server);
    const first = device.client;
    await first.login('agent', PASSWORD);
    await expireStoredAccessToken(device);
    const login = await stored(device);
    const second = device.tab({ fetch: two.fetch });
    await second.unlock('agent', PASSWORD);

    await first.logout();
    await expect(second.sync.now()).rejects.toBeInstanceOf(LoginRequired);
    expect(second.sync.status.get().phase).toBe('login-required');
    expect(refreshes(two)).toBe(0);
    expect(await family(login.refreshToken)).toEqual({ issued: 1, used: 0, revoked: 0 });
    first.close();
    second.close();
  });
});
