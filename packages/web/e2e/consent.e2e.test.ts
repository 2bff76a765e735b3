import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import {
  action,
  BIRTH,
  declareBirth,
  Device,
  PASSWORD,
  startTestServer,
  type TestServer,
} from '../../server/test/harness.js';
import { confirm, ensureBuilt, launchChromium, newPage, PHONE, screen, test } from './support.js';

/**
 * The citizen's consent flow of issue 15 in real Chromium (PROTOCOL 12): the passport office asks
 * for consent through the API; the citizen opens the portal link, sees which fields (by their
 * labels), for whom, for what and until when, signs in with the one-time code (read from the
 * server's log, where it goes with no message hook) and approves; the office's query then answers
 * the fields; the citizen revokes and sees who read their data; the office's next query is denied.
 */
let server: TestServer;
let browser: Browser;
const logLines: string[] = [];

const FIELDS = ['births.fullName', 'births.dateOfBirth', 'births.sex', 'births.placeOfBirth'];
const LABELS = ['Full name', 'Date of birth', 'Sex', 'Place of birth'];
const QUERY = `query ($id: String!) { person(subjectId: $id) {
  fullName dateOfBirth sex placeOfBirth } }`;

beforeAll(async () => {
  ensureBuilt();
  server = await startTestServer('civil-registry', {
    jobs: true,
    app: {
      logger: { level: 'info', stream: { write: (line: string) => void logLines.push(line) } },
    },
  });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** A registered birth whose informant has a phone (where the code goes): its number. */
async function registeredBirth(
  child: { firstName: string; surname: string; dob: string } = {
    firstName: 'Chipo',
    surname: 'Mwansa',
    dob: '2026-03-14',
  },
): Promise<string> {
  const [agent, registrar] = await Promise.all([server.login('agent'), server.login('registrar')]);
  const recordId = await declareBirth(new Device(server, agent), {
    ...BIRTH,
    'child.firstName': child.firstName,
    'child.surname': child.surname,
    'child.dob': child.dob,
    'child.placeOfBirth': { province: 'central', district: 'ibombo', village: 'Mwembe' },
    'informant.phone': '+260971234567',
  });
  const results = await new Device(server, registrar).push(
    action({ type: 'ASSIGN', recordId, assignee: registrar.user.id }),
    action({ type: 'REGISTER', recordId }),
  );
  expect(results.map((r) => r.outcome)).toEqual(['accepted', 'accepted']);
  const answer = await server.request('GET', `/api/v1/records/${recordId}`, {
    token: registrar.token,
  });
  const { record } = (await answer.json()) as { record: { registrationNumber: string } };
  expect(record.registrationNumber).toBeTruthy();
  return record.registrationNumber;
}

/** The office asks for the fields, for a passport, until noon UTC thirty days ahead. */
async function askConsent(
  office: string,
  subjectId: string,
): Promise<{ id: string; status: string; portalUrl: string; expiresAt: Date }> {
  const expiresAt = new Date(Date.now() + 30 * 86_400_000);
  expiresAt.setUTCHours(12, 0, 0, 0);
  const asked = await server.request('POST', '/api/v1/consents', {
    token: office,
    body: { subjectId, purpose: 'passport', fields: FIELDS, expiresAt: expiresAt.toISOString() },
  });
  expect(asked.status).toBe(201);
  const consent = (await asked.json()) as { id: string; status: string; portalUrl: string };
  expect(consent.status).toBe('requested');
  return { ...consent, expiresAt };
}

/** The citizen asks for a code on the open portal page and signs in with it. */
async function signIn(page: Page, consentId: string): Promise<void> {
  await page.getByRole('button', { name: 'Send me a code' }).click();
  await page.getByTestId('code-sent').waitFor();
  const code = loggedCode(consentId);
  expect(code).toMatch(/^[0-9]{6}$/);
  await page.getByLabel('One-time code').fill(code as string);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** The passport office's access token (a machine client, client_credentials). */
async function consumerToken(): Promise<string> {
  const answer = await server.request('POST', '/api/v1/auth/token', {
    body: {
      grant_type: 'client_credentials',
      client_id: 'passport-office',
      client_secret: PASSWORD,
    },
  });
  expect(answer.status).toBe(200);
  return ((await answer.json()) as { accessToken: string }).accessToken;
}

interface GraphqlAnswer {
  data: { person: Record<string, string | null> | null } | null;
  errors?: { path?: (string | number)[]; extensions?: { code?: string } }[];
}

async function query(token: string, subjectId: string): Promise<GraphqlAnswer> {
  const answer = await server.request('POST', '/api/v1/exchange/graphql', {
    token,
    body: { query: QUERY, variables: { id: subjectId } },
  });
  expect(answer.status).toBe(200);
  return (await answer.json()) as GraphqlAnswer;
}

/** The code of each withheld field, by field name. */
function withheld(body: GraphqlAnswer): Record<string, string | undefined> {
  return Object.fromEntries(
    (body.errors ?? []).map((e) => [String(e.path?.[e.path.length - 1]), e.extensions?.code]),
  );
}

/** The latest one-time code the server wrote to its log for the consent. */
function loggedCode(consentId: string): string | undefined {
  return logLines
    .map((line) => JSON.parse(line) as { consentId?: string; code?: string })
    .findLast((line) => line.consentId === consentId)?.code;
}

async function fieldsShown(page: Page): Promise<string[]> {
  return page.getByTestId('consent-fields').locator('li').allInnerTexts();
}

describe('the consent portal', () => {
  test('asked, approved with a one-time code, answered, revoked, denied; the history shows it', async () => {
    const subjectId = await registeredBirth();
    const office = await consumerToken();
    const consent = await askConsent(office, subjectId);
    const { expiresAt } = consent;
    const before = await query(office, subjectId);
    expect(withheld(before)).toEqual({
      fullName: 'CONSENT_REQUIRED',
      dateOfBirth: 'CONSENT_REQUIRED',
      sex: 'CONSENT_REQUIRED',
      placeOfBirth: 'CONSENT_REQUIRED',
    });

    // The citizen follows the link (a path of the server's public URL) on their phone.
    const { page } = await newPage(browser, PHONE, 'en-GB');
    const link = new URL(consent.portalUrl);
    expect(link.pathname).toBe(`/consent/${consent.id}`);
    await page.goto(`${server.url}${link.pathname}`);
    await expect.poll(() => new URL(page.url()).hash).toBe(`#/consent/${consent.id}`);
    await page.getByRole('heading', { name: 'A request to see your data' }).waitFor();
    await expect.poll(() => fieldsShown(page)).toEqual(LABELS);
    expect(await page.getByTestId('consent-consumer').innerText()).toBe('Passport Office');
    expect(await page.getByTestId('consent-purpose').innerText()).toBe('Passport application');
    expect(await page.getByTestId('consent-until').locator('time').getAttribute('datetime')).toBe(
      expiresAt.toISOString(),
    );
    expect(await page.getByTestId('consent-until').innerText()).toBe(
      expiresAt.toLocaleDateString('en-GB', { dateStyle: 'long', timeZone: 'UTC' }),
    );
    expect(await page.getByTestId('consent-status').getAttribute('data-status')).toBe('requested');
    await screen(page, 'consent-01-asked');

    // A code goes to the registry's contact for the subject (here: the server's log).
    await page.getByRole('button', { name: 'Send me a code' }).click();
    await page.getByTestId('code-sent').waitFor();
    const code = loggedCode(consent.id);
    expect(code).toMatch(/^[0-9]{6}$/);

    // A wrong code is refused and says so; the right one signs in.
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    await page.getByLabel('One-time code').fill(wrong);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page
      .getByRole('alert')
      .getByText(/code is wrong or no longer valid/)
      .waitFor();
    await screen(page, 'consent-02-wrong-code');
    await page.getByLabel('One-time code').fill(code as string);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Do you agree?' }).waitFor();
    // The office's query before the decision is already in the history: nothing given.
    await page.getByTestId('access-history').waitFor();
    expect(await page.getByTestId('access-history').locator('tbody li').allInnerTexts()).toEqual([
      `Withheld (no consent): ${LABELS.join(', ')}`,
    ]);
    await screen(page, 'consent-03-signed-in');

    await page.getByRole('button', { name: 'Approve' }).click();
    await expect
      .poll(() => page.getByTestId('consent-status').getAttribute('data-status'))
      .toBe('approved');
    await page
      .getByTestId('consent-standing')
      .getByText(/You approved\. Passport Office/)
      .waitFor();
    await screen(page, 'consent-04-approved');

    // The office's query now answers every field.
    const answered = await query(office, subjectId);
    expect(answered.errors ?? []).toEqual([]);
    expect(answered.data?.person).toEqual({
      fullName: 'Chipo Mwansa',
      dateOfBirth: '2026-03-14',
      sex: 'female',
      placeOfBirth: 'Mwembe, ibombo',
    });

    // The citizen revokes (asked first: it cannot be undone) and sees who read what.
    await page.getByRole('button', { name: 'Revoke my consent' }).click();
    await confirm(page, /takes effect at once/);
    await expect
      .poll(() => page.getByTestId('consent-status').getAttribute('data-status'))
      .toBe('revoked');
    await page
      .getByTestId('consent-standing')
      .getByText(/consent is revoked/)
      .waitFor();
    const history = page.getByTestId('access-history');
    await history.waitFor();
    const rows = history.locator('tbody tr');
    // Newest first: the answered query, then the one before the approval.
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.nth(0).locator('td').nth(1).innerText()).toBe('Passport Office');
    expect(await rows.nth(0).locator('li').allInnerTexts()).toEqual([
      `Given: ${LABELS.join(', ')}`,
    ]);
    expect(await rows.nth(1).locator('li').allInnerTexts()).toEqual([
      `Withheld (no consent): ${LABELS.join(', ')}`,
    ]);
    await expect(page.getByRole('button', { name: 'Revoke my consent' }).count()).resolves.toBe(0);
    await screen(page, 'consent-05-revoked-history');

    // The office's next query is denied, field by field.
    const after = await query(office, subjectId);
    expect(after.data?.person ?? {}).toEqual(
      expect.objectContaining({ fullName: null, dateOfBirth: null, sex: null, placeOfBirth: null }),
    );
    expect(withheld(after)).toEqual({
      fullName: 'CONSENT_REVOKED',
      dateOfBirth: 'CONSENT_REVOKED',
      sex: 'CONSENT_REVOKED',
      placeOfBirth: 'CONSENT_REVOKED',
    });

    // The same page in French: the portal's own words follow the person's language.
    await page.getByLabel('Language').selectOption('fr');
    await page.getByRole('heading', { name: 'Une demande d’accès à vos données' }).waitFor();
    expect(await page.getByTestId('consent-status').innerText()).toBe('Retiré');
    await page.getByRole('heading', { name: 'Qui a consulté vos données' }).waitFor();
    await screen(page, 'consent-06-french');
  });

  test('a rejection sticks: the office is still refused, and a later visit cannot approve it', async () => {
    const subjectId = await registeredBirth({
      firstName: 'Mwila',
      surname: 'Sakala',
      dob: '2026-05-21',
    });
    const office = await consumerToken();
    const consent = await askConsent(office, subjectId);
    const { page } = await newPage(browser, PHONE, 'en-GB');
    await page.goto(`${server.url}/#/consent/${consent.id}`);
    await expect.poll(() => fieldsShown(page)).toEqual(LABELS);
    await signIn(page, consent.id);
    await page.getByRole('button', { name: 'Reject' }).click();
    await confirm(page, /cannot see these fields/);
    await expect
      .poll(() => page.getByTestId('consent-status').getAttribute('data-status'))
      .toBe('rejected');
    await page
      .getByTestId('consent-standing')
      .getByText(/You rejected/)
      .waitFor();
    expect(await page.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    await screen(page, 'consent-07-rejected');

    const refused = await query(office, subjectId);
    expect(withheld(refused)).toEqual({
      fullName: 'CONSENT_REQUIRED',
      dateOfBirth: 'CONSENT_REQUIRED',
      sex: 'CONSENT_REQUIRED',
      placeOfBirth: 'CONSENT_REQUIRED',
    });

    // Back later (a reload forgets the session): signing in shows the history, not a choice.
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in to see who read your data' }).waitFor();
    await signIn(page, consent.id);
    await page.getByRole('heading', { name: 'You are signed in.' }).waitFor();
    expect(await page.getByTestId('consent-status').getAttribute('data-status')).toBe('rejected');
    expect(await page.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    expect(await page.getByTestId('access-history').locator('tbody li').allInnerTexts()).toEqual([
      `Withheld (no consent): ${LABELS.join(', ')}`,
    ]);
    await screen(page, 'consent-08-rejected-later');
  });
});
