import type { ActionResult, Entry, RecordState } from '@registra/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import { hookSigners, sweepHooks } from '../src/services/hooks/index.js';
import { loadConfigFile } from '../src/services/seed.js';
import { action, BIRTH, newId, startTestServer, type Session, type TestServer } from './harness.js';
import { runCli } from './cli-process.js';
import { civilRegistryWithHooks, Receiver, type Received, type Reply } from './receiver.js';

const RULES_SECRET = `whsec_${Buffer.from('rules secret of the test').toString('base64')}`;
const EVENTS_SECRET = 'a plain events secret';

let receiver: Receiver;
let configDir: string;
let hookEnv: Record<string, string>;
let server: TestServer;
let agent: Session;
let registrar: Session;
let registrar2: Session;
let admin: Session;

beforeAll(async () => {
  receiver = await new Receiver({ '/rules': RULES_SECRET, '/events': EVENTS_SECRET }).start();
  // Without deduplication: it would find this file's same births to be duplicates and hold
  // their REGISTER for a review, racing the hook (core's hooks test covers the two together).
  configDir = civilRegistryWithHooks(
    (hook) => {
      hook['timeout'] = 1;
      hook['overdueAfter'] = 2;
    },
    { deduplication: false },
  );
  hookEnv = {
    REGISTRA_RULES_URL: `${receiver.url}/rules`,
    REGISTRA_RULES_SECRET: RULES_SECRET,
    REGISTRA_EVENTS_URL: `${receiver.url}/events`,
    REGISTRA_EVENTS_SECRET: EVENTS_SECRET,
  };
  server = await startTestServer(configDir, { jobs: true, env: hookEnv });
  agent = await server.login('agent');
  registrar = await server.login('registrar');
  registrar2 = await server.login('registrar2');
  admin = await server.login('admin');
});
afterAll(async () => {
  await server?.close();
  await receiver?.stop();
});
beforeEach(() => {
  receiver.reply = () => ({ status: 200, body: {} });
});

async function submit(session: Session | string, actions: unknown[], query = '') {
  const token = typeof session === 'string' ? session : session.token;
  const response = await server.request('POST', `/api/v1/actions${query}`, {
    token,
    body: { actions },
  });
  return response;
}

async function results(session: Session | string, actions: unknown[], query = '') {
  const response = await submit(session, actions, query);
  expect(response.status, await response.clone().text()).toBe(200);
  return ((await response.json()) as { results: ActionResult[] }).results;
}

/** A declared birth that the registrar asks to register: the rules hook must confirm it. */
async function requestRegistration(
  declaration: typeof BIRTH = BIRTH,
  query = '',
  requestId = newId(),
): Promise<{ recordId: string; requestId: string; result: ActionResult }> {
  const recordId = newId();
  await results(agent, [
    action({ type: 'CREATE', recordId, recordType: 'birth' }),
    action({ type: 'DECLARE', recordId, declaration }),
  ]);
  const [, result] = await results(
    registrar,
    [
      action({ type: 'ASSIGN', recordId, assignee: registrar.user.id }),
      { ...action({ type: 'REGISTER', recordId }), id: requestId },
    ],
    query,
  );
  expect(result?.outcome, JSON.stringify(result)).toBe('requested');
  return { recordId, requestId, result: result as ActionResult };
}

async function record(recordId: string): Promise<{ record: RecordState; entries: Entry[] }> {
  const response = await server.request('GET', `/api/v1/records/${recordId}`, {
    token: registrar.token,
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { record: RecordState; entries: Entry[] };
}

/** The rules hook answers this request as `reply` says, and anything else 200. */
function answer(requestId: string, reply: (r: Received) => Reply): void {
  receiver.reply = (r) =>
    (r.json['request'] as Entry | undefined)?.id === requestId ? reply(r) : { status: 200 };
}

const rulesFor = (requestId: string) =>
  receiver.of('/rules').filter((r) => (r.json['request'] as Entry | undefined)?.id === requestId);

async function until<T>(what: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let value = await what();
  for (let i = 0; i < 300 && !done(value); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await what();
  }
  return value;
}

describe('confirm hooks (PROTOCOL 8)', () => {
  it('200 with a number: the hook approves, as hook:rules, and its number is the one', async () => {
    const requestId = newId();
    answer(requestId, () => ({ status: 200, body: { registrationNumber: 'RULES-2026-0001' } }));
    const { recordId } = await requestRegistration(BIRTH, '', requestId);
    const { record: state, entries } = await until(
      () => record(recordId),
      (r) => r.record.status === 'REGISTERED',
    );
    expect(state.registrationNumber).toBe('RULES-2026-0001');
    const approve = entries.find((e) => e.type === 'APPROVE');
    expect(approve).toMatchObject({ requestId, createdBy: 'hook:rules', status: 'accepted' });
    const [delivery] = rulesFor(requestId);
    expect(delivery?.verified).toBe(true);
    expect(delivery?.json).toMatchObject({ hook: 'rules', request: { id: requestId } });
    expect((delivery?.json['entries'] as Entry[]).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(typeof delivery?.json['confirmationToken']).toBe('string');
    expect((delivery?.json['record'] as RecordState).flags).toContain('register:requested');
  });

  it('400 with a reason: the hook declines with it', async () => {
    const requestId = newId();
    answer(requestId, () => ({ status: 400, body: { reason: 'the mother is too young' } }));
    const { recordId } = await requestRegistration(BIRTH, '', requestId);
    const { record: state, entries } = await until(
      () => record(recordId),
      (r) => r.record.flags.includes('register:declined'),
    );
    expect(state.status).toBe('DECLARED');
    expect(entries.find((e) => e.type === 'DECLINE')).toMatchObject({
      createdBy: 'hook:rules',
      annotation: { reason: 'the mother is too young' },
    });
  });

  it('422 without a reason still declines, with a reason that says so', async () => {
    const requestId = newId();
    answer(requestId, () => ({ status: 422, body: 'nothing useful' }));
    const { recordId } = await requestRegistration(BIRTH, '', requestId);
    const { entries } = await until(
      () => record(recordId),
      (r) => r.entries.some((e) => e.type === 'DECLINE'),
    );
    expect(entries.find((e) => e.type === 'DECLINE')?.annotation?.['reason']).toMatch(/422/);
  });

  it('202, then the hook calls back with its confirmation token, which opens nothing else', async () => {
    const requestId = newId();
    answer(requestId, () => ({ status: 202 }));
    const { recordId } = await requestRegistration(BIRTH, '', requestId);
    const [delivery] = await until(
      async () => rulesFor(requestId),
      (list) => list.length > 0,
    );
    const token = String(delivery?.json['confirmationToken']);
    // The token reads nothing, and decides no other request.
    const read = await server.request('GET', `/api/v1/records/${recordId}`, { token });
    expect(read.status).toBe(403);
    const other = await requestRegistration();
    const [refused] = await results(token, [
      action({ type: 'APPROVE', recordId: other.recordId, requestId: other.requestId }),
    ]);
    expect(refused).toMatchObject({ outcome: 'rejected', code: 'FORBIDDEN' });
    const [notAllowed] = await results(token, [action({ type: 'VALIDATE', recordId })]);
    expect(notAllowed).toMatchObject({ outcome: 'rejected', code: 'FORBIDDEN' });
    // Its own request: approved, with no assignment.
    const [approved] = await results(token, [action({ type: 'APPROVE', recordId, requestId })]);
    expect(approved).toMatchObject({ outcome: 'accepted' });
    const { record: state, entries } = await record(recordId);
    expect(state.status).toBe('REGISTERED');
    expect(state.registrationNumber).toMatch(/\d/);
    expect(entries.at(-1)).toMatchObject({ type: 'APPROVE', createdBy: 'hook:rules' });
  });

  it('500 twice then 200: redelivered with backoff under the same webhook-id', async () => {
    let calls = 0;
    const requestId = newId();
    answer(requestId, () => (++calls <= 2 ? { status: 500, body: 'busy' } : { status: 200 }));
    const { recordId } = await requestRegistration(BIRTH, '', requestId);
    await until(
      () => record(recordId),
      (r) => r.record.status === 'REGISTERED',
    );
    const attempts = rulesFor(requestId);
    expect(attempts).toHaveLength(3);
    expect(new Set(attempts.map((a) => a.id)).size).toBe(1);
    expect(attempts.every((a) => a.verified)).toBe(true);
    const listed = await deliveriesOf(recordId, 'rules');
    expect(listed[0]).toMatchObject({ state: 'done', outcome: 'approved', attempts: 3 });
  });

  it('a timeout, then garbage bodies, are failures that are retried, then an answer decides', async () => {
    let calls = 0;
    const requestId = newId();
    answer(requestId, () => {
      calls += 1;
      if (calls === 1) return { status: 200, delayMs: 1500, body: {} };
      if (calls === 2) return { status: 200, body: '<html>not json' };
      if (calls === 3) return { status: 200, body: [1, 2, 3] };
      if (calls === 4) return { status: 200, body: { registrationNumber: { no: 1 } } };
      return { status: 200, body: { registrationNumber: 'R-5' } };
    });
    const { recordId } = await requestRegistration(BIRTH, '', requestId);
    const failing = await until(
      () => deliveriesOf(recordId, 'rules'),
      (list) => (list[0]?.attempts ?? 0) >= 1,
    );
    expect(failing[0]?.lastError).toMatch(/no answer within 1 s/);
    const { record: state } = await until(
      () => record(recordId),
      (r) => r.record.status === 'REGISTERED',
    );
    expect(state.registrationNumber).toBe('R-5');
  }, 90_000);

  it('a person with the approver permission may still decide; then deliveries stop', async () => {
    const requestId = newId();
    answer(requestId, () => ({ status: 503 }));
    const { recordId } = await requestRegistration(BIRTH, '', requestId);
    await until(
      () => deliveriesOf(recordId, 'rules'),
      (list) => list[0]?.state === 'failing',
    );
    const [assigned, approved] = await results(registrar2, [
      action({ type: 'ASSIGN', recordId, assignee: registrar2.user.id }),
      action({ type: 'APPROVE', recordId, requestId }),
    ]);
    expect([assigned?.outcome, approved?.outcome]).toEqual(['accepted', 'accepted']);
    const [delivery] = await deliveriesOf(recordId, 'rules');
    expect(delivery).toMatchObject({ state: 'done', outcome: 'decided' });
    const sent = rulesFor(requestId).length;
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(rulesFor(requestId).length).toBe(sent);
  });

  it('a request undecided past overdueAfter gets the flag hook-overdue, for a queue', async () => {
    const requestId = newId();
    answer(requestId, () => ({ status: 500 }));
    const { recordId } = await requestRegistration(BIRTH, '', requestId);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await sweepHooks(server.registry);
    const { record: state, entries } = await record(recordId);
    expect(state.flags).toEqual(expect.arrayContaining(['hook-overdue', 'register:requested']));
    expect(entries.at(-1)).toMatchObject({ type: 'HOOK_OVERDUE', createdBy: 'hook:rules' });
    const queue = await server.request('GET', '/api/v1/records?flag=hook-overdue', {
      token: registrar.token,
    });
    const listed = (await queue.json()) as { results: RecordState[] };
    expect(listed.results.map((r) => r.id)).toContain(recordId);
    // A second sweep adds nothing; the decision clears the flag.
    await sweepHooks(server.registry);
    expect((await record(recordId)).entries.filter((e) => e.type === 'HOOK_OVERDUE')).toHaveLength(
      1,
    );
  });

  it('?wait=5 answers the decision when the hook is quick', async () => {
    const requestId = newId();
    answer(requestId, () => ({ status: 200, body: { registrationNumber: 'QUICK-1' } }));
    const { result } = await requestRegistration(BIRTH, '?wait=5', requestId);
    expect(result.decision).toMatchObject({
      type: 'APPROVE',
      createdBy: 'hook:rules',
      registrationNumber: 'QUICK-1',
    });
    const refused = await submit(
      registrar,
      [action({ type: 'ASSIGN', recordId: newId() })],
      '?wait=60',
    );
    expect(refused.status).toBe(400);
  });
});

describe('notify hooks and the deliveries API (PROTOCOL 8)', () => {
  it('delivers every accepted or requested entry in seq order per record, signed', async () => {
    const { recordId } = await requestRegistration();
    const { entries } = await until(
      () => record(recordId),
      (r) => r.record.status === 'REGISTERED',
    );
    const expected = entries.filter((e) => e.status !== 'rejected').map((e) => e.seq);
    const events = await until(
      async () => eventsOf(recordId),
      (list) => list.length >= expected.length,
    );
    expect(events.map((e) => (e.json['entry'] as Entry).seq)).toEqual(expected);
    expect(events.every((e) => e.verified)).toBe(true);
    expect(events[0]?.json).toMatchObject({ hook: 'events', record: { id: recordId } });
  });

  it('lists failing deliveries with their last error, and retries one now', async () => {
    receiver.reply = (r) =>
      r.path === '/events' ? { status: 500, body: 'down' } : { status: 200 };
    const recordId = newId();
    await results(agent, [action({ type: 'CREATE', recordId, recordType: 'birth' })]);
    const failing = await until(
      () => deliveriesOf(recordId, 'events', 'failing'),
      (list) => list.length > 0,
    );
    expect(failing[0]).toMatchObject({
      hook: 'events',
      hookLabel: 'National statistics feed',
      hookTranslations: { fr: { label: 'Flux des statistiques nationales' } },
      state: 'failing',
    });
    expect(failing[0]?.lastError).toMatch(/answered 500: down/);
    receiver.reply = () => ({ status: 200 });
    const retry = await server.request('POST', `/api/v1/hooks/deliveries/${failing[0]?.id}/retry`, {
      token: admin.token,
    });
    expect(retry.status).toBe(202);
    await until(
      () => deliveriesOf(recordId, 'events'),
      (list) => list[0]?.state === 'done',
    );
    const forbidden = await server.request('GET', '/api/v1/hooks/deliveries', {
      token: registrar.token,
    });
    expect(forbidden.status).toBe(403);
    const unknown = await server.request('POST', `/api/v1/hooks/deliveries/${newId()}/retry`, {
      token: admin.token,
    });
    expect(unknown.status).toBe(404);
    const metrics = await server.request('GET', '/metrics', { token: admin.token });
    const text = await metrics.text();
    expect(text).toMatch(/registra_hook_deliveries_total\{hook="events",outcome="delivered"\} \d+/);
    expect(text).toMatch(/registra_hook_deliveries_pending\{hook="rules"\} \d+/);
    expect(text).toMatch(/registra_hook_oldest_pending_seconds\{hook="events"\} [\d.]+/);
  });
});

describe('start', () => {
  it('refuses a hook that is on without its secret, naming the setting', () => {
    const config = loadConfigFile(path.join(configDir, 'config.json'), {
      REGISTRA_RULES_URL: 'http://127.0.0.1:9/rules',
    });
    expect(() => hookSigners(config, {})).toThrow(
      /hooks\.0\.secretEnv: hook "rules" is on, but REGISTRA_RULES_SECRET is not set/,
    );
    expect(hookSigners(loadConfigFile(path.join(configDir, 'config.json'), {}), {}).size).toBe(0);
  });
});

describe('registra deliveries', () => {
  const cli = (...args: string[]) =>
    runCli(server, ['deliveries', ...args], { ...hookEnv, REGISTRA_CONFIG: configDir });

  // Three CLI processes, each starting TypeScript: minutes on a loaded machine.
  it(
    'lists deliveries with their state and last error, and retries one',
    { timeout: 300_000 },
    async () => {
      receiver.reply = (r) =>
        r.path === '/events' ? { status: 500, body: 'cli' } : { status: 200 };
      const recordId = newId();
      await results(agent, [action({ type: 'CREATE', recordId, recordType: 'birth' })]);
      const [failing] = await until(
        () => deliveriesOf(recordId, 'events', 'failing'),
        (list) => list.length > 0,
      );
      const listed = await cli(
        'list',
        '--hook',
        'events',
        '--state',
        'failing',
        '--record',
        recordId,
      );
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout).toContain(`${failing?.id}\tevents\t${recordId}\tfailing`);
      expect(listed.stdout).toContain('answered 500: cli');
      const retried = await cli('retry', String(failing?.id));
      expect(retried.stdout).toContain('is due now');
      expect((await cli('list', '--state', 'stuck')).code).toBe(1);
    },
  );
});

function eventsOf(recordId: string): Received[] {
  const firsts = new Map<string, Received>();
  for (const r of receiver.of('/events')) {
    const entry = r.json['entry'] as Entry | undefined;
    if (entry?.recordId === recordId && !firsts.has(r.id)) firsts.set(r.id, r);
  }
  return [...firsts.values()];
}

interface DeliveryView {
  id: string;
  hook: string;
  state: string;
  outcome: string | null;
  attempts: number;
  lastError: string | null;
}

async function deliveriesOf(
  recordId: string,
  hook: string,
  state?: string,
): Promise<DeliveryView[]> {
  const query = `?recordId=${recordId}&hook=${hook}${state ? `&state=${state}` : ''}`;
  const response = await server.request('GET', `/api/v1/hooks/deliveries${query}`, {
    token: admin.token,
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { results: DeliveryView[] }).results;
}
