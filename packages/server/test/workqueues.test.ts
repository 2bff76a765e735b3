import { queueHolds, queuesOf, type RecordState } from '@registra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  action,
  declareBirth,
  Device,
  startTestServer,
  type Session,
  type TestServer,
} from './harness.js';

let server: TestServer;
let agent: Device;
let registrar: Device;
let registrarSession: Session;
const ids: Record<string, string> = {};

beforeAll(async () => {
  server = await startTestServer('civil-registry');
  agent = new Device(server, await server.login('agent'));
  registrarSession = await server.login('registrar');
  registrar = new Device(server, registrarSession);
  for (const name of ['declared', 'registered', 'printed', 'rejected', 'corrected'])
    ids[name] = await declareBirth(agent);
  const me = registrarSession.user.id;
  const take = (recordId: string) => action({ type: 'ASSIGN', recordId, assignee: me });
  await registrar.push(
    take(ids['registered']!),
    action({ type: 'REGISTER', recordId: ids['registered']! }),
    take(ids['printed']!),
    action({ type: 'REGISTER', recordId: ids['printed']! }),
    take(ids['printed']!),
    action({
      type: 'PRINT_CERTIFICATE',
      recordId: ids['printed']!,
      annotation: {
        templateId: 'birth-certificate',
        collector: {
          relationship: 'mother',
          name: 'Grace Banda',
          idType: 'national-id',
          idNumber: '1234567890',
        },
      },
    }),
    take(ids['rejected']!),
    action({ type: 'REJECT', recordId: ids['rejected']!, annotation: { reason: 'misspelt' } }),
    take(ids['corrected']!),
    action({ type: 'REGISTER', recordId: ids['corrected']! }),
    take(ids['corrected']!),
    action({
      type: 'CORRECT',
      recordId: ids['corrected']!,
      declaration: { 'child.firstName': 'Amah' },
    }),
  );
});
afterAll(() => server.close());

async function get<T>(path: string, session: Session): Promise<{ status: number; body: T }> {
  const response = await server.request('GET', path, { token: session.token });
  return { status: response.status, body: (await response.json()) as T };
}

async function page(queue: string, session: Session, query = ''): Promise<RecordState[]> {
  const answer = await get<{ results: RecordState[] }>(
    `/api/v1/workqueues/${queue}${query}`,
    session,
  );
  expect(answer.status).toBe(200);
  return answer.body.results;
}

describe('work queues from the configuration, per role', () => {
  it('gives each role its queues with counts: no "Ready to print" for a field agent', async () => {
    const answer = await get<{ queues: { id: string; count: number }[] }>(
      '/api/v1/workqueues',
      agent.session,
    );
    expect(answer.body.queues.map((q) => q.id)).toEqual(
      queuesOf(server.registry.config, 'field-agent').map((q) => q.id),
    );
    expect(answer.body.queues.map((q) => q.id)).not.toContain('ready-to-print');
    const refused = await get('/api/v1/workqueues/ready-to-print', agent.session);
    expect(refused.status).toBe(404);
  });

  it('holds exactly the records it should', async () => {
    const registrarIds = async (queue: string) =>
      (await page(queue, registrarSession)).map((r) => r.id);
    expect(await registrarIds('ready-to-print')).toEqual([ids['registered']]);
    expect(await registrarIds('sent-for-approval')).toEqual([ids['corrected']]);
    expect(await registrarIds('requires-updates')).toEqual([ids['rejected']]);
    expect(await registrarIds('ready-for-review')).toEqual([ids['declared']]);
    const counts = await get<{ queues: { id: string; count: number }[] }>(
      '/api/v1/workqueues',
      registrarSession,
    );
    expect(counts.body.queues.find((q) => q.id === 'ready-to-print')?.count).toBe(1);
  });

  it('agrees with core’s queueHolds, the rule the device applies offline', async () => {
    const rows = await server.db.selectFrom('records').select('state').execute();
    const states = rows.map((r) => r.state as RecordState);
    for (const queue of queuesOf(server.registry.config, 'registrar')) {
      const expected = states
        .filter((s) => queueHolds(queue.filter, s, registrarSession.user.id))
        .map((s) => s.id)
        .sort();
      const served = (await page(queue.id, registrarSession, '?limit=200')).map((r) => r.id);
      expect([...served].sort(), queue.id).toEqual(expected);
    }
  });

  it('pages by keyset in both orders without losing or repeating a record', async () => {
    for (let i = 0; i < 3; i++) await declareBirth(agent);
    const all = (await page('my-drafts-sent', agent.session, '?limit=200')).map((r) => r.id);
    expect(all).toHaveLength(4);
    for (const sort of ['-updatedAt', 'updatedAt']) {
      const seen: string[] = [];
      let after: string | null = null;
      do {
        const query: string = `?limit=1&sort=${sort}${after ? `&after=${after}` : ''}`;
        const answer = await get<{ results: RecordState[]; next: string | null }>(
          `/api/v1/workqueues/my-drafts-sent${query}`,
          agent.session,
        );
        seen.push(...answer.body.results.map((r) => r.id));
        after = answer.body.next;
      } while (after);
      expect(seen).toEqual(sort === '-updatedAt' ? all : [...all].reverse());
    }
    const bad = await get<{ code: string }>(
      '/api/v1/workqueues/assigned-to-me?after=nope',
      agent.session,
    );
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('INVALID_INPUT');
  });
});

describe('the directory of people a user may see by name', () => {
  it('names the people of the jurisdiction and national staff, without secrets', async () => {
    const answer = await get<{ users: Record<string, unknown>[] }>(
      '/api/v1/users/directory',
      agent.session,
    );
    expect(answer.status).toBe(200);
    const names = answer.body.users.map((u) => u['name']);
    expect(names).toEqual(
      expect.arrayContaining(['Kalusha Bwalya', 'Felix Katongo', 'Emmanuel Mayuka']),
    );
    expect(names).toContain('Jonathan Phiri'); // national staff
    expect(names).not.toContain('Patrick Gondwe'); // a field agent of another province
    const felix = answer.body.users.find((u) => u['name'] === 'Felix Katongo');
    expect(felix).toEqual({
      id: registrarSession.user.id,
      name: 'Felix Katongo',
      role: 'registrar',
      roleLabel: 'Registrar',
      officeId: 'ibombo-office',
      officeName: 'Ibombo District Office',
      active: true,
    });
    expect(JSON.stringify(answer.body)).not.toMatch(/hash|password|argon|scrypt/i);
  });

  it('needs a token', async () => {
    expect((await server.request('GET', '/api/v1/users/directory')).status).toBe(401);
  });
});
