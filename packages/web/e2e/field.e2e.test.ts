import type { Browser, Page } from 'playwright-core';
import { dateIn, type RecordState } from '@registra/core';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { startTestServer, PASSWORD, type TestServer } from '../../server/test/harness.js';
import {
  AnswerDropper,
  DESKTOP,
  ensureBuilt,
  launchChromium,
  login,
  newPage,
  PHONE,
  finishForm,
  nextPage,
  setOffline,
  shoot,
  syncNow,
  test,
  confirm,
  waiting,
  waitForServiceWorker,
} from './support.js';

/**
 * The field app in real Chromium against the real server and database: capture offline, review,
 * lost answers, unassignment while editing offline. Screenshots land in e2e/screenshots.
 */
let server: TestServer;
let proxy: AnswerDropper;
let browser: Browser;

beforeAll(async () => {
  ensureBuilt();
  server = await startTestServer('civil-registry');
  proxy = new AnswerDropper(server.url);
  await proxy.start();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await proxy?.stop();
  await server?.close();
});

/** The record page after an action: assigned to the person and synced, so nothing moves under the pointer. */
async function settled(page: Page): Promise<void> {
  await page.getByText('Assigned to you').waitFor();
  await expect.poll(() => waiting(page), { timeout: 20_000 }).toBe(0);
  await page.getByTestId('pending-badge').waitFor({ state: 'detached' });
}

async function openQueue(page: Page, name: string): Promise<void> {
  await page.getByRole('link', { name: 'Registra' }).click();
  await page.getByTestId(`queue-${name}`).click();
}

async function fillBirth(
  page: Page,
  first: string,
  options: { badNid?: boolean } = {},
): Promise<void> {
  await page.getByRole('button', { name: /new birth/i }).click();
  await page.locator('[id="child.firstName"]').fill(first);
  await page.locator('[id="child.surname"]').fill('Banda');
  // A date of birth is never in the future: the picker offers nothing after today.
  expect(await page.locator('[id="child.dob"]').getAttribute('max')).toBe(
    dateIn('Africa/Lusaka', new Date()),
  );
  await page.locator('[id="child.dob"]').fill('2026-10-01');
  await page.locator('[id="child.sex"]').selectOption('female');
  await nextPage(page);
  await page.locator('[id="mother.firstName"]').fill('Grace');
  await page.locator('[id="mother.surname"]').fill('Banda');
  await page.locator('[id="mother.nid"]').fill(options.badNid ? '12' : '1234567890');
}

const finishBirth = (page: Page) => finishForm(page);

/** The read model's records whose child's first name starts with `prefix`. */
async function recordsOnServer(prefix: string): Promise<{ id: string; status: string }[]> {
  const rows = await server.db.selectFrom('records').select(['id', 'status', 'state']).execute();
  return rows.filter((r) =>
    String((r.state as RecordState).declaration['child.firstName'] ?? '').startsWith(prefix),
  );
}

/** Everything the page's IndexedDB holds for the people who signed in, every object store, as text. */
async function rawUserDatabases(page: Page): Promise<string> {
  return page.evaluate(async () => {
    const done = <T>(request: IDBRequest<T>) =>
      new Promise<T>((resolve, reject) => {
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
    const contents: Record<string, Record<string, unknown[]>> = {};
    for (const { name } of await indexedDB.databases()) {
      if (!name?.startsWith('registra-user-')) continue;
      const db = await done(indexedDB.open(name));
      const stores: Record<string, unknown[]> = {};
      for (const store of Array.from(db.objectStoreNames)) {
        const all = await done(db.transaction(store).objectStore(store).getAll());
        // File bytes are not text.
        stores[store] = store === 'fileData' ? [] : all;
      }
      contents[name] = stores;
      db.close();
    }
    return JSON.stringify(contents);
  });
}

/** The mother's ID number is sensitive: sealed at rest on the device, the rest in the clear. */
async function expectSealedAtRest(page: Page): Promise<void> {
  const raw = await rawUserDatabases(page);
  expect(raw).toContain('Offline One');
  expect(raw).toContain('dev:v1:');
  expect(raw).not.toContain('1234567890');
}

async function declaredOnServer(prefix: string): Promise<string[]> {
  return (await recordsOnServer(prefix)).map((r) => r.status);
}

describe('the field app', () => {
  test('captures and declares births offline, keeps them across a reload, and syncs them', async () => {
    const { context, page } = await newPage(browser, PHONE);
    await login(page, proxy.url, 'agent');
    await waitForServiceWorker(page);
    await shoot(page, 'phone-home');

    await setOffline(context, true);
    await expect.poll(() => page.getByTestId('sync-status').innerText()).toMatch(/offline/i);
    await fillBirth(page, 'Offline One');
    await finishBirth(page);
    await fillBirth(page, 'Offline Two', { badNid: true });
    await page.getByRole('button', { name: /^next$/i }).click();
    await page.getByText('is not a valid id number').first().waitFor();
    await shoot(page, 'phone-form-error');
    await page.locator('[id="mother.nid"]').fill('1234567890');
    await finishBirth(page);
    await fillBirth(page, 'Offline Three');
    await finishBirth(page);
    await page.getByRole('button', { name: /new birth/i }).click();
    await page.locator('[id="child.firstName"]').fill('Draft Only');
    await page.getByRole('button', { name: /save draft/i }).click();
    await page.getByText('Draft saved on this device.').waitFor();
    await expect.poll(() => waiting(page)).toBe(3);
    await expectSealedAtRest(page);

    // Reloaded with no network: the service worker serves the app, the person unlocks offline.
    await page.reload();
    await page.getByLabel('Password').waitFor({ timeout: 20_000 });
    await shoot(page, 'phone-unlock-offline');
    await page.getByLabel('Username').fill('agent');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: /unlock/i }).click();
    await expect.poll(() => waiting(page)).toBe(3);
    await openQueue(page, 'drafts');
    await page.getByText('Draft Only').first().waitFor();
    await shoot(page, 'phone-drafts-offline');

    await setOffline(context, false);
    await syncNow(page);
    expect(await declaredOnServer('Offline')).toEqual(['DECLARED', 'DECLARED', 'DECLARED']);
    // What came back from the server is sealed before it is stored, too.
    await expectSealedAtRest(page);
    await openQueue(page, 'my-drafts-sent');
    await page.getByTestId('record-item').filter({ hasText: 'Offline Three' }).first().waitFor();
    await shoot(page, 'phone-ready-for-review');
    await context.close();
  });

  test('lets a registrar register one and reject one; the agent then sees both after syncing', async () => {
    const registrar = await newPage(browser, DESKTOP);
    await login(registrar.page, proxy.url, 'registrar');
    await syncNow(registrar.page);
    await openQueue(registrar.page, 'ready-for-review');
    await registrar.page
      .getByTestId('record-item')
      .filter({ hasText: 'Offline One' })
      .first()
      .waitFor();
    await shoot(registrar.page, 'desktop-ready-for-review');

    await registrar.page
      .getByTestId('record-item')
      .filter({ hasText: 'Offline One' })
      .first()
      .click();
    await registrar.page.getByTestId('action-ASSIGN').click();
    await settled(registrar.page);
    await registrar.page.getByTestId('action-REGISTER').click();
    await confirm(registrar.page, /registration number will be issued/);
    await registrar.page.getByText('Not assigned').waitFor();
    await shoot(registrar.page, 'desktop-record');
    await openQueue(registrar.page, 'ready-for-review');
    await registrar.page
      .getByTestId('record-item')
      .filter({ hasText: 'Offline Two' })
      .first()
      .click();
    await registrar.page.getByTestId('action-ASSIGN').click();
    await settled(registrar.page);
    await registrar.page.getByTestId('action-REJECT').click();
    await registrar.page.getByLabel(/reason/i).fill('Mother surname misspelt');
    await confirm(registrar.page);
    await syncNow(registrar.page);
    await expect.poll(() => declaredOnServer('Offline One')).toEqual(['REGISTERED']);

    const agent = await newPage(browser, PHONE);
    await login(agent.page, proxy.url, 'agent');
    await syncNow(agent.page);
    await openQueue(agent.page, 'requires-updates');
    await agent.page
      .getByTestId('record-item')
      .filter({ hasText: 'Offline Two' })
      .first()
      .waitFor();
    await shoot(agent.page, 'phone-requires-updates');
    expect(await agent.page.getByTestId('queue-ready-to-print').count()).toBe(0);
    await registrar.context.close();
    await agent.context.close();
  });

  test('survives an answer lost after the server committed: no duplicate, the outbox empties', async () => {
    const { context, page } = await newPage(browser, PHONE);
    await login(page, proxy.url, 'agent');
    await fillBirth(page, 'Lost Answer');
    proxy.dropNextPush = true;
    await finishBirth(page);
    await page.getByRole('button', { name: /sync now/i }).click();
    await expect.poll(() => proxy.dropped).toBe(1);
    await syncNow(page);
    const rows = await recordsOnServer('Lost Answer');
    expect(rows).toHaveLength(1);
    const entries = await server.db
      .selectFrom('entries')
      .select('type')
      .where('record_id', '=', rows[0]?.id as string)
      .execute();
    expect(entries.map((e) => e.type).sort()).toEqual(['CREATE', 'DECLARE', 'UNASSIGN']);
    await context.close();
  });

  test('keeps what was typed when the record was unassigned while the agent edited offline', async () => {
    const { context, page } = await newPage(browser, PHONE);
    await login(page, proxy.url, 'agent');
    // A notified birth stays assigned to the agent.
    const recordId = await createNotified('Unassigned Later');
    await syncNow(page);

    await setOffline(context, true);
    await page.goto(`${proxy.url}/#/records/${recordId}`);
    await page.getByTestId('action-UPDATE').click();
    await page.locator('[id="child.surname"]').fill('Typed Offline');
    await finishForm(page, /save changes/i);

    const supervisor = await server.login('supervisor');
    const response = await server.request('POST', '/api/v1/actions', {
      token: supervisor.token,
      body: {
        actions: [
          {
            id: crypto.randomUUID(),
            recordId,
            type: 'UNASSIGN',
            occurredAt: new Date().toISOString(),
          },
        ],
      },
    });
    expect(response.status).toBe(200);

    await setOffline(context, false);
    await syncNow(page);
    await openQueue(page, 'needs-attention');
    await page.locator('[data-code="NOT_ASSIGNED"]').first().waitFor();
    // People read why, not the code.
    await page.getByText('The record must be assigned to you first').first().waitFor();
    expect(await page.locator('main').innerText()).not.toContain('NOT_ASSIGNED');
    await page.getByText('Typed Offline').first().waitFor();
    await shoot(page, 'phone-needs-attention');
    await context.close();
  });

  test('on "lie-fi" (the phone says online, the server cannot be reached) Log in unlocks a person known to the device', async () => {
    // The server's address stops answering (a proxy in front of it, then closed); nothing tells
    // the browser, so navigator.onLine stays true, as on a phone with signal and no internet.
    const lost = new AnswerDropper(server.url);
    await lost.start();
    const { context, page } = await newPage(browser, PHONE);
    await login(page, lost.url, 'agent');
    await waitForServiceWorker(page);
    await lost.stop();

    await page.reload();
    await page.getByLabel('Password').waitFor({ timeout: 20_000 });
    expect(await page.evaluate(() => navigator.onLine)).toBe(true);
    await page.getByLabel('Username').fill('agent');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: /log in/i }).click();
    await page.getByTestId('sync-status').waitFor();
    await expect.poll(() => page.getByTestId('sync-status').innerText()).toMatch(/offline/i);
    await context.close();
  });
});

/** A birth NOTIFIED by the agent through the API (it stays assigned to the agent). */
async function createNotified(name: string): Promise<string> {
  const agent = await server.login('agent');
  const recordId = crypto.randomUUID();
  const now = new Date().toISOString();
  const response = await server.request('POST', '/api/v1/actions', {
    token: agent.token,
    body: {
      actions: [
        { id: crypto.randomUUID(), recordId, type: 'CREATE', recordType: 'birth', occurredAt: now },
        {
          id: crypto.randomUUID(),
          recordId,
          type: 'NOTIFY',
          occurredAt: now,
          declaration: { 'child.firstName': name },
        },
      ],
    },
  });
  expect(response.status).toBe(200);
  return recordId;
}
