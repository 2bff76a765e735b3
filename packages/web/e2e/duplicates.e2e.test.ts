import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { BIRTH } from '../../core/test/fixtures.js';
import { startTestServer, type TestServer } from '../../server/test/harness.js';
import {
  confirm,
  DESKTOP,
  ensureBuilt,
  launchChromium,
  login,
  newPage,
  screen,
  syncNow,
  test,
} from './support.js';

/** Civil registry: two similar births are declared; the registrar reviews the suspicion. */
let server: TestServer;
let browser: Browser;
let first: string;
let second: string;

async function declare(token: string, declaration: Record<string, string>): Promise<string> {
  const recordId = crypto.randomUUID();
  const now = new Date().toISOString();
  const response = await server.request('POST', '/api/v1/actions', {
    token,
    body: {
      actions: [
        { id: crypto.randomUUID(), recordId, type: 'CREATE', recordType: 'birth', occurredAt: now },
        { id: crypto.randomUUID(), recordId, type: 'DECLARE', occurredAt: now, declaration },
      ],
    },
  });
  expect(response.status).toBe(200);
  return recordId;
}

async function stateOf(id: string) {
  const row = await server.db
    .selectFrom('records')
    .select('state')
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  return row.state as { status: string; flags: string[] };
}

beforeAll(async () => {
  ensureBuilt();
  // The job runner runs deduplication after each DECLARE, as `npm start` does.
  server = await startTestServer('civil-registry', { jobs: true });
  browser = await launchChromium();
  const agent = await server.login('agent');
  const names = { 'child.surname': 'Mwansa', 'mother.surname': 'Mwansa' };
  first = await declare(agent.token, { ...BIRTH, ...names, 'child.firstName': 'Chilufya' });
  second = await declare(agent.token, {
    ...BIRTH,
    ...names,
    'child.firstName': 'Chilufiya',
    'child.dob': '2026-10-03',
  });
  // The deduplication job flags the second birth (it runs after the DECLARE has committed).
  for (let i = 0; i < 300 && !(await stateOf(second)).flags.includes('duplicate:suspected'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('duplicate review in the web app', () => {
  test('the registrar compares a suspected duplicate side by side, marks it not a duplicate and registers it', async () => {
    const { context, page } = await newPage(browser, DESKTOP);
    await login(page, server.url, 'registrar');
    await syncNow(page);

    await page.goto(`${server.url}/#/queue/possible-duplicates`);
    await page.getByTestId('queue-possible-duplicates').waitFor();
    // The second birth is in the queue (the first may be too: its own check may have run last).
    await page.locator(`[data-testid="record-item"][href="#/records/${second}"]`).click();
    await page.getByTestId('duplicate-notice').getByRole('link').click();

    await page.getByTestId('review-assign').click();
    const table = page.getByTestId(`comparison-${first}`);
    await table.waitFor();
    const firstName = table.locator('tbody tr').first(); // the child's first name, the first rule
    await expect.poll(() => firstName.innerText()).toMatch(/Chilufiya\s+Chilufya/);
    await expect.poll(() => firstName.innerText()).toMatch(/typo|sounds alike/);
    // The matching parts are highlighted; the score is shown.
    expect(await table.locator('mark').count()).toBeGreaterThan(4);
    await expect.poll(() => page.getByTestId('candidate-score').innerText()).toMatch(/score \d+%/);
    await screen(page, 'desktop-duplicate-review');

    await page.getByTestId('mark-not-duplicate').click();
    await page
      .getByRole('dialog')
      .getByRole('textbox')
      .fill('Different children: checked with the mother');
    await confirm(page, /suspicion is lifted/);
    await page.getByTestId('review-done').waitFor();
    await syncNow(page);
    await expect
      .poll(async () => (await stateOf(second)).flags)
      .not.toContain('duplicate:suspected');

    await page.goto(`${server.url}/#/records/${second}`);
    await page.getByTestId('action-REGISTER').click();
    await confirm(page);
    await syncNow(page);
    await expect.poll(async () => (await stateOf(second)).status).toBe('REGISTERED');
    await context.close();
  });
});
