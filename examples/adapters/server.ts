/**
 * The two other systems the example adapters talk to (issue 16), in one small server:
 *
 *   REGISTRA_STATISTICS_TOKEN=dev-stats REGISTRA_SURVEY_TOKEN=dev-survey npm run example:adapters
 *
 * POST /births: the statistics office's endpoint that the civil registry's `statistics-office`
 * adapter out sends registered births to. It checks `Authorization: Bearer <token>`, keeps each
 * birth once by its `webhook-id` (Registra delivers at least once) and logs it.
 *
 * GET /households: a survey tool's export that the social registry's `survey-households` adapter
 * in pulls. It answers `{results, next, asOf}` in pages of `?cursor=` (2 items a page), only the
 * items edited after `?since=`, to `Authorization: Token <token>`. Households come from
 * `households.json` beside this file; edit one (and its `_last_edited`) to see it come again as an
 * UPDATE.
 *
 * Settings: REGISTRA_ADAPTERS_PORT (4200), REGISTRA_STATISTICS_TOKEN, REGISTRA_SURVEY_TOKEN.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const port = Number(process.env['REGISTRA_ADAPTERS_PORT'] ?? 4200);
const statisticsToken = process.env['REGISTRA_STATISTICS_TOKEN'];
const surveyToken = process.env['REGISTRA_SURVEY_TOKEN'];
if (!statisticsToken || !surveyToken) {
  console.error(
    'set REGISTRA_STATISTICS_TOKEN and REGISTRA_SURVEY_TOKEN, as the Registra server has',
  );
  process.exit(1);
}
const HOUSEHOLDS = fileURLToPath(new URL('./households.json', import.meta.url));
const PAGE = 2;
const births = new Map<string, unknown>();

function send(response: ServerResponse, status: number, body?: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(body === undefined ? '' : JSON.stringify(body));
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://localhost');
  if (request.method === 'POST' && url.pathname === '/births') {
    if (request.headers['authorization'] !== `Bearer ${statisticsToken}`)
      return send(response, 401);
    void readBody(request).then((text) => {
      const id = String(request.headers['webhook-id'] ?? '');
      if (!births.has(id)) {
        births.set(id, JSON.parse(text));
        console.log(`birth ${births.size}: ${text}`);
      }
      send(response, 201, { received: id });
    });
    return;
  }
  if (request.method === 'GET' && url.pathname === '/households') {
    if (request.headers['authorization'] !== `Token ${surveyToken}`) return send(response, 401);
    const all = JSON.parse(readFileSync(HOUSEHOLDS, 'utf8')) as { _last_edited: string }[];
    const since = url.searchParams.get('since');
    const items = since ? all.filter((h) => h._last_edited > since) : all;
    const from = Number(url.searchParams.get('cursor') ?? 0);
    const next = from + PAGE < items.length ? String(from + PAGE) : null;
    const asOf = all.reduce((latest, h) => (h._last_edited > latest ? h._last_edited : latest), '');
    return send(response, 200, { results: items.slice(from, from + PAGE), next, asOf });
  }
  send(response, 404);
}).listen(port, '127.0.0.1', () => {
  console.log(`adapters' other systems on http://127.0.0.1:${port} (/births, /households)`);
});
