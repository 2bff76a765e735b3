/**
 * A country's business-rules service, as a small example of a Registra hook (PROTOCOL 8).
 *
 *   REGISTRA_RULES_SECRET=dev-rules-secret npm run example:rules     # listens on :4100
 *
 * POST /rules: the civil registry's `rules` hook (confirm, REGISTER of birth and death). It checks
 * the Standard Webhooks signature, then decides:
 *   - a birth whose mother is not at least 12 years older than the child: 400 {reason};
 *   - a death whose date is before the deceased's birth: 400 {reason};
 *   - otherwise 200 {registrationNumber}: numbers come from this service (B-2026-000001, ...).
 * The same delivery (webhook-id) always gets the same answer: Registra delivers at least once.
 *
 * POST /events: the `events` hook (notify), logged one line each.
 *
 * Settings: REGISTRA_RULES_PORT (4100), REGISTRA_RULES_SECRET (required),
 * REGISTRA_EVENTS_SECRET (for /events; unset, /events is not served), REGISTRA_RULES_STATE (a
 * JSON file keeping the counters and answers across restarts; default ./.registra/rules.json).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';

const port = Number(process.env['REGISTRA_RULES_PORT'] ?? 4100);
const stateFile = path.resolve(process.env['REGISTRA_RULES_STATE'] ?? '.registra/rules.json');

function signer(secret: string | undefined): Webhook | null {
  if (!secret) return null;
  return secret.startsWith('whsec_')
    ? new Webhook(secret)
    : new Webhook(new TextEncoder().encode(secret), { format: 'raw' });
}
const rules = signer(process.env['REGISTRA_RULES_SECRET']);
const events = signer(process.env['REGISTRA_EVENTS_SECRET']);
if (!rules) {
  console.error('REGISTRA_RULES_SECRET is not set: the same secret as the Registra server has');
  process.exit(1);
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}
interface State {
  counters: Record<string, number>;
  answers: Record<string, Answer>;
}
const state: State = existsSync(stateFile)
  ? (JSON.parse(readFileSync(stateFile, 'utf8')) as State)
  : { counters: {}, answers: {} };
function save(): void {
  mkdirSync(path.dirname(stateFile), { recursive: true });
  writeFileSync(stateFile, JSON.stringify(state));
}

type Declaration = Record<string, unknown>;
interface Delivery {
  request: { type: string; declaration?: Declaration };
  record: { type: string; declaration: Declaration; createdAtLocation: string };
}

const YEAR_MS = 365.2425 * 24 * 3600 * 1000;
const dateOf = (value: unknown) => (typeof value === 'string' ? Date.parse(value) : NaN);

/** The country's rules: a reason to decline, or null. */
function refusal({ request, record }: Delivery): string | null {
  const declaration = { ...record.declaration, ...request.declaration };
  if (record.type === 'birth') {
    const child = dateOf(declaration['child.dob']);
    const mother = dateOf(declaration['mother.dob']);
    if (!Number.isNaN(child) && !Number.isNaN(mother) && child - mother < 12 * YEAR_MS) {
      return 'The mother must be at least 12 years older than the child: check both dates of birth.';
    }
  }
  if (record.type === 'death') {
    const born = dateOf(declaration['deceased.dob']);
    const died = dateOf(declaration['death.date']);
    if (!Number.isNaN(born) && !Number.isNaN(died) && died < born) {
      return 'The date of death is before the date of birth.';
    }
  }
  return null;
}

function decide(delivery: Delivery): Answer {
  const reason = refusal(delivery);
  if (reason) return { status: 400, body: { reason } };
  const prefix = delivery.record.type === 'death' ? 'D' : 'B';
  const year = new Date().getUTCFullYear();
  const key = `${prefix}-${year}`;
  const next = (state.counters[key] ?? 0) + 1;
  state.counters[key] = next;
  return { status: 200, body: { registrationNumber: `${key}-${String(next).padStart(6, '0')}` } };
}

async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks).toString('utf8');
  const reply = (status: number, json: unknown) => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(json));
  };
  const verifier = request.url === '/rules' ? rules : request.url === '/events' ? events : null;
  if (request.method !== 'POST' || !verifier) return reply(404, { error: 'not found' });
  let payload: unknown;
  try {
    payload = verifier.verify(body, request.headers as Record<string, string>);
  } catch {
    return reply(401, { error: 'the signature does not verify' });
  }
  const id = String(request.headers['webhook-id']);
  if (request.url === '/events') {
    const { entry } = payload as { entry: { type: string; recordId: string; seq: number } };
    console.log(`event ${id}: ${entry.type} of ${entry.recordId} (seq ${entry.seq})`);
    return reply(200, {});
  }
  let answer = state.answers[id];
  if (!answer) {
    answer = decide(payload as Delivery);
    state.answers[id] = answer;
    save();
  }
  console.log(`rules ${id}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return reply(answer.status, answer.body);
}

createServer((request, response) => {
  handle(request, response).catch((error: unknown) => {
    console.error(error);
    if (!response.headersSent) response.writeHead(500).end();
  });
}).listen(port, '127.0.0.1', () => {
  console.log(`rules service on http://127.0.0.1:${port} (POST /rules, POST /events)`);
});
