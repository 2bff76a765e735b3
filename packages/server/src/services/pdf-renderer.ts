import pLimit, { type LimitFunction } from 'p-limit';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ProblemError } from './problem.js';

/**
 * Prints certificate HTML to PDF in Debian's headless Chromium (README: why Chromium). The browser
 * starts on the first certificate and keeps a few pages warm, one per render running at once, so a
 * certificate costs a layout and a print, not a browser start. Pages run no JavaScript and reach
 * no network: a template is HTML and CSS only, with the QR code inline.
 */
export class PdfRenderer {
  #browser: Promise<{ browser: Browser; context: BrowserContext }> | null = null;
  readonly #idle: Page[] = [];
  readonly #limit: LimitFunction;

  constructor(
    private readonly options: { executablePath: string; pages?: number } = {
      executablePath: '/usr/bin/chromium',
    },
  ) {
    this.#limit = pLimit(options.pages ?? 2);
  }

  #start(): Promise<{ browser: Browser; context: BrowserContext }> {
    this.#browser ??= (async () => {
      const browser = await chromium.launch({
        executablePath: this.options.executablePath,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--no-first-run',
          '--disable-background-networking',
        ],
      });
      // Chromium gone (killed, crashed): the next render starts a new one.
      browser.on('disconnected', () => {
        this.#browser = null;
        this.#idle.length = 0;
      });
      const context = await browser.newContext({ javaScriptEnabled: false, offline: true });
      await context.route('**/*', (route) =>
        route.request().url().startsWith('data:') ? route.continue() : route.abort(),
      );
      return { browser, context };
    })().catch((error: unknown) => {
      this.#browser = null;
      throw new ProblemError(
        503,
        'SERVICE_UNAVAILABLE',
        `certificates cannot be printed: Chromium did not start (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`,
      );
    });
    return this.#browser;
  }

  /** The PDF of one HTML document, its page size from the document's CSS `@page`. */
  render(html: string): Promise<Buffer> {
    return this.#limit(async () => {
      const { context } = await this.#start();
      const page = this.#idle.pop() ?? (await context.newPage());
      try {
        await page.setContent(html, { waitUntil: 'load' });
        const pdf = await page.pdf({ preferCSSPageSize: true, printBackground: true });
        this.#idle.push(page);
        return pdf;
      } catch (error) {
        await page.close().catch(() => undefined);
        throw error;
      }
    });
  }

  async close(): Promise<void> {
    const started = this.#browser;
    this.#browser = null;
    if (started) await (await started.catch(() => null))?.browser.close();
  }
}
