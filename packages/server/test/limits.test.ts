import { dateIn } from '@registra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  action,
  declareBirth,
  Device,
  expectProblem,
  newId,
  startTestServer,
  storedEntryIds,
  type TestServer,
} from './harness.js';

/**
 * PROTOCOL 7 through the public API: what one account can send, and the rules that no request may
 * skip. Each case here was a hole in the foundation: it passed on the code before these limits.
 */
let server: TestServer;
let agent: Device;
let registrar: Device;
beforeAll(async () => {
  server = await startTestServer();
  agent = new Device(server, await server.login('agent'));
  registrar = new Device(server, await server.login('registrar'));
});
afterAll(() => server.close());

const DAY = 86_400_000;

describe('no rule can be skipped by leaving the declaration out', () => {
  it('refuses a DECLARE without a declaration key when required fields are missing', async () => {
    const recordId = newId();
    const [, declared] = await agent.push(
      action({ type: 'CREATE', recordId, recordType: 'birth' }),
      action({ type: 'DECLARE', recordId, baseSeq: 1 }),
    );
    expect(declared).toMatchObject({ outcome: 'rejected', code: 'INVALID_DECLARATION' });
    expect(declared?.errors?.map((e) => e.message)).toContain('is required');
    const record = await server.request('GET', `/api/v1/records/${recordId}`, {
      token: agent.session.token,
    });
    expect(((await record.json()) as { record: { status: string } }).record.status).toBe('CREATED');
  });

  it('refuses a bare REGISTER of a birth whose child’s name an UPDATE removed', async () => {
    const recordId = await declareBirth(agent);
    const emptied = await agent.push(
      action({ type: 'ASSIGN', recordId, assignee: agent.session.user.id }),
      action({ type: 'UPDATE', recordId, declaration: { 'child.firstName': null } }),
      action({ type: 'UNASSIGN', recordId }),
    );
    expect(emptied.map((r) => r.outcome)).toEqual(['accepted', 'accepted', 'accepted']);
    const results = await registrar.push(
      action({ type: 'ASSIGN', recordId, assignee: registrar.session.user.id }),
      action({ type: 'REGISTER', recordId }),
    );
    expect(results.map((r) => r.outcome)).toEqual(['accepted', 'rejected']);
    expect(results[1]).toMatchObject({
      code: 'INVALID_DECLARATION',
      errors: [{ path: 'child.firstName', message: 'is required' }],
    });
  });
});

describe('sizes', () => {
  it('refuses an oversized annotation or action, stores nothing, and says how big it was', async () => {
    const recordId = await declareBirth(agent);
    const before = await storedEntryIds(server, recordId);
    // FORBIDDEN for the agent: such an action used to be stored whole as a rejected entry.
    const results = await agent.push(
      action({ type: 'REGISTER', recordId, annotation: { note: 'x'.repeat(20 * 1024) } }),
      action({ type: 'UPDATE', recordId, declaration: { 'child.firstName': 'y'.repeat(70_000) } }),
    );
    expect(results.map((r) => [r.outcome, r.code, r.seq])).toEqual([
      ['rejected', 'INVALID_INPUT', null],
      ['rejected', 'INVALID_INPUT', null],
    ]);
    expect(results[0]?.errors).toEqual([
      {
        path: 'annotation',
        message: 'the annotation is 21 KiB serialized; at most 16 KiB is accepted',
      },
    ]);
    expect(results[1]?.errors).toEqual([
      { path: '', message: 'the action is 69 KiB serialized; at most 64 KiB is accepted' },
    ]);
    expect(await storedEntryIds(server, recordId)).toEqual(before);
  });

  it('refuses a text field past its maxLength (1,000 characters unless configured)', async () => {
    const recordId = newId();
    const [, update] = await agent.push(
      action({ type: 'CREATE', recordId, recordType: 'birth' }),
      action({ type: 'UPDATE', recordId, declaration: { 'child.firstName': 'z'.repeat(101) } }),
    );
    expect(update).toMatchObject({
      outcome: 'rejected',
      errors: [{ path: 'child.firstName', message: 'must have at most 100 characters' }],
    });
  });

  it('answers 413 TOO_MANY_ACTIONS past 1,000 actions a request or 200 for one record', async () => {
    const device = new Device(server, agent.session);
    const recordId = newId();
    const many = device.stamp(
      Array.from({ length: 201 }, (_, i) =>
        i === 0
          ? action({ type: 'CREATE', recordId, recordType: 'birth' })
          : action({ type: 'UPDATE', recordId, declaration: { 'child.firstName': `N${i}` } }),
      ),
    );
    const tooMany = await expectProblem(await device.post(many), 413, 'TOO_MANY_ACTIONS');
    expect(tooMany.detail).toMatch(/200 actions for one record/);
    const records = device.stamp(
      Array.from({ length: 1001 }, () =>
        action({ type: 'CREATE', recordId: newId(), recordType: 'birth' }),
      ),
    );
    await expectProblem(await device.post(records), 413, 'TOO_MANY_ACTIONS');
    const online = await server.request('POST', '/api/v1/actions', {
      token: agent.session.token,
      body: {
        actions: Array.from({ length: 1001 }, () =>
          action({ type: 'CREATE', recordId: newId(), recordType: 'birth' }),
        ),
      },
    });
    await expectProblem(online, 413, 'TOO_MANY_ACTIONS');
    expect(await storedEntryIds(server, recordId)).toEqual([]);
  });
});

describe('occurredAt is bounded by the clock and maxOfflineDays', () => {
  it('refuses a backdated booking that would slip past notPast, and one from the future', async () => {
    const clinic = await startTestServer('clinic');
    try {
      const receptionist = new Device(clinic, await clinic.login('receptionist'));
      const longAgo = Date.now() - 120 * DAY;
      const recordId = newId();
      const at = new Date(longAgo).toISOString();
      const results = await receptionist.push({
        id: newId(),
        recordId,
        type: 'CREATE',
        recordType: 'appointment',
        occurredAt: at,
      });
      expect(results[0]).toMatchObject({
        outcome: 'rejected',
        code: 'INVALID_INPUT',
        errors: [{ path: 'occurredAt', message: expect.stringContaining('90 days') }],
      });
      const future = await receptionist.push({
        id: newId(),
        recordId,
        type: 'CREATE',
        recordType: 'appointment',
        occurredAt: new Date(Date.now() + 10 * 60_000).toISOString(),
      });
      expect(future[0]).toMatchObject({ code: 'INVALID_INPUT', seq: null });
      // A day gone, booked "then": the date is not past on the day the action claims.
      const booked = await receptionist.push(
        {
          id: newId(),
          recordId,
          type: 'CREATE',
          recordType: 'appointment',
          occurredAt: at,
        },
        {
          id: newId(),
          recordId,
          type: 'DECLARE',
          baseSeq: 1,
          occurredAt: at,
          declaration: {
            'patient.firstName': 'Mutale',
            'patient.surname': 'Banda',
            'appointment.date': dateIn('Africa/Lusaka', new Date(longAgo + DAY)),
            'appointment.time': '09:30',
            'appointment.facility': 'ibombo-clinic',
            'appointment.service': 'antenatal',
          },
        },
      );
      expect(booked.map((r) => r.outcome)).toEqual(['rejected', 'rejected']);
      expect(await storedEntryIds(clinic, recordId)).toEqual([]);
    } finally {
      await clinic.close();
    }
  });
});

describe('assignment', () => {
  it('refuses to assign a record to a user who may not act on it there: INVALID_ASSIGNEE', async () => {
    const supervisor = new Device(server, await server.login('supervisor'));
    const far = await server.login('agent.far');
    const admin = await server.login('admin');
    const recordId = await declareBirth(agent);
    const results = await supervisor.push(
      action({ type: 'ASSIGN', recordId, assignee: far.user.id }),
      action({ type: 'ASSIGN', recordId, assignee: admin.user.id }),
    );
    expect(results.map((r) => [r.outcome, r.code])).toEqual([
      ['rejected', 'INVALID_ASSIGNEE'],
      ['rejected', 'DEPENDENCY_REJECTED'],
    ]);
    const [alone] = await supervisor.push(
      action({ type: 'ASSIGN', recordId, assignee: admin.user.id }),
    );
    expect(alone).toMatchObject({ outcome: 'rejected', code: 'INVALID_ASSIGNEE' });
    const farRead = await server.request('GET', `/api/v1/records/${recordId}`, {
      token: far.token,
    });
    expect(farRead.status).toBe(404);
  });
});
