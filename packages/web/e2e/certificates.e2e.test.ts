import { chromium, type Browser, type Page } from 'playwright-core';
import QRCode from 'qrcode';
import jsqrModule from 'jsqr';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import {
  action,
  declareBirth,
  Device,
  startTestServer,
  type TestServer,
} from '../../server/test/harness.js';
import {
  confirm,
  DESKTOP,
  ensureBuilt,
  launchChromium,
  login,
  newPage,
  PHONE,
  setOffline,
  shoot,
  syncNow,
  test,
} from './support.js';

const run = promisify(execFile);
// jsqr is CommonJS: its module object is the function its types call the default export.
const jsQR = jsqrModule as unknown as typeof jsqrModule.default;

/**
 * A certificate from start to end in real Chromium: a registrar registers a birth, previews its
 * certificate, enters who collects it and prints it (the server's PDF); the record leaves "Ready
 * to print"; then, offline, /verify checks the credential read from that PDF's QR code.
 */
let server: TestServer;
let browser: Browser;
let work: string;

beforeAll(async () => {
  ensureBuilt();
  server = await startTestServer('civil-registry');
  browser = await launchChromium();
  work = await mkdtemp(path.join(tmpdir(), 'registra-e2e-certificates-'));
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await rm(work, { recursive: true, force: true });
});

async function waitForServiceWorker(page: Page): Promise<void> {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  if (!(await page.evaluate(() => navigator.serviceWorker.controller !== null))) {
    await page.reload();
    await page.getByTestId('sync-status').waitFor();
  }
}

async function openQueue(page: Page, name: string): Promise<void> {
  await page.getByRole('link', { name: 'Registra' }).click();
  await page.getByTestId(`queue-${name}`).click();
}

/** The QR code on the PDF's first page, as the server test reads it (poppler, then jsQR). */
async function qrOf(pdf: Buffer): Promise<string> {
  const file = path.join(work, `${Date.now()}.pdf`);
  await writeFile(file, pdf);
  await run('pdftoppm', ['-png', '-r', '300', '-singlefile', '-gray', file, `${file}-page`]);
  const png = PNG.sync.read(await readFile(`${file}-page.png`));
  const code = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
  if (!code) throw new Error('no QR code on the certificate');
  return code.data;
}

describe('certificates in the web app', () => {
  test('register, preview, collector, print; the record leaves Ready to print; /verify offline', async () => {
    const agent = await server.login('agent');
    const recordId = await declareBirth(new Device(server, agent), {
      'child.firstName': 'Natasha',
      'child.surname': 'Mwale',
      'child.dob': '2026-10-02',
      'child.sex': 'female',
      'mother.firstName': 'Grace',
      'mother.surname': 'Mwale',
    });

    const { context, page } = await newPage(browser, DESKTOP);
    await login(page, server.url, 'registrar');
    await waitForServiceWorker(page);
    await syncNow(page);
    await page.goto(`${server.url}/#/records/${recordId}`);
    await page.getByTestId('action-ASSIGN').click();
    await page.getByText('Assigned to you').waitFor();
    await syncNow(page);
    await page.getByTestId('action-REGISTER').click();
    await confirm(page, /registration number will be issued/);
    await page.getByText('Not assigned').waitFor();
    await syncNow(page);

    await openQueue(page, 'ready-to-print');
    await page.getByTestId('record-item').filter({ hasText: 'Natasha' }).first().click();
    await page.getByTestId('action-ASSIGN').click();
    await page.getByText('Assigned to you').waitFor();
    await syncNow(page);
    await page.getByTestId('action-PRINT_CERTIFICATE').click();

    // The preview: the configured template, filled in, with the QR code of the credential.
    const preview = page.frameLocator('[data-testid="certificate-preview"]');
    await preview.getByText('Birth certificate').waitFor();
    await preview.getByText(/B2026\w+/).waitFor();
    await preview.locator('svg.qr').waitFor();
    await shoot(page, 'desktop-8-print-preview');
    await page.getByTestId('certificate-language').selectOption('fr');
    await preview.getByText('Acte de naissance').waitFor();
    await page.getByTestId('certificate-language').selectOption('en');

    await page.getByLabel('Relationship').selectOption('mother');
    await page.getByLabel('Full name').fill('Grace Mwale');
    await page.getByLabel('Identity document').selectOption('national-id');
    await page.getByLabel('Document number').fill('204981/10/1');
    const pdfResponse = page.waitForResponse((r) =>
      r.url().includes(`/records/${recordId}/certificates/birth-certificate`),
    );
    await page.getByTestId('print-certificate').click();
    const response = await pdfResponse;
    expect(response.status()).toBe(200);
    expect(response.headers()['content-type']).toBe('application/pdf');
    await page.getByTestId('print-done').getByText('Copy 1 printed').waitFor();
    // The PDF the browser was handed to print, read back from its blob URL.
    const href = (await page.getByTestId('certificate-pdf').getAttribute('href')) as string;
    const pdf = Buffer.from(
      await page.evaluate(async (url) => {
        const blob = await (await fetch(url)).arrayBuffer();
        return Array.from(new Uint8Array(blob));
      }, href),
    );
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    await shoot(page, 'desktop-9-printed');
    await syncNow(page);

    const entries = await server.db
      .selectFrom('entries')
      .select(['type', 'body'])
      .where('record_id', '=', recordId)
      .where('type', '=', 'PRINT_CERTIFICATE')
      .execute();
    expect(entries.map((e) => e.body['annotation'])).toEqual([
      {
        templateId: 'birth-certificate',
        language: 'en',
        collector: {
          relationship: 'mother',
          name: 'Grace Mwale',
          idType: 'national-id',
          idNumber: '204981/10/1',
        },
      },
    ]);
    await openQueue(page, 'ready-to-print');
    await page.getByText(/No record in “Ready to print”/).waitFor();
    expect(await page.getByTestId('record-item').filter({ hasText: 'Natasha' }).count()).toBe(0);

    // The credential on that paper, checked on a device with no network.
    const credential = await qrOf(pdf);
    await page.goto(`${server.url}/#/verify`);
    await page.getByText(/Keys and status lists updated/).waitFor();
    await setOffline(context, true);
    await page.reload();
    await page.getByRole('heading', { name: 'Verify a certificate' }).waitFor();
    await page.getByTestId('credential-input').fill(credential);
    await page.getByRole('button', { name: /^check$/i }).click();
    const verdict = page.getByTestId('verdict');
    await expect.poll(() => verdict.getAttribute('data-verdict')).toBe('valid');
    await verdict.getByText('Natasha').waitFor();
    await shoot(page, 'desktop-10-verify-valid');

    // A changed byte: not valid, still offline.
    const [head, body, signature] = credential.split('.') as [string, string, string];
    const changed = body.endsWith('A') ? `${body.slice(0, -1)}B` : `${body.slice(0, -1)}A`;
    await page.getByTestId('credential-input').fill(`${head}.${changed}.${signature}`);
    await page.getByRole('button', { name: /^check$/i }).click();
    await expect.poll(() => verdict.getAttribute('data-verdict')).toBe('SIGNATURE_INVALID');
    await context.close();

    // The same screens on a phone.
    const phone = await newPage(browser, PHONE);
    await phone.page.goto(`${server.url}/#/verify`);
    await phone.page.getByText(/Keys and status lists updated/).waitFor();
    await phone.page.getByTestId('credential-input').fill(credential);
    await phone.page.getByRole('button', { name: /^check$/i }).click();
    await phone.page.getByTestId('verdict').getByText('Natasha').waitFor();
    await shoot(phone.page, 'phone-10-verify-valid');
    // The record leaves the registrar's hands first: the SDK fetches ahead the credentials of
    // printable records assigned to the person, and this device must not have this one.
    const registrar = new Device(server, await server.login('registrar'));
    await registrar.push(action({ type: 'UNASSIGN', recordId }));
    await login(phone.page, server.url, 'registrar');
    await syncNow(phone.page);
    // Offline on a device that never had this record's credential: the preview works from the
    // device's copy and says the printout is not yet verifiable.
    await setOffline(phone.context, true);
    // Taken offline: the assignment waits in the outbox, the preview works from the device's copy.
    await phone.page.evaluate((id) => {
      window.location.hash = `#/records/${id}`;
    }, recordId);
    await phone.page.getByTestId('action-ASSIGN').click();
    await phone.page.getByText('Assigned to you').waitFor();
    await phone.page.evaluate((id) => {
      window.location.hash = `#/records/${id}/print`;
    }, recordId);
    await phone.page.getByTestId('not-yet-verifiable').waitFor();
    const offlinePreview = phone.page.frameLocator('[data-testid="certificate-preview"]');
    await offlinePreview.getByText(/Not yet verifiable/).waitFor();
    await offlinePreview.getByText('Natasha Mwale').waitFor();
    expect(await offlinePreview.locator('svg.qr').count()).toBe(0);
    await shoot(phone.page, 'phone-11-print-offline');
    await setOffline(phone.context, false);
    await phone.page.goto(`${server.url}/#/records/${recordId}/print`);
    await phone.page
      .frameLocator('[data-testid="certificate-preview"]')
      .locator('svg.qr')
      .waitFor();
    await shoot(phone.page, 'phone-8-print-preview');
    await phone.context.close();
  });

  test('/verify reads the QR code from the camera', async () => {
    // A registered birth and its credential, through the API.
    const agent = await server.login('agent');
    const registrar = await server.login('registrar');
    const recordId = await declareBirth(new Device(server, agent));
    await new Device(server, registrar).push(
      action({ type: 'ASSIGN', recordId, assignee: registrar.user.id }),
      action({ type: 'REGISTER', recordId }),
    );
    const response = await server.request('GET', `/api/v1/records/${recordId}/credential`, {
      token: registrar.token,
    });
    const { credential } = (await response.json()) as { credential: string };

    // Chromium's fake camera plays a Y4M file: one frame showing the QR code.
    const video = path.join(work, 'qr.y4m');
    await writeFile(video, qrFrame(credential));
    const camera = await chromium.launch({
      executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--use-fake-ui-for-media-stream',
        '--use-fake-device-for-media-stream',
        `--use-file-for-fake-video-capture=${video}`,
      ],
    });
    try {
      const context = await camera.newContext({ viewport: PHONE, permissions: ['camera'] });
      const page = await context.newPage();
      await page.goto(`${server.url}/#/verify`);
      await page.getByText(/Keys and status lists updated/).waitFor();
      await page.getByRole('button', { name: 'Scan a QR code' }).click();
      const verdict = page.getByTestId('verdict');
      await expect
        .poll(() => verdict.getAttribute('data-verdict'), { timeout: 30_000 })
        .toBe('valid');
      expect(await page.getByTestId('credential-input').inputValue()).toBe(credential);
      await context.close();
    } finally {
      await camera.close();
    }
  });
});

/**
 * A one-frame Y4M video (4:2:0) of a text's QR code: 4 pixels a module, white around it. The
 * luma plane is the picture; the chroma planes are neutral grey.
 */
function qrFrame(text: string): Buffer {
  const qr = QRCode.create(text, { errorCorrectionLevel: 'L' });
  const modules = qr.modules.size;
  const scale = 4;
  const side = Math.ceil(((modules + 8) * scale) / 16) * 16;
  const offset = Math.floor((side - modules * scale) / 2);
  const luma = Buffer.alloc(side * side, 255);
  for (let row = 0; row < modules; row++) {
    for (let column = 0; column < modules; column++) {
      if (!qr.modules.get(row, column)) continue;
      for (let y = 0; y < scale; y++) {
        const start = (offset + row * scale + y) * side + offset + column * scale;
        luma.fill(16, start, start + scale);
      }
    }
  }
  const chroma = Buffer.alloc((side / 2) * (side / 2) * 2, 128);
  return Buffer.concat([
    Buffer.from(`YUV4MPEG2 W${side} H${side} F10:1 Ip A1:1 C420jpeg\n`),
    Buffer.from('FRAME\n'),
    luma,
    chroma,
  ]);
}
