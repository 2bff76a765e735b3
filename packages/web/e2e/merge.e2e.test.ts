import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/harness.js';
import {
  ensureBuilt,
  finishForm,
  launchChromium,
  login,
  newPage,
  nextPage,
  PHONE,
  screen,
  setOffline,
  shoot,
  syncNow,
  test,
} from './support.js';

/** Social registry, merge mode: two devices edit one household offline. */
let server: TestServer;
let browser: Browser;
let householdId: string;

beforeAll(async () => {
  ensureBuilt();
  server = await startTestServer('social-registry');
  browser = await launchChromium();
  const enumerator = await server.login('enumerator');
  householdId = crypto.randomUUID();
  const now = new Date().toISOString();
  const response = await server.request('POST', '/api/v1/actions', {
    token: enumerator.token,
    body: {
      actions: [
        {
          id: crypto.randomUUID(),
          recordId: householdId,
          type: 'CREATE',
          recordType: 'household',
          occurredAt: now,
        },
        {
          id: crypto.randomUUID(),
          recordId: householdId,
          type: 'DECLARE',
          occurredAt: now,
          declaration: {
            'household.address': { province: 'central', district: 'ibombo', village: 'Chongwe' },
            'household.size': 4,
            'head.firstName': 'Mwila',
            'head.surname': 'Tembo',
          },
        },
      ],
    },
  });
  expect(response.status).toBe(200);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function editOffline(page: Page, field: string, value: string): Promise<void> {
  await page.goto(`${server.url}/#/records/${householdId}`);
  await page.getByTestId('action-UPDATE').click();
  const input = page.locator(`[id="${field}"]`);
  await page.locator('.steps li.active').waitFor();
  for (let i = 0; i < 4 && !(await input.isVisible()); i++) await nextPage(page);
  await input.fill(value);
  await finishForm(page, /save changes/i);
}

/** The household as the server answers it (sensitive fields are sealed in the read model). */
async function stateOnServer() {
  const enumerator = await server.login('enumerator');
  const response = await server.request('GET', `/api/v1/records/${householdId}`, {
    token: enumerator.token,
  });
  expect(response.status).toBe(200);
  const { record } = (await response.json()) as {
    record: { declaration: Record<string, unknown>; flags: string[] };
  };
  return record;
}

describe('merge mode in the field app', () => {
  test('applies offline edits of different fields from two devices, and flags edits of the same field', async () => {
    const one = await newPage(browser, PHONE);
    const two = await newPage(browser, PHONE);
    await login(one.page, server.url, 'enumerator');
    await login(two.page, server.url, 'enumerator2');
    await syncNow(one.page);
    await syncNow(two.page);

    await setOffline(one.context, true);
    await setOffline(two.context, true);
    await editOffline(one.page, 'household.size', '6');
    await editOffline(two.page, 'head.phone', '+260971112233');
    await setOffline(one.context, false);
    await setOffline(two.context, false);
    await syncNow(one.page);
    await syncNow(two.page);
    await syncNow(one.page);
    const merged = await stateOnServer();
    expect(merged.declaration).toMatchObject({
      'household.size': 6,
      'head.phone': '+260971112233',
    });
    expect(merged.flags).not.toContain('conflict');
    for (const { page } of [one, two]) {
      await page.goto(`${server.url}/#/records/${householdId}`);
      await page.getByText('+260971112233').first().waitFor();
    }

    await setOffline(one.context, true);
    await setOffline(two.context, true);
    await editOffline(one.page, 'head.firstName', 'Mwape');
    await editOffline(two.page, 'head.firstName', 'Mulenga');
    await setOffline(one.context, false);
    await setOffline(two.context, false);
    await syncNow(one.page);
    await syncNow(two.page);
    await syncNow(one.page);
    const conflicted = await stateOnServer();
    expect(conflicted.flags).toContain('conflict');
    for (const { page } of [one, two]) {
      await page.goto(`${server.url}/#/records/${householdId}`);
      await page
        .getByText(/conflict/i)
        .first()
        .waitFor();
      await page.getByText('Mwape').first().waitFor();
      await page.getByText('Mulenga').first().waitFor();
    }
    await shoot(one.page, 'phone-conflict');
    await one.context.close();
    await two.context.close();
  });

  test('7. links a member to a household by searching its name; the household lists its members', async () => {
    const { context, page } = await newPage(browser, PHONE);
    await login(page, server.url, 'enumerator');
    await syncNow(page);
    await page.getByRole('button', { name: /new individual/i }).click();
    await page.locator('[id="person.firstName"]').fill('Tiyamike');
    await page.locator('[id="person.surname"]').fill('Tembo');
    await page.getByLabel(/find a household/i).fill('tembo');
    // The household's head is named by the edits of the test above (Mwape or Mulenga Tembo).
    await page.getByTestId('reference-option').filter({ hasText: 'Tembo' }).first().click();
    await page.locator('.reference .chosen').getByRole('link', { name: /Tembo/ }).waitFor();
    await screen(page, 'issue9-7-reference-picker');
    await finishForm(page);
    await syncNow(page);
    await page.goto(`${server.url}/#/records/${householdId}`);
    await page.getByTestId('linked-records').getByText('Tiyamike Tembo').waitFor();
    await screen(page, 'issue9-7-household-members');
    await context.close();
  });
});
