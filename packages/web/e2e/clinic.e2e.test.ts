import type { RecordState } from '@registra/core';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/harness.js';
import {
  ensureBuilt,
  launchChromium,
  login,
  newPage,
  nextPage,
  PHONE,
  screen,
  syncNow,
  test,
} from './support.js';

/** The clinic's own words, French, a time picker, and facilities limited to the district. */
let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  ensureBuilt();
  server = await startTestServer('clinic');
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('the clinic in the web app', () => {
  test('8. books in the clinic’s words, in French too, at 9:30, only at facilities of the district', async () => {
    const { context, page } = await newPage(browser, PHONE);
    await login(page, server.url, 'receptionist');
    await page.getByRole('button', { name: /new appointment/i }).click();
    await page.locator('[id="patient.firstName"]').fill('Chipo');
    await page.locator('[id="patient.surname"]').fill('Mwansa');
    await nextPage(page);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    await page.locator('[id="appointment.date"]').fill(tomorrow);
    // A time picker: 9:30 is taken as it is said, and kept as 09:30.
    expect(await page.locator('[id="appointment.time"]').getAttribute('type')).toBe('time');
    await page.locator('[id="appointment.time"]').fill('09:30');
    const facilities = await page.locator('[id="appointment.facility"] option').allInnerTexts();
    expect(facilities).toContain('Ibombo Health Centre');
    expect(facilities).not.toContain('Ilanga Health Centre');
    await page.locator('[id="appointment.facility"]').selectOption('ibombo-clinic');
    await page.locator('[id="appointment.service"]').selectOption('immunisation');
    await page.getByRole('button', { name: /^review$/i }).click();
    // The clinic's word for sending: "Book", not "Send declaration".
    await page.getByRole('button', { name: /^book$/i }).click();
    await syncNow(page);
    const row = await server.db.selectFrom('records').select('state').executeTakeFirstOrThrow();
    const state = row.state as RecordState;
    expect(state.declaration['appointment.time']).toBe('09:30');
    await page.goto(`${server.url}/#/queue/booked`);
    await page.getByTestId('record-item').first().waitFor();
    expect(await page.getByTestId('record-item').first().innerText()).toMatch(/Booked/);
    expect(await page.locator('body').innerText()).not.toMatch(/declared|Ready for review/i);

    // The same, in French: the app's words and the configuration's.
    await page.getByTestId('user-menu').click();
    await page.locator('#menu-language').selectOption('fr');
    await page.getByTestId('user-menu').click();
    await page.getByTestId('queue-booked').filter({ hasText: 'Réservés' }).waitFor();
    await page.getByTestId('record-item').first().click();
    await page.getByText('Réservé', { exact: true }).first().waitFor();
    await page.getByRole('heading', { name: 'Historique' }).waitFor();
    await screen(page, 'issue9-8-clinic-fr');
    await page.getByTestId('user-menu').click();
    await page.locator('#menu-language').selectOption('en');
    await context.close();

    // The server checks the facility too: another district's is refused, naming the field.
    const receptionist = await server.login('receptionist');
    const response = await server.request('POST', '/api/v1/actions', {
      token: receptionist.token,
      body: {
        actions: [
          {
            id: crypto.randomUUID(),
            recordId: state.id,
            type: 'UPDATE',
            occurredAt: new Date().toISOString(),
            declaration: { 'appointment.facility': 'ilanga-clinic' },
          },
        ],
      },
    });
    const body = (await response.json()) as { results: { outcome: string; errors: unknown }[] };
    expect(body.results[0]).toMatchObject({
      outcome: 'rejected',
      errors: [
        { path: 'appointment.facility', message: 'must be a place within your jurisdiction' },
      ],
    });
  });
});
