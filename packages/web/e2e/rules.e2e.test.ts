import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { freePort } from '../../server/test/ports.js';
import { action, BIRTH, startTestServer, type TestServer } from '../../server/test/harness.js';
import {
  confirm,
  DESKTOP,
  ensureBuilt,
  launchChromium,
  login,
  newPage,
  shoot,
  syncNow,
  test,
} from './support.js';

/**
 * PROTOCOL 8 in a registrar's hands: with the example rules service (`npm run example:rules`)
 * running as the civil registry's `rules` hook, registering a birth gives the service's number,
 * and a birth it refuses shows its reason.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SECRET = 'e2e rules secret';

let server: TestServer;
let browser: Browser;
let rules: ChildProcess;

beforeAll(async () => {
  ensureBuilt();
  const port = await freePort();
  rules = spawn(process.execPath, ['--import', 'tsx', 'examples/rules-service/index.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      REGISTRA_RULES_PORT: String(port),
      REGISTRA_RULES_SECRET: SECRET,
      REGISTRA_RULES_STATE: path.join(mkdtempSync(path.join(tmpdir(), 'rules-')), 'rules.json'),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    rules.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('rules service on')) resolve();
    });
    rules.once('exit', (code) => reject(new Error(`the rules service ended with ${code}`)));
  });
  server = await startTestServer('civil-registry', {
    jobs: true,
    env: {
      REGISTRA_RULES_URL: `http://127.0.0.1:${port}/rules`,
      REGISTRA_RULES_SECRET: SECRET,
    },
  });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  rules?.kill();
});

/** A birth the agent declared through the API: ready for the registrar. */
async function declared(declaration: Record<string, string>): Promise<string> {
  const agent = await server.login('agent');
  const recordId = uuidv7();
  const response = await server.request('POST', '/api/v1/actions', {
    token: agent.token,
    body: {
      actions: [
        action({ type: 'CREATE', recordId, recordType: 'birth' }),
        action({ type: 'DECLARE', recordId, declaration }),
      ],
    },
  });
  expect(response.status).toBe(200);
  return recordId;
}

async function register(recordId: string, shot: string) {
  const { page } = await newPage(browser, DESKTOP);
  await login(page, server.url, 'registrar');
  await syncNow(page);
  await page.goto(`${server.url}/#/records/${recordId}`);
  await page.getByTestId('action-ASSIGN').click();
  await syncNow(page);
  await page.getByTestId('action-REGISTER').click();
  await confirm(page, /registration number will be issued/);
  // The rules service decides in the server; the next sync brings its decision.
  await expect
    .poll(async () => {
      await syncNow(page);
      return page.locator('main').innerText();
    })
    .toMatch(/registration number B-\d{4}-\d{6}|must be at least 12 years older/i);
  await shoot(page, shot);
  return page;
}

describe('a registrar with the rules service', () => {
  test('registers a birth and sees the number the service gave', async () => {
    const recordId = await declared({ ...BIRTH, 'mother.dob': '1990-04-02' });
    const page = await register(recordId, 'desktop-registered-by-rules');
    await expect.poll(() => page.locator('main').innerText()).toMatch(/B-\d{4}-000001/);
    // The history names the service by its label, not its id.
    expect(await page.locator('main').innerText()).toContain(
      'the outside system “Civil registration rules”',
    );
    // The request shows its outcome once decided, not "waiting for a decision".
    const request = page.getByTestId('history-entry').filter({ hasText: /^Register by/ });
    await expect.poll(() => request.innerText()).toMatch(/approved/);
  });

  test('sees the reason when the service refuses', async () => {
    // Names of their own: a birth like the one above would wait for a duplicate review.
    const recordId = await declared({
      ...BIRTH,
      'child.firstName': 'Chipo',
      'child.surname': 'Mwale',
      'mother.firstName': 'Ruth',
      'mother.surname': 'Mwale',
      'mother.dob': '2020-01-01',
    });
    const page = await register(recordId, 'desktop-declined-by-rules');
    await expect
      .poll(() => page.locator('main').innerText())
      .toMatch(/The mother must be at least 12 years older than the child/);
    const request = page.getByTestId('history-entry').filter({ hasText: /^Register by/ });
    await expect.poll(() => request.innerText()).toMatch(/declined/);
  });

  test('an administrator sees a failing delivery with its last error, and retries it', async () => {
    rules.kill();
    const recordId = await declared({
      ...BIRTH,
      'child.firstName': 'Kondwani',
      'child.surname': 'Zulu',
      'child.sex': 'male',
      'mother.firstName': 'Esther',
      'mother.surname': 'Zulu',
    });
    const registrar = await server.login('registrar');
    const response = await server.request('POST', '/api/v1/actions', {
      token: registrar.token,
      body: {
        actions: [
          action({ type: 'ASSIGN', recordId, assignee: registrar.user.id }),
          action({ type: 'REGISTER', recordId }),
        ],
      },
    });
    expect(response.status).toBe(200);
    const { page } = await newPage(browser, DESKTOP);
    await login(page, server.url, 'admin');
    await page.getByTestId('user-menu').click();
    await page.getByRole('link', { name: /failing deliveries/i }).click();
    await expect
      .poll(async () => {
        await page.getByRole('button', { name: /^refresh$/i }).click();
        return page.locator('main').innerText();
      })
      .toMatch(/Civil registration rules[\s\S]*Last error: no connection/);
    await shoot(page, 'desktop-failing-deliveries');
    await page
      .getByRole('button', { name: /retry now/i })
      .first()
      .click();
    await expect.poll(() => page.locator('main').innerText()).toMatch(/attempts?/);
  });
});
