import { execFileSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { PASSWORD } from '../../server/test/harness.js';

const WEB = fileURLToPath(new URL('../', import.meta.url));
export const SHOTS = path.join(WEB, 'e2e', 'screenshots');

/** The e2e tests run against the built app, as `npm start` serves it, rebuilt when stale. */
export function ensureBuilt(): void {
  execFileSync(process.execPath, [path.join(WEB, '..', '..', 'scripts', 'build-web.mjs')], {
    stdio: 'inherit',
  });
}

/** Debian's Chromium, driven by playwright-core: no browser download. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export const PHONE = { width: 360, height: 740 };
export const DESKTOP = { width: 1280, height: 800 };

/** Pages of the running test, so that a failure can be photographed (see `test`). */
const openPages = new Set<Page>();
/** What Chromium refused under the server's Content-Security-Policy during the running test. */
const cspViolations: string[] = [];

export async function newPage(
  browser: Browser,
  viewport = PHONE,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  openPages.add(page);
  page.on('close', () => openPages.delete(page));
  page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  return { context, page };
}

export async function shootOpenPages(name: string): Promise<void> {
  let i = 0;
  for (const page of openPages) await shoot(page, `failed-${name}-${i++}`).catch(() => undefined);
}

export async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/**
 * A proxy in front of the server that can lose the answer to the next sync that pushes actions:
 * the server commits, the browser sees a dead connection.
 */
export class AnswerDropper {
  dropNextPush = false;
  dropped = 0;
  #server: http.Server | null = null;

  constructor(private readonly upstream: string) {}

  get url(): string {
    return `http://127.0.0.1:${(this.#server?.address() as AddressInfo).port}`;
  }

  async start(): Promise<void> {
    this.#server = http.createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()));
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const target = new URL(req.url ?? '/', this.upstream);
    const upstream = await fetch(target, {
      method: req.method ?? 'GET',
      headers: Object.fromEntries(
        Object.entries(req.headers).filter(
          ([k, v]) =>
            typeof v === 'string' && !['host', 'connection', 'content-length'].includes(k),
        ),
      ) as Record<string, string>,
      ...(body.length > 0 ? { body } : {}),
    });
    const answer = Buffer.from(await upstream.arrayBuffer());
    if (
      this.dropNextPush &&
      req.url === '/api/v1/sync' &&
      pushesActions(body, req.headers['content-encoding'])
    ) {
      this.dropNextPush = false;
      this.dropped += 1;
      res.socket?.destroy();
      return;
    }
    const headers: Record<string, string> = {};
    upstream.headers.forEach((value, key) => {
      if (!['content-encoding', 'content-length', 'transfer-encoding', 'connection'].includes(key))
        headers[key] = value;
    });
    res.writeHead(upstream.status, headers);
    res.end(answer);
  }
}

function pushesActions(body: Buffer, encoding: string | string[] | undefined): boolean {
  try {
    const text = (encoding === 'gzip' ? gunzipSync(body) : body).toString();
    return ((JSON.parse(text) as { actions?: unknown[] }).actions?.length ?? 0) > 0;
  } catch {
    return false;
  }
}

/**
 * `it`, photographing every open page when the test fails, to see what the person would see. The
 * app must also have run without a single Content-Security-Policy violation (PROTOCOL 7).
 */
export function test(name: string, body: () => Promise<void>): void {
  it(name, async () => {
    cspViolations.length = 0;
    try {
      await body();
      expect(cspViolations, 'Content-Security-Policy violations').toEqual([]);
    } catch (error) {
      await shootOpenPages(name.slice(0, 30).replace(/\W+/g, '-'));
      throw error;
    }
  });
}

/** Opens the app at `url` and logs in as a seeded user; waits for the sync status to show. */
export async function login(page: Page, url: string, username: string): Promise<void> {
  const response = await page.goto(url);
  // The page is served (by the server, or by the service worker from what the server sent) under
  // the CSP: no inline script, no framing.
  expect(response?.headers()['content-security-policy'] ?? '').toMatch(
    /script-src 'self'.*frame-ancestors 'none'|frame-ancestors 'none'.*script-src 'self'/,
  );
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: /log in/i }).click();
  await page.getByTestId('sync-status').waitFor();
}

/** Sync now, then waits until the sync has finished and nothing is pending. */
export async function syncNow(page: Page): Promise<void> {
  const button = page.getByRole('button', { name: /sync now|syncing/i });
  await button.click();
  // The button says "Syncing…" until the SDK's sync has finished.
  await expect.poll(() => button.innerText(), { timeout: 20_000 }).toMatch(/sync now/i);
  await expect
    .poll(() => page.getByTestId('sync-status').innerText(), { timeout: 20_000 })
    .toMatch(/ 0 pending/);
}

/** The form's next page: clicks Next and waits until the page has changed. */
export async function nextPage(page: Page): Promise<void> {
  const before = await page.locator('.steps li.active').innerText();
  await page.getByRole('button', { name: /^next$/i }).click();
  await expect.poll(() => page.locator('.steps li.active').innerText()).not.toBe(before);
}

/** Through the remaining form pages to the review, then the send button. */
export async function finishForm(page: Page, send: RegExp = /send declaration/i): Promise<void> {
  const review = page.getByRole('button', { name: /^review$/i });
  const next = page.getByRole('button', { name: /^next$/i });
  for (let i = 0; i < 8; i++) {
    await review.or(next).first().waitFor();
    if (await review.isVisible()) break;
    await nextPage(page);
  }
  await review.click();
  await page.getByRole('button', { name: send }).click();
}
