import { execFileSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import axe from 'axe-core';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type CDPSession,
  type Page,
} from 'playwright-core';
import { expect, it } from 'vitest';
import { PASSWORD } from '../../server/test/harness.js';

export const PASSWORD_FOR_TESTS = PASSWORD;

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
/**
 * Whether each context is offline (see `setOffline`), and the DevTools session through which each
 * page's new documents are told so.
 */
const offlineContexts = new WeakMap<BrowserContext, boolean>();
const navigatorSessions = new WeakMap<Page, Promise<CDPSession>>();

export async function newPage(
  browser: Browser,
  viewport = PHONE,
  locale?: string,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport, ...(locale ? { locale } : {}) });
  return { context, page: await newTab(context) };
}

/** Another tab of the same browser context: same storage, Web Locks and BroadcastChannels. */
export async function newTab(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  // Opened while the context is offline: its first navigation must already be watched.
  if (offlineContexts.has(context)) await navigatorSession(page);
  openPages.add(page);
  page.on('close', () => openPages.delete(page));
  page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  return page;
}

/** The app is served by its service worker from now on: wait until it controls the page. */
export async function waitForServiceWorker(page: Page): Promise<void> {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  if (!(await page.evaluate(() => navigator.serviceWorker.controller !== null))) {
    await page.reload();
    await page.getByTestId('sync-status').waitFor();
  }
}

/**
 * Cuts the network of every page of `context` (Playwright's offline emulation: requests fail, as
 * with no network), or gives it back.
 *
 * Why not `context.setOffline` alone: since Chromium 150 (RenderDocument) every new document (a
 * reload, or a new tab leaving about:blank) gets a new renderer frame, and DevTools' offline
 * emulation is not re-applied to its `navigator`. The network stays cut (every fetch fails) but
 * the new document says `navigator.onLine` is true, as on "lie-fi". Here every new document of a
 * page of an offline context is told the truth again through DevTools'
 * `Network.overrideNetworkState` (which changes only `navigator.onLine` and its events, never
 * whether a request goes through) as soon as it is committed: the app gets its `offline` event.
 * Tabs opened with `newTab` are watched before their first navigation.
 */
export async function setOffline(context: BrowserContext, offline: boolean): Promise<void> {
  if (!offlineContexts.has(context)) context.on('page', (page) => void navigatorSession(page));
  offlineContexts.set(context, offline);
  await context.setOffline(offline);
  for (const page of context.pages()) {
    const session = await navigatorSession(page);
    if (!offline) await tellNavigator(session, false);
  }
}

function navigatorSession(page: Page): Promise<CDPSession> {
  let session = navigatorSessions.get(page);
  if (!session) {
    session = (async () => {
      const cdp = await page.context().newCDPSession(page);
      cdp.on('Page.frameNavigated', ({ frame }) => {
        if (frame.parentId === undefined && offlineContexts.get(page.context()) === true)
          void tellNavigator(cdp, true).catch(() => undefined);
      });
      await cdp.send('Page.enable');
      return cdp;
    })();
    navigatorSessions.set(page, session);
  }
  return session;
}

async function tellNavigator(session: CDPSession, offline: boolean): Promise<void> {
  await session.send('Network.overrideNetworkState', {
    offline,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: -1,
  });
}

export async function shootOpenPages(name: string): Promise<void> {
  let i = 0;
  for (const page of openPages) await shoot(page, `failed-${name}-${i++}`).catch(() => undefined);
}

export async function shoot(page: Page, name: string): Promise<void> {
  // From the top: a sticky header would otherwise be drawn where the page was scrolled to.
  await page.evaluate(() => window.scrollTo(0, 0));
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
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(PASSWORD);
  await page.locator('.login-card button[type="submit"]').click();
  await page.getByTestId('sync-status').waitFor();
}

/** Sync now, then waits until the sync has finished and nothing waits to be sent. */
export async function syncNow(page: Page): Promise<void> {
  const button = page.getByRole('button', {
    name: /sync now|syncing|synchroniser|synchronisation/i,
  });
  await button.click();
  // The button says "Syncing…" until the SDK's sync has finished.
  await expect
    .poll(() => button.innerText(), { timeout: 20_000 })
    .toMatch(/sync now|synchroniser/i);
  await expect.poll(() => waiting(page), { timeout: 20_000 }).toBe(0);
}

/** How many records the header says wait to be sent. */
export async function waiting(page: Page): Promise<number> {
  return Number.parseInt(await page.getByTestId('waiting-count').innerText(), 10);
}

/** Confirms the dialog an irreversible action opens (saying what will happen). */
export async function confirm(page: Page, consequence?: RegExp): Promise<void> {
  const dialog = page.getByRole('dialog');
  if (consequence) await dialog.getByText(consequence).waitFor();
  await dialog.getByRole('button', { name: /^(confirm|confirmer)$/i }).click();
  await dialog.waitFor({ state: 'detached' });
}

/** The form's next page: clicks Next and waits until the page has changed. */
export async function nextPage(page: Page): Promise<void> {
  const before = await page.locator('.steps li.active').innerText();
  // The form's primary button: Next (Suivant), or Review on the last page.
  await page.locator('.form-actions button.primary').click();
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

/**
 * axe-core over the page as it is now: no serious or critical violation. The script is evaluated
 * through the DevTools protocol, which the app's Content-Security-Policy does not apply to.
 */
export async function checkAccessibility(page: Page, screen: string): Promise<void> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axe.source);
  const violations = await page.evaluate(async () => {
    const run = (window as unknown as { axe: typeof axe }).axe.run;
    const result = await run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  expect(violations, `accessibility of ${screen}`).toEqual([]);
}

/** Photographs the page and checks its accessibility: every screen gets both. */
export async function screen(page: Page, name: string): Promise<void> {
  await shoot(page, name);
  await checkAccessibility(page, name);
}
