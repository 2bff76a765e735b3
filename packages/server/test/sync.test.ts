import { loadConfigurationOrThrow, type Entry } from '@registra/core';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  action,
  BIRTH,
  Device,
  newId,
  startTestServer,
  storedEntryIds,
  type TestServer,
} from './harness.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

const countEntries = async (recordId: string) => (await storedEntryIds(server, recordId)).length;

describe('sync, rule 1: exactly-once effect', () => {
  it('answers a resent batch with the original outcomes, marked duplicate, and appends nothing', async () => {
    const device = new Device(server, await server.login('agent'));
    const recordId = newId();
    const batch = device.stamp([
      action({ type: 'CREATE', recordId, recordType: 'birth' }),
      action({ type: 'DECLARE', recordId, baseSeq: 1, declaration: BIRTH }),
    ]);
    const first = await device.sync(batch);
    expect(first.ackThrough).toBe(2);
    expect(first.results.map((r) => [r.outcome, r.seq])).toEqual([
      ['accepted', 1],
      ['accepted', 2],
    ]);
    const entriesBefore = await countEntries(recordId);

    const again = await device.sync(batch);
    expect(again.ackThrough).toBe(2);
    expect(again.results).toEqual(first.results.map((r) => ({ ...r, duplicate: true })));
    expect(await countEntries(recordId)).toBe(entriesBefore);
  });

  it('refuses the same id with a different body: ID_CONFLICT, nothing changed', async () => {
    const device = new Device(server, await server.login('agent'));
    const recordId = newId();
    const [create] = device.stamp([action({ type: 'CREATE', recordId, recordType: 'birth' })]);
    await device.sync([create]);
    const other = new Device(server, await server.login('agent'));
    const [changed] = other.stamp([{ ...create, occurredAt: '2020-01-01T00:00:00.000Z' }]);
    const { results } = await other.sync([changed]);
    expect(results[0]).toMatchObject({ outcome: 'rejected', code: 'ID_CONFLICT', seq: null });
    expect(await countEntries(recordId)).toBe(1);
  });

  it('answers 409 SEQ_GAP with expectedFrom when the first deviceSeq skips ahead', async () => {
    const device = new Device(server, await server.login('agent'));
    await device.push(action({ type: 'CREATE', recordId: newId(), recordType: 'birth' }));
    const response = await device.post([
      { ...action({ type: 'CREATE', recordId: newId(), recordType: 'birth' }), deviceSeq: 5 },
    ]);
    expect(response.status).toBe(409);
    expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(await response.json()).toMatchObject({ code: 'SEQ_GAP', expectedFrom: 2, status: 409 });
  });

  it('refuses actions whose deviceSeq values are not contiguous', async () => {
    const device = new Device(server, await server.login('agent'));
    const response = await device.post([
      { ...action({ type: 'CREATE', recordId: newId(), recordType: 'birth' }), deviceSeq: 1 },
      { ...action({ type: 'CREATE', recordId: newId(), recordType: 'birth' }), deviceSeq: 3 },
    ]);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      code: 'INVALID_INPUT',
      errors: [{ path: 'actions.1.deviceSeq', message: 'must be 2' }],
    });
  });

  it('answers an action rejected without being stored with the same rejection when resent', async () => {
    const device = new Device(server, await server.login('agent'));
    const batch = device.stamp([
      { ...action({ type: 'CREATE', recordId: newId(), recordType: 'birth' }), bogus: 1 } as never,
    ]);
    const first = await device.sync(batch);
    expect(first.results[0]).toMatchObject({
      outcome: 'rejected',
      code: 'INVALID_INPUT',
      seq: null,
    });
    expect(first.results[0]?.errors).toEqual([{ path: 'bogus', message: 'is not a known key' }]);
    expect(first.ackThrough).toBe(1);
    const again = await device.sync(batch);
    expect(again.results[0]).toMatchObject({
      outcome: 'rejected',
      code: 'INVALID_INPUT',
      duplicate: true,
    });
  });

  it('treats a known action id at a new deviceSeq as a duplicate and advances ackThrough', async () => {
    const device = new Device(server, await server.login('agent'));
    const create = action({ type: 'CREATE', recordId: newId(), recordType: 'birth' });
    const [first] = await device.push(create);
    const [second] = await device.push(create);
    expect(second).toMatchObject({
      outcome: first?.outcome,
      seq: first?.seq,
      duplicate: true,
      deviceSeq: 2,
    });
  });
});

describe('sync: devices', () => {
  it('keeps a device id to the user who first used it, whether they pushed or only pulled', async () => {
    const agent = await server.login('agent');
    const other = await server.login('registrar');
    const puller = new Device(server, agent);
    await puller.sync(); // first contact pushes nothing, and still registers the device
    const pusher = new Device(server, agent);
    const recordId = newId();
    await pusher.push(action({ type: 'CREATE', recordId, recordType: 'birth' }));

    for (const device of [puller, pusher]) {
      const thief = new Device(server, other, device.id);
      for (const actions of [[], thief.stamp([action({ type: 'UPDATE', recordId })])]) {
        const response = await thief.post(actions);
        expect(response.status).toBe(409);
        expect(await response.json()).toMatchObject({ code: 'DEVICE_CONFLICT' });
      }
    }
    expect(await countEntries(recordId)).toBe(1);
    // The rightful user goes on as before, and a pull answers where the device's pushes stand.
    expect((await pusher.sync()).ackThrough).toBe(1);
    expect((await puller.sync()).ackThrough).toBe(0);
  });

  it('notes when a device was last seen, also when it only pulls', async () => {
    const device = new Device(server, await server.login('agent'));
    await device.sync();
    await sql`UPDATE devices SET last_seen_at = now() - interval '1 hour' WHERE id = ${device.id}::uuid`.execute(
      server.db,
    );
    await device.sync();
    const row = await server.db
      .selectFrom('devices')
      .select(sql<number>`extract(epoch FROM now() - last_seen_at)`.as('age'))
      .where('id', '=', device.id)
      .executeTakeFirstOrThrow();
    expect(Number(row.age)).toBeLessThan(60);
  });
});

describe('sync, rules 3 and 4: outcomes and one order per record', () => {
  it('stores a rejected declaration as a rejected entry with its code, visible in the record', async () => {
    const agent = await server.login('agent');
    const device = new Device(server, agent);
    const recordId = newId();
    const results = await device.push(
      action({ type: 'CREATE', recordId, recordType: 'birth' }),
      action({
        type: 'DECLARE',
        recordId,
        baseSeq: 1,
        declaration: { ...BIRTH, 'child.dob': '2999-01-01' },
      }),
      action({ type: 'UPDATE', recordId, baseSeq: 1, declaration: { 'child.firstName': 'Abena' } }),
    );
    expect(results.map((r) => [r.outcome, r.code])).toEqual([
      ['accepted', null],
      ['rejected', 'INVALID_DECLARATION'],
      ['rejected', 'DEPENDENCY_REJECTED'],
    ]);
    expect(results[1]?.errors).toEqual([
      { path: 'child.dob', message: 'must not be in the future' },
    ]);
    const response = await server.request('GET', `/api/v1/records/${recordId}`, {
      token: agent.token,
    });
    const { record, entries } = (await response.json()) as {
      record: { status: string; declaration: object };
      entries: Entry[];
    };
    expect(record.status).toBe('CREATED');
    expect(record.declaration).toEqual({});
    expect(entries.map((e) => [e.type, e.status, e.code])).toEqual([
      ['CREATE', 'accepted', null],
      ['DECLARE', 'rejected', 'INVALID_DECLARATION'],
      ['UPDATE', 'rejected', 'DEPENDENCY_REJECTED'],
    ]);
    expect(entries[1]?.message).toBe('child.dob: must not be in the future');
    expect(entries[1]?.declaration).toEqual({ ...BIRTH, 'child.dob': '2999-01-01' });
  });

  it('goes on with other records after a rejection', async () => {
    const device = new Device(server, await server.login('agent'));
    const a = newId();
    const b = newId();
    const results = await device.push(
      action({ type: 'CREATE', recordId: a, recordType: 'birth' }),
      action({ type: 'REGISTER', recordId: a }),
      action({ type: 'CREATE', recordId: b, recordType: 'birth' }),
      action({ type: 'DECLARE', recordId: a, declaration: BIRTH }),
      action({ type: 'DECLARE', recordId: b, declaration: BIRTH }),
    );
    expect(results.map((r) => [r.outcome, r.code])).toEqual([
      ['accepted', null],
      ['rejected', 'FORBIDDEN'],
      ['accepted', null],
      ['rejected', 'DEPENDENCY_REJECTED'],
      ['accepted', null],
    ]);
  });

  it('does not store rejections of records that do not exist or are out of reach', async () => {
    const device = new Device(server, await server.login('agent'));
    const far = new Device(server, await server.login('agent.far'));
    const recordId = newId();
    await device.push(action({ type: 'CREATE', recordId, recordType: 'birth' }));
    const results = [
      ...(await far.push(
        action({ type: 'UPDATE', recordId, declaration: { 'child.firstName': 'X' } }),
      )),
      ...(await far.push(
        action({ type: 'UPDATE', recordId: newId(), declaration: { 'child.firstName': 'X' } }),
      )),
      ...(await far.push(action({ type: 'CREATE', recordId, recordType: 'birth' }))),
      ...(await far.push(action({ type: 'CREATE', recordId: newId(), recordType: 'marriage' }))),
    ];
    expect(results.map((r) => [r.outcome, r.code, r.seq])).toEqual([
      ['rejected', 'NOT_FOUND', null],
      ['rejected', 'NOT_FOUND', null],
      ['rejected', 'RECORD_EXISTS', null],
      ['rejected', 'INVALID_INPUT', null],
    ]);
    expect(await countEntries(recordId)).toBe(1);
  });
});

describe('sync, rule 5: changes', () => {
  it('delivers other devices’ entries in order, never this device’s own, in pages', async () => {
    const agent = await server.login('agent');
    const writer = new Device(server, agent);
    const reader = new Device(server, await server.login('registrar'));
    await reader.drain();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const recordId = newId();
      const results = await writer.push(action({ type: 'CREATE', recordId, recordType: 'birth' }));
      ids.push(results[0]?.id as string);
    }
    const page = await reader.sync([], 2);
    expect(page.changes).toHaveLength(2);
    expect(page.hasMore).toBe(true);
    await reader.drain();
    const seen = reader.received.filter((e) => ids.includes(e.id)).map((e) => e.id);
    expect(seen).toEqual(ids);
    expect(writer.received.some((e) => ids.includes(e.id))).toBe(false);
  });

  it('refuses a cursor it did not hand out', async () => {
    const device = new Device(server, await server.login('agent'));
    const response = await device.post([], 'not-a-cursor');
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      code: 'INVALID_INPUT',
      errors: [{ path: 'cursor' }],
    });
  });
});

describe('sync, rule 6: scope', () => {
  it('keeps records of another jurisdiction away: they cannot even be assigned there', async () => {
    const agent = new Device(server, await server.login('agent'));
    const supervisor = new Device(server, await server.login('supervisor'));
    const farSession = await server.login('agent.far');
    const far = new Device(server, farSession);
    await far.drain();

    const recordId = newId();
    await agent.push(
      action({ type: 'CREATE', recordId, recordType: 'birth' }),
      action({ type: 'UPDATE', recordId, declaration: { 'child.firstName': 'Kofi' } }),
    );
    await far.drain();
    expect(far.received.some((e) => e.recordId === recordId)).toBe(false);
    const hidden = await server.request('GET', `/api/v1/records/${recordId}`, {
      token: farSession.token,
    });
    expect(hidden.status).toBe(404);

    // PROTOCOL 7: the far agent may not act on births of Ibombo, so they may not be assigned one.
    const [refused] = await supervisor.push(
      action({ type: 'ASSIGN', recordId, assignee: farSession.user.id }),
    );
    expect(refused).toMatchObject({ outcome: 'rejected', code: 'INVALID_ASSIGNEE', seq: 3 });
    await far.drain();
    expect(far.received.some((e) => e.recordId === recordId)).toBe(false);
  });

  it('brings a record’s whole log once it is assigned to someone who reads elsewhere', async () => {
    // The far agent's role may declare births anywhere, but reads only in their own district.
    const document = server.registry.config.document;
    const original = server.registry.config;
    server.registry.config = loadConfigurationOrThrow({
      ...document,
      roles: document.roles.map((role) =>
        role.id === 'field-agent'
          ? {
              ...role,
              permissions: [
                ...role.permissions.filter((p) => p !== 'record.declare'),
                { permission: 'record.declare', national: true },
              ],
            }
          : role,
      ),
    });
    try {
      const agent = new Device(server, await server.login('agent'));
      const supervisor = new Device(server, await server.login('supervisor'));
      const farSession = await server.login('agent.far');
      const far = new Device(server, farSession);
      await far.drain();
      const recordId = newId();
      await agent.push(
        action({ type: 'CREATE', recordId, recordType: 'birth' }),
        action({ type: 'UPDATE', recordId, declaration: { 'child.firstName': 'Kofi' } }),
      );
      const [assigned] = await supervisor.push(
        action({ type: 'ASSIGN', recordId, assignee: farSession.user.id }),
      );
      expect(assigned).toMatchObject({ outcome: 'accepted' });
      await far.drain();
      const log = far.received.filter((e) => e.recordId === recordId);
      expect(log.map((e) => [e.seq, e.type])).toEqual([
        [1, 'CREATE'],
        [2, 'UPDATE'],
        [3, 'ASSIGN'],
      ]);
      const visible = await server.request('GET', `/api/v1/records/${recordId}`, {
        token: farSession.token,
      });
      expect(visible.status).toBe(200);
    } finally {
      server.registry.config = original;
    }
  });
});
