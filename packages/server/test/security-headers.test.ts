import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type Session, type TestServer } from './harness.js';

/**
 * PROTOCOL 7: pages and assets carry Content-Security-Policy (no inline script,
 * frame-ancestors 'none'), X-Content-Type-Options: nosniff and Referrer-Policy: no-referrer. So do
 * the API's answers, errors included.
 */

let server: TestServer;
let session: Session;
const webRoot = mkdtempSync(path.join(tmpdir(), 'registra-web-'));
beforeAll(async () => {
  mkdirSync(path.join(webRoot, 'assets'));
  writeFileSync(
    path.join(webRoot, 'index.html'),
    '<!doctype html><script src="/assets/app.js"></script>',
  );
  writeFileSync(path.join(webRoot, 'assets', 'app.js'), 'console.log(1);');
  writeFileSync(path.join(webRoot, 'sw.js'), 'self.addEventListener("fetch", () => {});');
  server = await startTestServer('civil-registry', { app: { webRoot } });
  session = await server.login('agent');
});
afterAll(async () => {
  await server?.close();
  rmSync(webRoot, { recursive: true, force: true });
});

/** The directives of a Content-Security-Policy header, by name. */
function directives(header: string | null): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const part of (header ?? '').split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) map.set(name.toLowerCase(), values);
  }
  return map;
}

function expectSecurityHeaders(response: Response, what: string): void {
  const csp = directives(response.headers.get('content-security-policy'));
  expect(csp.size, `${what}: Content-Security-Policy`).toBeGreaterThan(0);
  const scripts = csp.get('script-src') ?? csp.get('default-src');
  expect(scripts, `${what}: script-src`).toEqual(["'self'"]);
  expect(csp.get('script-src-attr'), `${what}: script-src-attr`).toEqual(["'none'"]);
  expect(csp.get('frame-ancestors'), `${what}: frame-ancestors`).toEqual(["'none'"]);
  expect(csp.get('object-src'), `${what}: object-src`).toEqual(["'none'"]);
  expect(response.headers.get('x-content-type-options'), what).toBe('nosniff');
  expect(response.headers.get('referrer-policy'), what).toBe('no-referrer');
}

describe('security headers (PROTOCOL 7)', () => {
  it('are on the pages and assets of the web app', async () => {
    for (const [url, accept] of [
      ['/', 'text/html'],
      ['/records/some-deep-link', 'text/html'],
      ['/assets/app.js', '*/*'],
      ['/sw.js', '*/*'],
    ] as const) {
      const response = await fetch(server.url + url, { headers: { accept } });
      expect(response.status, url).toBe(200);
      expectSecurityHeaders(response, url);
    }
  });

  it('are on API answers and errors', async () => {
    const answers: [string, Response][] = [
      ['health', await server.request('GET', '/api/v1/health')],
      ['me', await server.request('GET', '/api/v1/me', { token: session.token })],
      ['401', await server.request('GET', '/api/v1/me')],
      ['404', await server.request('GET', '/api/v1/no-such-route')],
      ['400', await server.request('POST', '/api/v1/auth/token', { body: '{' })],
    ];
    for (const [what, response] of answers) expectSecurityHeaders(response, what);
  });
});
