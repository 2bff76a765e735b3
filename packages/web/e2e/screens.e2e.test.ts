import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { BIRTH, startTestServer, type TestServer } from '../../server/test/harness.js';
import {
  DESKTOP,
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

/**
 * Every screen at 360 and 1280 px, in English and in French: photographed into e2e/screenshots
 * and checked with axe-core (no serious or critical violation).
 */
let server: TestServer;
let browser: Browser;
let pendingCorrection: string;
let rejected: string;
let toCorrect: string;

let tick = Date.now() - 3_600_000;
async function act(username: string, actions: Record<string, unknown>[]): Promise<void> {
  const session = await server.login(username);
  const response = await server.request('POST', '/api/v1/actions', {
    token: session.token,
    body: {
      actions: actions.map((a) => ({
        id: crypto.randomUUID(),
        occurredAt: new Date((tick += 1000)).toISOString(),
        ...a,
      })),
    },
  });
  expect(response.status).toBe(200);
}

async function birth(first: string): Promise<string> {
  const recordId = crypto.randomUUID();
  await act('agent', [
    { recordId, type: 'CREATE', recordType: 'birth' },
    {
      recordId,
      type: 'DECLARE',
      declaration: { ...BIRTH, 'child.firstName': first, 'mother.nid': '1234567890' },
    },
  ]);
  return recordId;
}

beforeAll(async () => {
  ensureBuilt();
  server = await startTestServer('civil-registry');
  browser = await launchChromium();
  const registrar = (await server.login('registrar')).user.id;
  await birth('Chanda');
  await birth('Mutinta');
  pendingCorrection = await birth('Natasha');
  rejected = await birth('Bupe');
  toCorrect = await birth('Mwaka');
  const registrar2 = (await server.login('registrar2')).user.id;
  await act('registrar', [
    { recordId: pendingCorrection, type: 'ASSIGN', assignee: registrar },
    { recordId: pendingCorrection, type: 'REGISTER' },
    { recordId: pendingCorrection, type: 'ASSIGN', assignee: registrar },
    {
      recordId: pendingCorrection,
      type: 'CORRECT',
      declaration: { 'child.firstName': 'Natascha', 'child.weightAtBirth': 3.2 },
      annotation: { reason: 'The informant gave the name again', requester: 'informant' },
    },
    { recordId: rejected, type: 'ASSIGN', assignee: registrar },
    { recordId: rejected, type: 'REJECT', annotation: { reason: 'The date of birth is wrong' } },
    { recordId: toCorrect, type: 'ASSIGN', assignee: registrar },
    { recordId: toCorrect, type: 'REGISTER' },
  ]);
  await act('registrar2', [{ recordId: toCorrect, type: 'ASSIGN', assignee: registrar2 }]);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function open(page: Page, hash: string, ready: string): Promise<void> {
  await page.goto(`${server.url}/${hash}`);
  await page.locator(ready).first().waitFor();
}

async function shots(lang: 'en' | 'fr', device: 'phone' | 'desktop'): Promise<void> {
  const name = (screenName: string) => `${device}-${lang}-${screenName}`;
  // A person's browser speaks their language: the date pickers follow it.
  const locale = lang === 'fr' ? 'fr-FR' : 'en-GB';
  const { context, page } = await newPage(browser, device === 'phone' ? PHONE : DESKTOP, locale);
  await context.addInitScript((language) => {
    localStorage.setItem('registra:language', language);
  }, lang);
  await page.goto(server.url);
  await page.locator('#password').waitFor();
  await screen(page, name('01-login'));

  // Another registrar than the one who asked for the correction: they may approve it.
  await login(page, server.url, 'registrar2');
  await syncNow(page);
  await open(page, '#/queue/ready-for-review', '[data-testid="record-item"]');
  await screen(page, name('02-queue'));
  await open(page, '#/queue/sent-for-approval', '[data-testid="record-item"]');
  await screen(page, name('03-queue-approval'));
  await open(page, `#/records/${pendingCorrection}`, '[data-testid="requested-changes"]');
  await screen(page, name('04-record-request'));
  const take = page.getByTestId('action-ASSIGN');
  if (await take.isVisible()) await take.click();
  await page.getByTestId('action-APPROVE').click();
  await page.getByRole('dialog').waitFor();
  await screen(page, name('05-confirm'));
  await page.getByRole('dialog').getByRole('button').last().click();
  await open(page, '#/search', '#search');
  await page.locator('#search').fill('banda');
  await page.getByTestId('record-item').first().waitFor();
  await screen(page, name('06-search'));
  await page.getByTestId('user-menu').click();
  await page.locator('#menu-language').waitFor();
  await screen(page, name('07-menu'));
  await page.keyboard.press('Escape');
  // A correction: the changes old → new, and the reason and requester it needs.
  await open(page, `#/records/${toCorrect}/CORRECT`, '[id="child.firstName"]');
  await page.locator('[id="child.firstName"]').fill('Mwaaka');
  // Through the form's pages (their number is the configuration's) to the correction's details.
  const details = page.locator('[data-testid="correction-details"]');
  for (let i = 0; i < 8 && !(await details.isVisible()); i++)
    await page.locator('.form-actions button.primary').click();
  await details.waitFor();
  await page.locator('.form-actions button.primary').click();
  await page.locator('#correction-reason[aria-invalid="true"]').waitFor();
  await screen(page, name('07b-correction'));
  await context.close();

  const agent = await newPage(browser, device === 'phone' ? PHONE : DESKTOP, locale);
  await agent.context.addInitScript((language) => {
    localStorage.setItem('registra:language', language);
  }, lang);
  const p = agent.page;
  await login(p, server.url, 'agent');
  await syncNow(p);
  await open(p, '#/queue/requires-updates', '[data-testid="record-item"]');
  await screen(p, name('08-queue-agent'));
  await open(p, `#/records/${rejected}`, '[data-testid="rejection"]');
  await screen(p, name('09-record-rejected'));
  const takeIt = p.getByTestId('action-ASSIGN');
  if (await takeIt.isVisible()) await takeIt.click();
  await p.getByTestId('action-UPDATE').click();
  await p.locator('[data-testid="rejection"]').waitFor();
  await screen(p, name('10-update-form'));
  await open(p, '#/new/birth', '[id="child.firstName"]');
  await p.locator('[id="child.firstName"]').fill('Thandiwe');
  await p.locator('[id="child.surname"]').fill('Phiri');
  await p.locator('[id="child.dob"]').fill('2026-10-03');
  await p.locator('[id="child.sex"]').selectOption('female');
  await screen(p, name('11-form'));
  await nextPage(p);
  await p.locator('[id="mother.nid"]').fill('12');
  await p.locator('.form-actions button.primary').click();
  await p.locator('.field-error').first().waitFor();
  await screen(p, name('12-form-errors'));
  await p.locator('[id="mother.nid"]').fill('');
  await p.locator('[id="mother.firstName"]').fill('Esther');
  await p.locator('[id="mother.surname"]').fill('Phiri');
  // On through the form's pages (their number is the configuration's) to the review.
  const review = p.locator('.review');
  for (let i = 0; i < 8 && !(await review.isVisible()); i++) {
    await p.locator('.form-actions button.primary').click();
    await p.waitForTimeout(150);
  }
  await review.waitFor();
  await screen(p, name('13-review'));
  await open(p, '#/queue/drafts', '[data-testid="record-item"]');
  await screen(p, name('14-drafts'));
  await open(p, '#/queue/waiting-to-send', '.queue-title');
  await screen(p, name('15-waiting'));
  await open(p, '#/queue/needs-attention', '.queue-title');
  await screen(p, name('16-needs-attention'));
  await agent.context.close();
}

describe('every screen, at 360 and 1280 px, in English and French', () => {
  for (const lang of ['en', 'fr'] as const)
    for (const device of ['phone', 'desktop'] as const)
      test(`${lang} on a ${device}: photographed, and no serious accessibility violation`, () =>
        shots(lang, device));
});
