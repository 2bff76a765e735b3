import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { hashRefreshToken } from '../../server/src/services/tokens.js';
import { startTestServer, PASSWORD, type TestServer } from '../../server/test/harness.js';
import { expiredCopy } from '../../client/test/expired-token.js';
import {
  ensureBuilt,
  launchChromium,
  login,
  newPage,
  newTab,
  PHONE,
  setOffline,
  shoot,
  syncNow,
  test,
  waitForServiceWorker,
} from './support.js';

/**
 * Two tabs of one browser, one person: the server rotates refresh tokens and logs everyone out
 * when one is presented twice, so the tabs must refresh an expired access token once between them.
 */
let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  ensureBuilt();
  server = await startTestServer('civil-registry');
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** The agent's stored tokens, as the SDK keeps them in the page's IndexedDB; `accessToken` replaces. */
async function storedSession(
  page: Page,
  accessToken?: string,
): Promise<{ accessToken: string; refreshToken: string }> {
  return page.evaluate(async (replacement) => {
    const done = <T>(request: IDBRequest<T>) =>
      new Promise<T>((resolve, reject) => {
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
    const db = await done(indexedDB.open('registra-sessions'));
    const sessions = db.transaction('sessions', 'readwrite').objectStore('sessions');
    const row = (await done(sessions.get('agent'))) as {
      accessToken: string;
      refreshToken: string;
    };
    if (replacement) await done(sessions.put({ ...row, accessToken: replacement }));
    db.close();
    return { accessToken: replacement ?? row.accessToken, refreshToken: row.refreshToken };
  }, accessToken);
}

/** Offline, the app asks for the password of the last login on this device. */
async function unlock(page: Page): Promise<void> {
  await page.getByLabel('Password').waitFor({ timeout: 20_000 });
  await page.getByLabel('Username').fill('agent');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: /unlock/i }).click();
  await page.getByTestId('sync-status').waitFor();
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

describe('two tabs of one agent', () => {
  test('refresh an expired access token once when both sync at once, and both stay signed in', async () => {
    const { context, page: one } = await newPage(browser, PHONE);
    await login(one, server.url, 'agent');
    await waitForServiceWorker(one);
    await expect.poll(() => one.getByTestId('sync-status').innerText()).toMatch(/last sync/i);

    // Offline for longer than an access token lives, with the app open in two tabs.
    await setOffline(context, true);
    const signedIn = await storedSession(one);
    await storedSession(one, await expiredCopy(server, signedIn.accessToken));
    await one.reload();
    await unlock(one);
    const two = await newTab(context);
    await two.goto(server.url);
    await unlock(two);
    expect(await family(signedIn.refreshToken)).toEqual({ issued: 1, used: 0, revoked: 0 });

    // The network comes back: both tabs sync at once, both with the expired access token.
    await setOffline(context, false);
    await Promise.all([syncNow(one), syncNow(two)]);
    for (const tab of [one, two]) {
      const status = await tab.getByTestId('sync-status').innerText();
      expect(status).toMatch(/online/i);
      expect(status).not.toMatch(/log in again/i);
    }
    expect(await family(signedIn.refreshToken)).toEqual({ issued: 2, used: 1, revoked: 0 });

    // And they go on working, each with the pair one of them got.
    await Promise.all([syncNow(one), syncNow(two)]);
    for (const tab of [one, two]) {
      expect(await tab.getByTestId('sync-status').innerText()).not.toMatch(/log in again/i);
      await tab.getByRole('button', { name: /new birth/i }).waitFor();
    }
    expect(await family(signedIn.refreshToken)).toEqual({ issued: 2, used: 1, revoked: 0 });
    await shoot(one, 'tabs-one-after-refresh');
    await shoot(two, 'tabs-two-after-refresh');
    await context.close();
  });
});
