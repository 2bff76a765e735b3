import type { Browser, Page } from 'playwright-core';
import { FileValueSchema, type RecordState } from '@registra/core';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { PASSWORD, startTestServer, type TestServer } from '../../server/test/harness.js';
import {
  DESKTOP,
  ensureBuilt,
  finishForm,
  launchChromium,
  login,
  newPage,
  nextPage,
  PHONE,
  setOffline,
  shoot,
  syncNow,
  test,
  waitForServiceWorker,
} from './support.js';

/**
 * PROTOCOL 9 in the field app: a photo taken offline is kept on the device with the declaration,
 * survives a reload, goes up when the network is back (before the declaration), and the
 * registrar opens it on the record.
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

/** A real photo, as a camera gives it: a 2400 × 1800 JPEG drawn by the browser itself. */
async function cameraPhoto(page: Page): Promise<Buffer> {
  const base64 = await page.evaluate(() => {
    const canvas = document.createElement('canvas');
    canvas.width = 2400;
    canvas.height = 1800;
    const context = canvas.getContext('2d') as CanvasRenderingContext2D;
    const gradient = context.createLinearGradient(0, 0, 2400, 1800);
    gradient.addColorStop(0, '#1f4e79');
    gradient.addColorStop(1, '#f2c14e');
    context.fillStyle = gradient;
    context.fillRect(0, 0, 2400, 1800);
    for (let i = 0; i < 400; i++) {
      context.fillStyle = `hsl(${(i * 37) % 360} 70% 50%)`;
      context.fillRect((i * 97) % 2400, (i * 53) % 1800, 40 + (i % 90), 30 + (i % 70));
    }
    return canvas.toDataURL('image/jpeg', 0.95).split(',')[1] as string;
  });
  return Buffer.from(base64, 'base64');
}

/** A JPEG's width and height, from its first SOF marker. */
function jpegSize(bytes: Buffer): { width: number; height: number } {
  for (let at = 2; at < bytes.length;) {
    const marker = bytes[at + 1] as number;
    const length = bytes.readUInt16BE(at + 2);
    if (marker >= 0xc0 && marker <= 0xc3)
      return { height: bytes.readUInt16BE(at + 5), width: bytes.readUInt16BE(at + 7) };
    at += 2 + length;
  }
  throw new Error('no SOF marker');
}

async function serverRecord(firstName: string): Promise<RecordState | undefined> {
  const rows = await server.db.selectFrom('records').select(['state']).execute();
  return rows
    .map((row) => row.state as RecordState)
    .find((state) => state.declaration['child.firstName'] === firstName);
}

describe('files in the field app', () => {
  test('a photo taken offline survives a reload, uploads when back online, and the registrar opens it', async () => {
    const { context, page } = await newPage(browser, PHONE);
    await login(page, server.url, 'agent');
    await waitForServiceWorker(page);
    const photo = await cameraPhoto(page);

    await setOffline(context, true);
    await expect.poll(() => page.getByTestId('sync-status').innerText()).toMatch(/offline/i);
    await page.getByRole('button', { name: /new birth/i }).click();
    await page.locator('[id="child.firstName"]').fill('Photo');
    await page.locator('[id="child.surname"]').fill('Banda');
    await page.locator('[id="child.dob"]').fill('2026-10-01');
    await page.locator('[id="child.sex"]').selectOption('female');
    await nextPage(page);
    await page.locator('[id="mother.firstName"]').fill('Grace');
    await page.locator('[id="mother.surname"]').fill('Banda');
    const input = page.locator('[id="documents.proofOfBirth"]');
    for (let i = 0; i < 6 && !(await input.isVisible()); i++) await nextPage(page);
    await input.setInputFiles({
      name: 'hospital-record.jpg',
      mimeType: 'image/jpeg',
      buffer: photo,
    });
    const state = page.locator('[data-field="documents.proofOfBirth"] [data-testid="file-state"]');
    await expect.poll(() => state.innerText()).toBe('On this device');
    await expect
      .poll(() =>
        page
          .locator('[data-field="documents.proofOfBirth"] img.thumbnail')
          .evaluate((img: HTMLImageElement) => img.naturalWidth),
      )
      .toBeGreaterThan(0);
    await shoot(page, 'phone-photo-offline');
    await finishForm(page);
    await expect
      .poll(() => page.getByTestId('sync-status').innerText())
      .toMatch(/1 record waiting to send/);

    // Reloaded with no network: the app comes from the service worker, the photo from IndexedDB.
    await page.reload();
    await page.getByLabel('Password').waitFor({ timeout: 20_000 });
    await page.getByLabel('Username').fill('agent');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: /unlock/i }).click();
    await expect
      .poll(() => page.getByTestId('sync-status').innerText())
      .toMatch(/1 record waiting to send/);
    expect(await serverRecord('Photo')).toBeUndefined();

    await setOffline(context, false);
    await syncNow(page);
    const record = await serverRecord('Photo');
    expect(record?.status).toBe('DECLARED');
    const value = FileValueSchema.parse(record?.declaration['documents.proofOfBirth']);
    expect(value).toMatchObject({ name: 'hospital-record.jpg', type: 'image/jpeg' });
    // Downscaled on the phone: the longest side is 1600 px, and far fewer bytes went up.
    const registrarSession = await server.login('registrar');
    const held = await server.request('GET', `/api/v1/files/${value.sha256}`, {
      token: registrarSession.token,
    });
    const bytes = Buffer.from(await held.arrayBuffer());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(value.sha256);
    expect(jpegSize(bytes)).toEqual({ width: 1600, height: 1200 });
    expect(bytes.length).toBeLessThan(photo.length);
    await context.close();

    const registrar = await newPage(browser, DESKTOP);
    await login(registrar.page, server.url, 'registrar');
    await syncNow(registrar.page);
    await registrar.page.goto(`${server.url}/#/records/${record?.id}`);
    const attachment = registrar.page.locator('.attachments [data-field="documents.proofOfBirth"]');
    await attachment.getByText('hospital-record.jpg').waitFor();
    await expect
      .poll(() =>
        attachment.locator('img.thumbnail').evaluate((img: HTMLImageElement) => img.naturalWidth),
      )
      .toBe(1600);
    await shoot(registrar.page, 'desktop-record-attachments');
    const [opened] = await Promise.all([
      registrar.context.waitForEvent('page'),
      attachment.getByRole('link', { name: 'hospital-record.jpg' }).click(),
    ]);
    await opened.waitForLoadState();
    expect(opened.url()).toMatch(/^blob:/);
    await expect
      .poll(() =>
        opened.evaluate(
          () => (document.querySelector('img') as HTMLImageElement | null)?.naturalWidth ?? 0,
        ),
      )
      .toBe(1600);

    // Offline, the record page still shows it: the device kept what it downloaded.
    await opened.close();
    await setOffline(registrar.context, true);
    await registrar.page.goto(`${server.url}/#/`);
    await registrar.page.goto(`${server.url}/#/records/${record?.id}`);
    await expect
      .poll(() =>
        attachment.locator('img.thumbnail').evaluate((img: HTMLImageElement) => img.naturalWidth),
      )
      .toBe(1600);
    await registrar.context.close();
  });
});
