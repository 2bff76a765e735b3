import { createServer, type Server } from 'node:http';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/harness.js';
import { DESKTOP, ensureBuilt, launchChromium, login, newPage, screen, test } from './support.js';

/**
 * Issue 16 in an administrator's hands: the social registry's adapter in (households from a
 * survey tool's export) by its label, run now from the screen, then working with what it applied;
 * the same screen in French.
 */
const TOKEN = 'e2e survey token';

let server: TestServer;
let browser: Browser;
let source: Server;

beforeAll(async () => {
  ensureBuilt();
  // The survey tool's export: one page of one household.
  source = createServer((request, response) => {
    if (request.headers['authorization'] !== `Token ${TOKEN}`) {
      response.writeHead(401).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify({
        next: null,
        asOf: '2026-11-30T12:00:00.000Z',
        results: [
          {
            _id: 7001,
            _submission_time: '2026-11-29T10:00:00Z',
            head_first_name: 'Chilufya',
            head_surname: 'Mulenga',
            hh_size: 5,
            province: 'central',
            district: 'ibombo',
          },
        ],
      }),
    );
  });
  await new Promise<void>((resolve) => source.listen(0, '127.0.0.1', resolve));
  const address = source.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  server = await startTestServer('social-registry', {
    jobs: true,
    env: {
      REGISTRA_SURVEY_URL: `http://127.0.0.1:${port}/export`,
      REGISTRA_SURVEY_TOKEN: TOKEN,
    },
  });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  source?.closeAllConnections();
  await new Promise<void>((resolve) => source?.close(() => resolve()) ?? resolve());
});

describe('an administrator and the adapters', () => {
  test('sees the survey adapter by its label, runs it now, and sees what it applied', async () => {
    const { page } = await newPage(browser, DESKTOP);
    await login(page, server.url, 'admin');
    await page.getByTestId('user-menu').click();
    await page.getByRole('link', { name: /^adapters$/i }).click();
    const card = page.getByTestId('adapters').locator('li', { hasText: 'Household survey export' });
    await expect.poll(() => card.innerText()).toMatch(/Adapter in · Not run yet/);
    await expect.poll(() => card.innerText()).toMatch(/Records: Household/);
    await card.getByRole('button', { name: /run now/i }).click();
    await expect
      .poll(async () => {
        await page.getByRole('button', { name: /^refresh$/i }).click();
        return card.innerText();
      })
      .toMatch(/Working[\s\S]*1 applied/);
    await screen(page, 'desktop-adapters');

    await page
      .locator('#menu-language')
      .selectOption('fr')
      .catch(async () => {
        await page.getByTestId('user-menu').click();
        await page.locator('#menu-language').selectOption('fr');
      });
    const french = page
      .getByTestId('adapters')
      .locator('li', { hasText: "Export de l'enquête ménages" });
    await expect
      .poll(async () => {
        await page.getByRole('button', { name: /^actualiser$/i }).click();
        return french.innerText();
      })
      .toMatch(/Adaptateur entrant · Fonctionne[\s\S]*1 appliqués/);
  });
});
