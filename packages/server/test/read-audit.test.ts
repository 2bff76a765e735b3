import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  declareBirth,
  Device,
  expectProblem,
  startTestServer,
  type Session,
  type TestServer,
} from './harness.js';

/** PROTOCOL 13, read audit: who read, searched or exported a record, kept and shown. */
let server: TestServer;
let agent: Device;
let registrar: Session;
let admin: Session;
beforeAll(async () => {
  server = await startTestServer();
  agent = new Device(server, await server.login('agent'));
  registrar = await server.login('registrar');
  admin = await server.login('admin');
});
afterAll(() => server.close());

interface Read {
  at: string;
  userId: string;
  role: string;
  route: string;
  kind: string;
}

async function readsOf(recordId: string, token: string): Promise<Read[]> {
  const response = await server.request('GET', `/api/v1/records/${recordId}/audit`, { token });
  expect(response.status).toBe(200);
  return ((await response.json()) as { results: Read[] }).results;
}

describe('read audit', () => {
  it('records every read route: a record read, a search that found it, its chain', async () => {
    const recordId = await declareBirth(agent, {
      'child.firstName': 'Auditta',
      'child.surname': 'Banda',
      'child.dob': '2026-10-01',
      'child.sex': 'female',
      'mother.firstName': 'Grace',
      'mother.surname': 'Banda',
    });
    const token = agent.session.token;
    expect((await server.request('GET', `/api/v1/records/${recordId}`, { token })).status).toBe(
      200,
    );
    const search = await server.request('GET', '/api/v1/records?q=Auditta', { token });
    expect(
      ((await search.json()) as { results: { id: string }[] }).results.map((r) => r.id),
    ).toContain(recordId);
    const chain = await server.request('GET', `/api/v1/records/${recordId}/chain`, {
      token: admin.token,
    });
    expect(chain.status).toBe(200);

    // Written in batches, a moment later.
    await expect
      .poll(async () => (await readsOf(recordId, registrar.token)).length, { timeout: 10_000 })
      .toBe(3);
    const reads = await readsOf(recordId, registrar.token);
    expect(reads.map((r) => [r.kind, r.route, r.userId, r.role])).toEqual([
      ['read', '/api/v1/records/:id/chain', admin.user.id, 'national-admin'],
      ['search', '/api/v1/records', agent.session.user.id, 'field-agent'],
      ['read', '/api/v1/records/:id', agent.session.user.id, 'field-agent'],
    ]);
    // The audit's own reads are not reads of the record's data: they are not recorded.
    expect(await readsOf(recordId, admin.token)).toHaveLength(3);
  });

  it('is shown to administrators and registrars in jurisdiction, to no one else', async () => {
    const recordId = await declareBirth(agent);
    await expectProblem(
      await server.request('GET', `/api/v1/records/${recordId}/audit`, {
        token: agent.session.token,
      }),
      403,
      'FORBIDDEN',
    );
    const far = await server.login('agent.far');
    await expectProblem(
      await server.request('GET', `/api/v1/records/${recordId}/audit`, { token: far.token }),
      404,
      'NOT_FOUND',
    );
    expect(await readsOf(recordId, admin.token)).toEqual([]);
  });

  it('keeps the log append-only: an audit row cannot be changed or deleted', async () => {
    await expect(
      server.db.deleteFrom('read_audit').where('kind', '=', 'read').execute(),
    ).rejects.toThrow(/append-only/);
  });
});
