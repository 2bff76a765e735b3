import { queueHolds, queuesOf, trackingIdOf, type RecordState } from '@registra/core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { BIRTH, startTestServer, type TestServer } from '../../server/test/harness.js';
import {
  confirm,
  ensureBuilt,
  finishForm,
  launchChromium,
  login,
  newPage,
  nextPage,
  PASSWORD_FOR_TESTS,
  PHONE,
  setOffline,
  shoot,
  syncNow,
  test,
  waiting,
  waitForServiceWorker,
} from './support.js';

/**
 * The web app as a district office and a field agent need it (issue 9), one test per point, in
 * Chromium at 360 px against the real server: nothing typed is lost, everyone is named, queues
 * come from the configuration, corrections show old → new, irreversible actions are confirmed.
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

let tick = Date.now() - 3_600_000;
const at = () => new Date((tick += 1000)).toISOString();

/** Actions through the API as `username`; every one must be accepted or requested. */
async function act(username: string, actions: Record<string, unknown>[]): Promise<void> {
  const session = await server.login(username);
  const response = await server.request('POST', '/api/v1/actions', {
    token: session.token,
    body: { actions: actions.map((a) => ({ id: crypto.randomUUID(), occurredAt: at(), ...a })) },
  });
  const body = (await response.json()) as { results: { outcome: string; message: string }[] };
  expect(body.results.filter((r) => r.outcome === 'rejected')).toEqual([]);
}

async function userId(username: string): Promise<string> {
  return (await server.login(username)).user.id;
}

/** A birth the agent declared through the API (then unassigned, as DECLARE does). */
async function declared(first: string, extra: Record<string, unknown> = {}): Promise<string> {
  const recordId = crypto.randomUUID();
  await act('agent', [
    { recordId, type: 'CREATE', recordType: 'birth' },
    { recordId, type: 'DECLARE', declaration: { ...BIRTH, 'child.firstName': first, ...extra } },
  ]);
  return recordId;
}

/** A birth declared by the agent and registered by the registrar. */
async function registered(first: string): Promise<string> {
  const recordId = await declared(first);
  const registrar = await userId('registrar');
  await act('registrar', [
    { recordId, type: 'ASSIGN', assignee: registrar },
    { recordId, type: 'REGISTER' },
  ]);
  return recordId;
}

async function openRecord(page: Page, recordId: string): Promise<void> {
  await page.goto(`${server.url}/#/records/${recordId}`);
  await page.getByRole('heading', { level: 1 }).waitFor();
}

async function titles(page: Page): Promise<string[]> {
  await page.locator('.record-list, .empty').first().waitFor();
  return page.locator('[data-testid="record-item"] .record-title').allInnerTexts();
}

describe('the web app for a district office and a field agent', () => {
  test('1. keeps a half-filled birth through a reload, online and offline: same page, same values', async () => {
    const { context, page } = await newPage(browser, PHONE);
    await login(page, server.url, 'agent');
    await waitForServiceWorker(page);
    await page.getByRole('button', { name: /new birth/i }).click();
    await page.locator('[id="child.firstName"]').fill('Half');
    await page.locator('[id="child.surname"]').fill('Filled');
    await page.locator('[id="child.dob"]').fill('2026-09-01');
    await page.locator('[id="child.sex"]').selectOption('male');
    await nextPage(page);
    await page.locator('[id="mother.firstName"]').fill('Typed Online');
    await expect.poll(() => page.evaluate(() => location.hash)).toMatch(/^#\/drafts\//);

    // A reload online: no password, the same page of the same form, everything in it.
    await page.waitForTimeout(600); // the last keystroke is kept 400 ms after it is typed
    await page.reload();
    await page.locator('[id="mother.firstName"]').waitFor();
    expect(await page.getByLabel('Password').count()).toBe(0);
    expect(await page.locator('.steps li.active').innerText()).toMatch(/mother/i);
    expect(await page.locator('[id="mother.firstName"]').inputValue()).toBe('Typed Online');
    await page.getByRole('button', { name: /^back$/i }).click();
    expect(await page.locator('[id="child.firstName"]').inputValue()).toBe('Half');

    // Offline: typed, the tab reloaded, unlocked with the password: back where it was.
    await nextPage(page);
    await setOffline(context, true);
    await page.locator('[id="mother.surname"]').fill('Typed Offline');
    await page.waitForTimeout(600);
    await page.reload();
    await page.getByLabel('Password').waitFor({ timeout: 20_000 });
    await page.getByLabel('Username').fill('agent');
    await page.getByLabel('Password').fill(PASSWORD_FOR_TESTS);
    await page.getByRole('button', { name: /unlock/i }).click();
    await page.locator('[id="mother.surname"]').waitFor();
    expect(await page.locator('[id="mother.surname"]').inputValue()).toBe('Typed Offline');
    expect(await page.locator('[id="mother.firstName"]').inputValue()).toBe('Typed Online');
    await shoot(page, 'issue9-1-autosave-after-unlock');
    await context.close();
  });

  test('1b. a form left the instant after typing is in the drafts list it leads to', async () => {
    const { context, page } = await newPage(browser, PHONE);
    await login(page, server.url, 'agent');
    await page.getByRole('button', { name: /new birth/i }).click();
    // Left before the autosave's pause: the last keystrokes are saved as the form closes, and the
    // list must wait for them rather than show an empty page.
    await page.locator('[id="child.firstName"]').fill('Left At Once');
    await page.goto(`${server.url}/#/queue/drafts`);
    await page.getByTestId('record-item').filter({ hasText: 'Left At Once' }).waitFor();
    await context.close();
  });

  test('1c. a save written as the person leaves the form does not pull them back into it', async () => {
    const { context, page } = await newPage(browser, PHONE);
    await login(page, server.url, 'agent');
    const draftsOnDevice = () =>
      page.evaluate(async () => {
        const name = (await indexedDB.databases()).find((d) =>
          d.name?.startsWith('registra-user-'),
        )?.name;
        if (!name) return 0;
        const db = await new Promise<IDBDatabase>((resolve, reject) => {
          const open = indexedDB.open(name);
          open.onsuccess = () => resolve(open.result);
          open.onerror = () => reject(open.error);
        });
        try {
          return await new Promise<number>((resolve, reject) => {
            const count = db.transaction('drafts').objectStore('drafts').count();
            count.onsuccess = () => resolve(count.result);
            count.onerror = () => reject(count.error);
          });
        } finally {
          db.close();
        }
      });
    const before = await draftsOnDevice();
    await page.getByRole('button', { name: /new birth/i }).click();
    await page.locator('[id="child.firstName"]').fill('Leaving Now');
    // The address changes before the app hears of it (as when its hashchange is still queued)
    // while the autosave is written: the save must leave the address alone.
    await page.evaluate(() => history.pushState(null, '', '#/queue/drafts'));
    await expect.poll(draftsOnDevice).toBe(before + 1);
    // The save's callback runs as its transaction completes, a moment after the row is readable.
    await page.waitForTimeout(500);
    expect(await page.evaluate(() => window.location.hash)).toBe('#/queue/drafts');
    await context.close();
  });

  test('2. names people: the registrar sees the agent by name in the history and the queue', async () => {
    const recordId = await declared('Named');
    const agent = await userId('agent');
    await act('supervisor', [{ recordId, type: 'ASSIGN', assignee: agent }]);
    const { context, page } = await newPage(browser, PHONE);
    await login(page, server.url, 'registrar');
    await syncNow(page);
    await openRecord(page, recordId);
    const history = page.getByTestId('history-entry');
    await expect
      .poll(() => history.first().innerText())
      .toContain('Kalusha Bwalya, Field agent, Ibombo District Office');
    await page.getByTestId('assigned-to').getByText('Assigned to Kalusha Bwalya').waitFor();
    expect(await page.locator('body').innerText()).not.toMatch(/user …|field-agent …/);
    await shoot(page, 'issue9-2-names');
    await context.close();
  });

  test('3. gives each role its configured queues, holding exactly the records they should', async () => {
    await registered('Queue Registered');
    const printed = await registered('Queue Printed');
    const registrar = await userId('registrar');
    await act('registrar', [
      { recordId: printed, type: 'ASSIGN', assignee: registrar },
      {
        recordId: printed,
        type: 'PRINT_CERTIFICATE',
        annotation: {
          templateId: 'birth-certificate',
          collector: {
            relationship: 'mother',
            name: 'Grace Banda',
            idType: 'national-id',
            idNumber: '1234567890',
          },
        },
      },
    ]);
    const { context, page } = await newPage(browser, PHONE);
    await login(page, server.url, 'registrar');
    await syncNow(page);
    const rows = await server.db.selectFrom('records').select('state').execute();
    const states = rows.map((r) => r.state as RecordState);
    for (const queue of queuesOf(server.registry.config, 'registrar')) {
      if (queue.id === 'needs-attention') continue;
      await page.goto(`${server.url}/#/queue/${queue.id}`);
      await page.locator('.queue-title').filter({ hasText: queue.label }).waitFor();
      const expected = states
        .filter((s) => queueHolds(queue.filter, s, registrar))
        .map((s) => `${s.declaration['child.firstName']} ${s.declaration['child.surname']}`)
        .sort();
      await expect
        .poll(async () => (await titles(page)).sort(), { message: queue.id })
        .toEqual(expected);
    }
    const toPrint = await titles(
      await (async () => {
        await page.goto(`${server.url}/#/queue/ready-to-print`);
        return page;
      })(),
    );
    expect(toPrint).toContain('Queue Registered Banda');
    expect(toPrint).not.toContain('Queue Printed Banda');
    await shoot(page, 'issue9-3-registrar-queues');
    await context.close();

    // The agent: no "Ready to print"; offline, the device answers the same queue.
    await declared('Queue Sent');
    const agent = await newPage(browser, PHONE);
    await login(agent.page, server.url, 'agent');
    await syncNow(agent.page);
    expect(await agent.page.getByTestId('queue-ready-to-print').count()).toBe(0);
    await agent.page.goto(`${server.url}/#/queue/my-drafts-sent`);
    await agent.page.getByTestId('record-item').first().waitFor();
    const online = (await titles(agent.page)).sort();
    expect(online).toContain('Queue Sent Banda');
    await setOffline(agent.context, true);
    await agent.page.reload();
    await agent.page.getByLabel('Password').fill(PASSWORD_FOR_TESTS);
    await agent.page.getByLabel('Username').fill('agent');
    await agent.page.getByRole('button', { name: /unlock/i }).click();
    await agent.page.getByText(/records on this device/).waitFor();
    await expect.poll(async () => (await titles(agent.page)).sort()).toEqual(online);
    await agent.context.close();
  });

  test('4-5. a correction asks for a reason and a requester; the approver sees old → new; Register and Approve ask first', async () => {
    const recordId = await declared('Corrected');
    const { context, page } = await newPage(browser, PHONE);
    await login(page, server.url, 'registrar');
    await syncNow(page);
    await openRecord(page, recordId);
    await page.getByTestId('action-ASSIGN').click();
    await page.getByText('Assigned to you').waitFor();
    await page.getByTestId('action-VALIDATE').click();
    // Validated: Validate is no longer offered, so a second tap cannot add another entry.
    await page.getByTestId('action-VALIDATE').waitFor({ state: 'detached' });
    await page.getByTestId('action-REGISTER').click();
    await page.getByRole('dialog').waitFor();
    await shoot(page, 'issue9-5-confirm-register');
    await confirm(page, /registration number will be issued/);
    await page.getByText('Not assigned').waitFor();
    await page.getByTestId('action-ASSIGN').click();
    await page.getByTestId('action-CORRECT').click();
    await page.locator('[id="child.firstName"]').fill('Correctd');
    await finishForm(page, /request the correction/i);
    // Not sent without a reason and who asked for it.
    await page.locator('#correction-reason[aria-invalid="true"]').waitFor();
    await page.getByLabel(/why must the record be corrected/i).fill('Misspelt at declaration');
    await page.getByLabel(/who asked for the correction/i).selectOption('informant');
    await page.getByRole('button', { name: /request the correction/i }).click();
    await syncNow(page);
    await context.close();

    const approver = await newPage(browser, PHONE);
    await login(approver.page, server.url, 'registrar2');
    await syncNow(approver.page);
    await openRecord(approver.page, recordId);
    const changes = approver.page.getByTestId('requested-changes');
    await changes.waitFor();
    const row = changes.locator('tr', { hasText: 'First name(s)' });
    expect(await row.locator('td.old').innerText()).toBe('Corrected');
    expect(await row.locator('td.new').innerText()).toBe('Correctd');
    const requests = approver.page.getByTestId('pending-requests');
    expect(await requests.innerText()).toMatch(/Misspelt at declaration/);
    expect(await requests.innerText()).toMatch(/The informant/);
    expect(await requests.innerText()).toMatch(/Felix Katongo/);
    expect(await approver.page.locator('.badges').innerText()).toMatch(/Correction requested/);
    expect(await approver.page.locator('.badges').innerText()).not.toMatch(/correct:requested/);
    await approver.page.getByTestId('action-ASSIGN').click();
    await approver.page.getByTestId('action-APPROVE').click();
    await shoot(approver.page, 'issue9-4-approve-correction');
    await confirm(approver.page, /requested changes take effect/);
    await syncNow(approver.page);
    const row2 = await server.db
      .selectFrom('records')
      .select('state')
      .where('id', '=', recordId)
      .executeTakeFirstOrThrow();
    expect((row2.state as RecordState).declaration['child.firstName']).toBe('Correctd');
    await approver.context.close();
  });

  test('6. the rejection reason is on the record and atop the update form; assignment says who, with Unassign for a supervisor', async () => {
    const recordId = await declared('Rejected');
    const registrar = await userId('registrar');
    await act('registrar', [
      { recordId, type: 'ASSIGN', assignee: registrar },
      { recordId, type: 'REJECT', annotation: { reason: 'The mother’s surname is misspelt' } },
    ]);
    const agentId = await userId('agent');
    await act('supervisor', [{ recordId, type: 'ASSIGN', assignee: agentId }]);

    const supervisor = await newPage(browser, PHONE);
    await login(supervisor.page, server.url, 'supervisor');
    await syncNow(supervisor.page);
    await openRecord(supervisor.page, recordId);
    await supervisor.page
      .getByTestId('assigned-to')
      .getByText('Assigned to Kalusha Bwalya')
      .waitFor();
    await supervisor.page.getByTestId('action-UNASSIGN').waitFor();
    await supervisor.context.close();

    const { context, page } = await newPage(browser, PHONE);
    await login(page, server.url, 'agent');
    await syncNow(page);
    await openRecord(page, recordId);
    await page.getByTestId('rejection').getByText('The mother’s surname is misspelt').waitFor();
    expect(await page.getByTestId('rejection').innerText()).toMatch(/Felix Katongo/);
    await page.getByTestId('action-UPDATE').click();
    await page.getByTestId('rejection').getByText('The mother’s surname is misspelt').waitFor();
    await shoot(page, 'issue9-6-rejected-update-form');
    await context.close();
  });

  test('7. searches the registry online and the device offline: name, partial tracking id, ID number', async () => {
    const recordId = await declared('Searchable', { 'mother.nid': '5550001112' });
    const tracking = trackingIdOf(recordId);
    const { context, page } = await newPage(browser, PHONE);
    await login(page, server.url, 'registrar');
    await syncNow(page);
    const search = async (text: string) => {
      await page.goto(`${server.url}/#/search`);
      await page.getByLabel(/search by name/i).fill(text);
      await expect.poll(() => titles(page)).toContain('Searchable Banda');
    };
    await search('searchable');
    await search(tracking.slice(3, 9).toLowerCase());
    await search(`${tracking.slice(0, 4)}-${tracking.slice(4, 8)}`);
    await search('5550001112');
    await setOffline(context, true);
    await search('5550001112');
    await page.getByText(/only the records on this device/i).waitFor();
    await context.close();
  });

  test('9. tracking ids grouped, errors as sentences, the header count agrees with “Waiting to send”', async () => {
    const { context, page } = await newPage(browser, PHONE);
    await login(page, server.url, 'agent');
    await setOffline(context, true);
    for (const first of ['Count One', 'Count Two']) {
      await page.goto(`${server.url}/#/new/birth`);
      await page.locator('[id="child.firstName"]').fill(first);
      await page.locator('[id="child.surname"]').fill('Banda');
      await page.locator('[id="child.dob"]').fill('2026-10-01');
      await page.locator('[id="child.sex"]').selectOption('female');
      await nextPage(page);
      await page.locator('[id="mother.firstName"]').fill('Grace');
      await page.locator('[id="mother.surname"]').fill('Banda');
      await page.locator('[id="mother.nid"]').fill('12');
      await page.getByRole('button', { name: /^next$/i }).click();
      await page.getByText('National ID is not a valid id number.').first().waitFor();
      await page.locator('[id="mother.nid"]').fill('1234567890');
      await finishForm(page);
      await page.getByTestId('queue-waiting-to-send').and(page.locator('.active')).waitFor();
    }
    await page.goto(`${server.url}/#/queue/waiting-to-send`);
    await expect.poll(() => waiting(page)).toBe(2);
    // The count loads after the list: wait for it rather than read its placeholder.
    await expect
      .poll(() => page.getByTestId('queue-waiting-to-send').locator('.count').innerText())
      .toBe('2');
    await page.getByTestId('record-item').first().click();
    expect(await page.locator('.tracking-id').innerText()).toMatch(
      /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/,
    );
    await setOffline(context, false);
    await syncNow(page);
    await context.close();
  });
});
