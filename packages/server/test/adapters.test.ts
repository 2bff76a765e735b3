import type { ActionResult, Entry, RecordState } from '@registra/core';
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { inAdapterPullers, pullAdapter } from '../src/services/adapters/index.js';
import { itemIds } from '../src/services/adapters/in.js';
import { EXAMPLES_DIR, loadConfigFile } from '../src/services/seed.js';
import { action, BIRTH, newId, startTestServer, type Session, type TestServer } from './harness.js';

/** Polls `what` until `done` holds (at most 30 s): deliveries run on the job runner. */
async function until<T>(what: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let value = await what();
  for (let i = 0; i < 300 && !done(value); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await what();
  }
  return value;
}

interface AdapterView {
  id: string;
  label: string;
  direction: 'in' | 'out';
  status: string;
  lastRunAt: string | null;
  lagSeconds: number | null;
  lastError: string | null;
  counts: Record<string, number>;
  errors: { at: string; key: string | null; message: string }[];
}

async function adapters(server: TestServer, session: Session): Promise<AdapterView[]> {
  const response = await server.request('GET', '/api/v1/adapters', { token: session.token });
  expect(response.status, await response.clone().text()).toBe(200);
  return ((await response.json()) as { results: AdapterView[] }).results;
}

describe('an adapter out: registered births to the statistics office', () => {
  const TOKEN = 'statistics-office-token-of-the-test';
  let server: TestServer;
  let agent: Session;
  let registrar: Session;
  let admin: Session;
  /** What the statistics office got, with its Authorization header. */
  const got: { body: Record<string, unknown>; authorization: string | undefined; id: string }[] =
    [];
  /** How the office answers: fails this many more times first. */
  let failures = 0;

  beforeAll(async () => {
    // The statistics office: keeps what it got with its headers, fails `failures` times first.
    const front = await office((request, body) => {
      got.push({
        body: JSON.parse(body) as Record<string, unknown>,
        authorization: request.headers['authorization'],
        id: String(request.headers['webhook-id'] ?? ''),
      });
      if (failures > 0) {
        failures -= 1;
        return 503;
      }
      return 201;
    });
    server = await startTestServer(civilRegistryWithoutDeduplication(), {
      jobs: true,
      env: {
        REGISTRA_STATISTICS_URL: `${front.url}/births`,
        REGISTRA_STATISTICS_TOKEN: TOKEN,
      },
    });
    agent = await server.login('agent');
    registrar = await server.login('registrar');
    admin = await server.login('admin');
    return async () => {
      await server?.close();
      await front.close();
    };
  });

  async function registerBirth(firstName: string): Promise<string> {
    const recordId = newId();
    const submit = async (session: Session, actions: unknown[]) => {
      const response = await server.request('POST', '/api/v1/actions', {
        token: session.token,
        body: { actions },
      });
      expect(response.status).toBe(200);
      return ((await response.json()) as { results: ActionResult[] }).results;
    };
    await submit(agent, [
      action({ type: 'CREATE', recordId, recordType: 'birth' }),
      action({
        type: 'DECLARE',
        recordId,
        declaration: { ...BIRTH, 'child.firstName': firstName, 'child.weightAtBirth': 3.1 },
      }),
    ]);
    const [, registered] = await submit(registrar, [
      action({ type: 'ASSIGN', recordId, assignee: registrar.user.id }),
      action({ type: 'REGISTER', recordId }),
    ]);
    expect(registered?.outcome, JSON.stringify(registered)).toBe('accepted');
    return recordId;
  }

  it('posts the mapped birth, with the secret header from the environment, and nothing else', async () => {
    const recordId = await registerBirth('Thandiwe');
    const sent = await until(
      async () => got.filter((g) => g.body['registrationNumber'] !== undefined),
      (list) => list.length >= 1,
    );
    expect(sent).toHaveLength(1);
    const state = await recordOf(server, registrar, recordId);
    expect(sent[0]?.body).toEqual({
      event: 'live-birth',
      registrationNumber: state.registrationNumber,
      registeredAt: expect.any(String),
      registrationOffice: 'ibombo-office',
      dateOfBirth: BIRTH['child.dob'],
      sex: BIRTH['child.sex'],
      weightKg: 3.1,
    });
    // The mapping sends no names, and only the REGISTER: CREATE and DECLARE are not covered.
    expect(JSON.stringify(sent[0]?.body)).not.toContain('Thandiwe');
    expect(sent[0]?.authorization).toBe(`Bearer ${TOKEN}`);
    expect(sent[0]?.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('retries after the office fails, then delivers once; its status shows the lag and errors', async () => {
    failures = 1;
    const before = got.length;
    const recordId = await registerBirth('Mutale');
    const failing = await until(
      () => adapters(server, admin),
      (list) => list.find((a) => a.id === 'statistics-office')?.status === 'failing',
    );
    const out = failing.find((a) => a.id === 'statistics-office');
    expect(out).toMatchObject({ label: 'Statistics office: registered births', direction: 'out' });
    expect(out?.counts['failing']).toBe(1);
    expect(out?.errors[0]?.message).toMatch(/answered 503/);
    expect(out?.errors[0]?.key).toBe((await recordOf(server, registrar, recordId)).trackingId);
    const delivered = await until(
      async () => got.slice(before),
      (list) => list.length >= 2,
    );
    // One failed attempt and one delivered, with the same webhook-id (the receiver's dedupe key).
    expect(delivered).toHaveLength(2);
    expect(delivered[0]?.id).toBe(delivered[1]?.id);
    const ok = await until(
      () => adapters(server, admin),
      (list) => list.find((a) => a.id === 'statistics-office')?.status === 'ok',
    );
    expect(
      ok.find((a) => a.id === 'statistics-office')?.counts['delivered'],
    ).toBeGreaterThanOrEqual(2);
  });

  it('is for administrators only', async () => {
    const response = await server.request('GET', '/api/v1/adapters', { token: registrar.token });
    expect(response.status).toBe(403);
    const run = await server.request('POST', '/api/v1/adapters/statistics-office/run', {
      token: admin.token,
    });
    expect(run.status).toBe(409);
    expect(((await run.json()) as { code: string }).code).toBe('ADAPTER_NOT_RUNNABLE');
  });
});

describe('an adapter in: households from a survey tool export', () => {
  const TOKEN = 'survey-token-of-the-test';
  let source: SurveySource;
  let server: TestServer;
  let admin: Session;
  let supervisor: Session;

  beforeAll(async () => {
    source = await new SurveySource(TOKEN).start();
    server = await startTestServer('social-registry', {
      jobs: true,
      env: { REGISTRA_SURVEY_URL: `${source.url}/export`, REGISTRA_SURVEY_TOKEN: TOKEN },
    });
    admin = await server.login('admin');
    supervisor = await server.login('supervisor');
    return async () => {
      await server?.close();
      await source?.close();
    };
  });

  const puller = () => {
    const found = inAdapterPullers(server.registry.config, {
      REGISTRA_SURVEY_TOKEN: TOKEN,
    }).get('survey-households');
    if (!found) throw new Error('the survey adapter is off');
    return found;
  };

  it('pulls page after page from its checkpoint; a re-run applies nothing twice', async () => {
    source.items = [
      household(101, 'v1', 'Chipo'),
      household(102, 'v1', 'Bwalya'),
      household(103, 'v1', 'Kabwe'),
    ];
    const first = await pullAdapter(server.registry, puller());
    expect(first, JSON.stringify(await adapters(server, admin))).toMatchObject({
      busy: false,
      pages: 2,
      applied: 3,
      failed: 0,
      error: null,
    });
    // The first run asked from nothing, then from the cursor of the first page.
    expect(source.asked.map((q) => q.get('cursor'))).toEqual([null, '2']);
    expect(source.asked.every((q) => q.get('auth') === `Token ${TOKEN}`)).toBe(true);

    const ids = itemIds('survey-households', '101', 'v1');
    const state = await recordOf(server, supervisor, ids.recordId);
    expect(state).toMatchObject({ type: 'household', status: 'DECLARED' });
    expect(state.declaration['head.firstName']).toBe('Chipo');
    // Created by the adapter's machine client, a principal like any other.
    const [client] = await server.db
      .selectFrom('users')
      .select(['id', 'kind', 'role', 'name'])
      .where('username', '=', 'adapter:survey-households')
      .execute();
    expect(client).toMatchObject({ kind: 'client', role: 'enumerator' });
    expect(state.createdBy).toBe(client?.id);

    // The checkpoint is the source's `asOf`: the next run asks only what changed since.
    source.asked.length = 0;
    const again = await pullAdapter(server.registry, puller());
    expect(again).toMatchObject({ applied: 0, failed: 0, error: null });
    expect(source.asked[0]?.get('since')).toBe(source.asOf);

    // Forgetting the checkpoint: every item comes again, and none is applied twice.
    await server.db.updateTable('adapter_state').set({ checkpoint: null }).execute();
    const replay = await pullAdapter(server.registry, puller());
    expect(replay).toMatchObject({ applied: 0, unchanged: 3, failed: 0 });
    const entries = await entriesOf(server, supervisor, ids.recordId);
    expect(entries.map((e) => e.type)).toEqual(['CREATE', 'DECLARE']);

    // A new version of an item is an UPDATE of its record, once.
    source.items = [household(101, 'v2', 'Chipo', 7)];
    await server.db.updateTable('adapter_state').set({ checkpoint: null }).execute();
    const updated = await pullAdapter(server.registry, puller());
    expect(updated).toMatchObject({ applied: 1, failed: 0 });
    await server.db.updateTable('adapter_state').set({ checkpoint: null }).execute();
    expect(await pullAdapter(server.registry, puller())).toMatchObject({
      applied: 0,
      unchanged: 1,
    });
    const after = await entriesOf(server, supervisor, ids.recordId);
    expect(after.map((e) => e.type)).toEqual(['CREATE', 'DECLARE', 'UPDATE']);
    expect((await recordOf(server, supervisor, ids.recordId)).declaration['household.size']).toBe(
      7,
    );
  });

  it('a bad item is an error in the status, not a crash; a failing source keeps the checkpoint', async () => {
    await server.db.updateTable('adapter_state').set({ checkpoint: null }).execute();
    source.items = [
      { ...household(201, 'v1', 'Mwansa'), hh_size: 'many' },
      { ...household(0, 'v1', 'Nameless'), _id: null },
      household(202, 'v1', 'Lubinda'),
    ];
    const run = await pullAdapter(server.registry, puller());
    expect(run, JSON.stringify(await adapters(server, admin))).toMatchObject({
      applied: 1,
      failed: 2,
      error: null,
    });
    const [status] = (await adapters(server, admin)).filter((a) => a.id === 'survey-households');
    expect(status?.status).toBe('ok');
    const messages = status?.errors.map((e) => `${e.key}: ${e.message}`).join('\n');
    expect(messages).toMatch(/201: .*INVALID_DECLARATION.*household\.size/);
    expect(messages).toMatch(/adapters\.0\.key: gave no key/);

    // The source fails: the run's error is shown, and the next run starts where this one did.
    const checkpoint = await storedCheckpoint(server);
    source.failWith = 502;
    const failed = await pullAdapter(server.registry, puller());
    expect(failed.error).toMatch(/the source answered 502/);
    expect(await storedCheckpoint(server)).toEqual(checkpoint);
    const [failing] = (await adapters(server, admin)).filter((a) => a.id === 'survey-households');
    expect(failing).toMatchObject({ status: 'failing', direction: 'in' });
    expect(failing?.lastError).toMatch(/502/);
    source.failWith = null;
    expect((await pullAdapter(server.registry, puller())).error).toBeNull();
    const [ok] = (await adapters(server, admin)).filter((a) => a.id === 'survey-households');
    expect(ok?.status).toBe('ok');
    expect(ok?.lastError).toBeNull();
    expect(ok?.lagSeconds).toEqual(expect.any(Number));
  });

  it('runs on the job runner when an administrator asks', async () => {
    source.items = [household(301, 'v1', 'Natasha')];
    await server.db.updateTable('adapter_state').set({ checkpoint: null }).execute();
    const ran = (await adapters(server, admin)).find((a) => a.id === 'survey-households');
    const run = await server.request('POST', '/api/v1/adapters/survey-households/run', {
      token: admin.token,
    });
    expect(run.status).toBe(202);
    const after = await until(
      () => adapters(server, admin),
      (list) =>
        (list.find((a) => a.id === 'survey-households')?.counts['applied'] ?? 0) >
        (ran?.counts['applied'] ?? 0),
    );
    expect(after.find((a) => a.id === 'survey-households')?.counts['applied']).toBe(
      (ran?.counts['applied'] ?? 0) + 1,
    );
    const unknown = await server.request('POST', '/api/v1/adapters/nothing/run', {
      token: admin.token,
    });
    expect(unknown.status).toBe(404);
  });

  it('refuses expressions that do not compile, at start, at their path', () => {
    const config = loadConfigFile(path.join(EXAMPLES_DIR, 'social-registry', 'config.json'), {
      REGISTRA_SURVEY_URL: 'http://127.0.0.1:9/export',
    });
    const broken = {
      ...config,
      document: {
        ...config.document,
        adapters: config.document.adapters.map((a) => ({ ...a, mapping: '{ "type": ' })),
      },
    };
    expect(() => inAdapterPullers(broken, { REGISTRA_SURVEY_TOKEN: 'x' })).toThrow(
      /adapters\.0\.mapping: not a valid JSONata expression/,
    );
    expect(() => inAdapterPullers(config, {})).toThrow(
      /adapters\.0\.headers\.0\.valueEnv: REGISTRA_SURVEY_TOKEN is not set/,
    );
  });
});

function household(id: number, version: string, firstName: string, size = 4) {
  return {
    _id: id,
    _submission_time: '2026-11-20T08:00:00Z',
    _last_edited: version,
    head_first_name: firstName,
    head_surname: 'Phiri',
    hh_size: size,
    province: 'central',
    district: 'ibombo',
    village: 'Chilanga',
    dwelling: 'brick',
  };
}

async function recordOf(server: TestServer, session: Session, id: string): Promise<RecordState> {
  const response = await server.request('GET', `/api/v1/records/${id}`, { token: session.token });
  expect(response.status, await response.clone().text()).toBe(200);
  return ((await response.json()) as { record: RecordState }).record;
}

async function entriesOf(server: TestServer, session: Session, id: string): Promise<Entry[]> {
  const response = await server.request('GET', `/api/v1/records/${id}`, { token: session.token });
  return ((await response.json()) as { entries: Entry[] }).entries;
}

async function storedCheckpoint(server: TestServer): Promise<unknown> {
  const row = await server.db
    .selectFrom('adapter_state')
    .select('checkpoint')
    .where('adapter', '=', 'survey-households')
    .executeTakeFirst();
  return row?.checkpoint;
}

/**
 * A survey tool's export over real HTTP: `results` in pages of two, `next` the cursor of the
 * next page, `asOf` the time of the export; it answers only its token.
 */
class SurveySource {
  items: Record<string, unknown>[] = [];
  readonly asked: URLSearchParams[] = [];
  readonly asOf = '2026-11-30T12:00:00.000Z';
  failWith: number | null = null;
  #server: Server | null = null;
  url = '';

  constructor(private readonly token: string) {}

  async start(): Promise<this> {
    const server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://x');
      const asked = new URLSearchParams(url.searchParams);
      asked.set('auth', String(request.headers['authorization'] ?? ''));
      this.asked.push(asked);
      if (request.headers['authorization'] !== `Token ${this.token}`) {
        response.writeHead(401).end();
        return;
      }
      if (this.failWith) {
        response.writeHead(this.failWith, { 'content-type': 'text/plain' }).end('bad gateway');
        return;
      }
      const since = url.searchParams.get('since');
      const items = since === this.asOf ? [] : this.items;
      const from = Number(url.searchParams.get('cursor') ?? 0);
      const page = items.slice(from, from + 2);
      const next = from + 2 < items.length ? String(from + 2) : null;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ count: items.length, next, asOf: this.asOf, results: page }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    this.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    this.#server = server;
    return this;
  }

  async close(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()) ?? resolve());
  }
}

/** An external REST API over real HTTP: `answer` gives the status of each POST. */
async function office(
  answer: (request: IncomingMessage, body: string) => number,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const status = answer(request, Buffer.concat(chunks).toString('utf8'));
      response.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    url,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The civil registry example without deduplication (this file's births look alike). */
function civilRegistryWithoutDeduplication(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'registra-adapters-'));
  const source = path.join(EXAMPLES_DIR, 'civil-registry');
  const config = JSON.parse(readFileSync(path.join(source, 'config.json'), 'utf8')) as {
    recordTypes: Record<string, unknown>[];
  };
  for (const type of config.recordTypes) delete type['deduplication'];
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  copyFileSync(path.join(source, 'users.json'), path.join(dir, 'users.json'));
  return dir;
}
