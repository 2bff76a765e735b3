import type { Entry, RecordState } from '@registra/core';
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
let agent: Session;
let registrar: Session;
let registrar2: Session;
let supervisor: Session;
beforeAll(async () => {
  server = await startTestServer();
  agent = await server.login('agent');
  registrar = await server.login('registrar');
  registrar2 = await server.login('registrar2');
  supervisor = await server.login('supervisor');
});
afterAll(() => server.close());

async function record(
  id: string,
  session = agent,
): Promise<{ record: RecordState; entries: Entry[] }> {
  const response = await server.request('GET', `/api/v1/records/${id}`, { token: session.token });
  expect(response.status).toBe(200);
  return (await response.json()) as { record: RecordState; entries: Entry[] };
}

/** A birth declared by the agent: DECLARE unassigns the agent (configuration). */
const declaredBirth = () => declareBirth(new Device(server, agent));

describe('assignment mode', () => {
  it('assigns the creator on CREATE and unassigns after DECLARE with a server UNASSIGN entry', async () => {
    const recordId = await declaredBirth();
    const { record: state, entries } = await record(recordId);
    expect(state.assignedTo).toBeNull();
    expect(state.status).toBe('DECLARED');
    expect(entries.map((e) => [e.seq, e.type, e.deviceId === null])).toEqual([
      [1, 'CREATE', false],
      [2, 'DECLARE', false],
      [3, 'UNASSIGN', true],
    ]);
    expect(entries[2]?.createdBy).toBe(agent.user.id);
  });

  it('refuses writes to a record not assigned to you (NOT_ASSIGNED), stored in the log', async () => {
    const recordId = await declaredBirth();
    const [result] = await new Device(server, registrar).push(
      action({ type: 'VALIDATE', recordId }),
    );
    expect(result).toMatchObject({ outcome: 'rejected', code: 'NOT_ASSIGNED', seq: 4 });
    const { entries } = await record(recordId);
    expect(entries[3]).toMatchObject({
      type: 'VALIDATE',
      status: 'rejected',
      code: 'NOT_ASSIGNED',
    });
  });

  it('refuses to take a record assigned to someone else (ALREADY_ASSIGNED); a supervisor may reassign', async () => {
    const recordId = await declaredBirth();
    const [taken] = await new Device(server, registrar).push(
      action({ type: 'ASSIGN', recordId, assignee: registrar.user.id }),
    );
    expect(taken).toMatchObject({ outcome: 'accepted' });
    const [refused] = await new Device(server, registrar2).push(
      action({ type: 'ASSIGN', recordId, assignee: registrar2.user.id }),
    );
    expect(refused).toMatchObject({ outcome: 'rejected', code: 'ALREADY_ASSIGNED' });
    const [reassigned] = await new Device(server, supervisor).push(
      action({ type: 'ASSIGN', recordId, assignee: registrar2.user.id }),
    );
    expect(reassigned).toMatchObject({ outcome: 'accepted' });
    expect((await record(recordId)).record.assignedTo).toBe(registrar2.user.id);
  });

  it('registers with a number from the configured pattern and unassigns the registrar', async () => {
    const recordId = await declaredBirth();
    const device = new Device(server, registrar);
    const results = await device.push(
      action({ type: 'ASSIGN', recordId, assignee: registrar.user.id }),
      action({ type: 'VALIDATE', recordId }),
      action({ type: 'REGISTER', recordId }),
    );
    expect(results.map((r) => r.outcome)).toEqual(['accepted', 'accepted', 'accepted']);
    const year = new Date().getUTCFullYear();
    expect(results[2]?.registrationNumber).toMatch(new RegExp(`^B(${year}|${year + 1})IBO\\d{6}$`));
    const { record: state } = await record(recordId);
    expect(state).toMatchObject({
      status: 'REGISTERED',
      registrationNumber: results[2]?.registrationNumber,
      assignedTo: null,
      flags: ['validated'],
    });
    expect(state.registered?.by).toBe(registrar.user.id);
  });

  it('sends a rejected record back: flag rejected, REGISTER refused until declared again', async () => {
    const recordId = await declaredBirth();
    const device = new Device(server, registrar);
    const results = await device.push(
      action({ type: 'ASSIGN', recordId, assignee: registrar.user.id }),
      action({ type: 'REJECT', recordId, annotation: { reason: 'mother surname misspelt' } }),
    );
    expect(results.map((r) => r.outcome)).toEqual(['accepted', 'accepted']);
    expect((await record(recordId)).record.flags).toEqual(['rejected']);
    const again = await device.push(
      action({ type: 'ASSIGN', recordId, assignee: registrar.user.id }),
      action({ type: 'REGISTER', recordId }),
    );
    expect(again.map((r) => r.code)).toEqual([null, 'INVALID_TRANSITION']);
  });
});

describe('maker-checker', () => {
  it('keeps a correction requested until another registrar approves it, with the approval on top', async () => {
    const recordId = await declaredBirth();
    const maker = new Device(server, registrar);
    await maker.push(
      action({ type: 'ASSIGN', recordId, assignee: registrar.user.id }),
      action({ type: 'REGISTER', recordId }),
    );
    const [assign, correct] = await maker.push(
      action({ type: 'ASSIGN', recordId, assignee: registrar.user.id }),
      action({
        type: 'CORRECT',
        recordId,
        declaration: { 'child.firstName': 'Amma', 'mother.surname': 'Phiri' },
      }),
    );
    expect(assign?.outcome).toBe('accepted');
    expect(correct).toMatchObject({ outcome: 'requested' });
    let state = (await record(recordId)).record;
    expect(state.declaration['child.firstName']).toBe('Ama');
    expect(state.flags).toEqual(['correct:requested']);
    expect(state.pending).toEqual([
      { id: correct?.id, type: 'CORRECT', requestedBy: registrar.user.id, seq: correct?.seq },
    ]);

    // The maker cannot decide their own request.
    const [self] = await maker
      .push(
        action({ type: 'ASSIGN', recordId, assignee: registrar.user.id }),
        action({ type: 'APPROVE', recordId, requestId: correct?.id as string }),
      )
      .then((r) => r.slice(1));
    expect(self).toMatchObject({ outcome: 'rejected', code: 'SELF_APPROVAL' });
    const [released] = await maker.push(action({ type: 'UNASSIGN', recordId }));
    expect(released?.outcome).toBe('accepted');

    const checker = new Device(server, registrar2);
    const results = await checker.push(
      action({ type: 'ASSIGN', recordId, assignee: registrar2.user.id }),
      action({
        type: 'APPROVE',
        recordId,
        requestId: correct?.id as string,
        declaration: { 'child.firstName': 'Ama Grace' },
      }),
    );
    expect(results.map((r) => [r.outcome, r.code])).toEqual([
      ['accepted', null],
      ['accepted', null],
    ]);
    state = (await record(recordId)).record;
    expect(state.declaration).toMatchObject({
      'child.firstName': 'Ama Grace',
      'mother.surname': 'Phiri',
    });
    expect(state.flags).toEqual([]);
    expect(state.pending).toEqual([]);
  });

  it('ends a declined request without effect and shows correct:declined', async () => {
    const recordId = await declaredBirth();
    const maker = new Device(server, registrar);
    await maker.push(
      action({ type: 'ASSIGN', recordId, assignee: registrar.user.id }),
      action({ type: 'REGISTER', recordId }),
    );
    const [, correct] = await maker.push(
      action({ type: 'ASSIGN', recordId, assignee: registrar.user.id }),
      action({ type: 'CORRECT', recordId, declaration: { 'child.firstName': 'Wrong' } }),
    );
    const checker = new Device(server, registrar2);
    const [, declined] = await checker.push(
      action({ type: 'ASSIGN', recordId, assignee: registrar2.user.id }),
      action({
        type: 'DECLINE',
        recordId,
        requestId: correct?.id as string,
        annotation: { reason: 'no evidence' },
      }),
    );
    expect(declined?.outcome).toBe('accepted');
    const state = (await record(recordId)).record;
    expect(state.declaration['child.firstName']).toBe('Ama');
    expect(state.flags).toEqual(['correct:declined']);
  });

  it('accepts no other action while a request is pending', async () => {
    const recordId = await declaredBirth();
    const maker = new Device(server, registrar);
    await maker.push(
      action({ type: 'ASSIGN', recordId, assignee: registrar.user.id }),
      action({ type: 'REGISTER', recordId }),
    );
    const results = await maker.push(
      action({ type: 'ASSIGN', recordId, assignee: registrar.user.id }),
      action({ type: 'CORRECT', recordId, declaration: { 'child.firstName': 'Once' } }),
      action({ type: 'ASSIGN', recordId, assignee: registrar.user.id }),
      action({
        type: 'PRINT_CERTIFICATE',
        recordId,
        annotation: {
          templateId: 'birth-certificate',
          collector: {
            relationship: 'mother',
            name: 'A. Banda',
            idType: 'NID',
            idNumber: '1234567890',
          },
        },
      }),
    );
    expect(results.map((r) => [r.outcome, r.code])).toEqual([
      ['accepted', null],
      ['requested', null],
      ['accepted', null],
      ['rejected', 'INVALID_TRANSITION'],
    ]);
  });
});

describe('jurisdiction', () => {
  it('answers 404 to agent.far for a record of office A, and refuses their writes as NOT_FOUND', async () => {
    const recordId = await declaredBirth();
    const far = await server.login('agent.far');
    const response = await server.request('GET', `/api/v1/records/${recordId}`, {
      token: far.token,
    });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: 'NOT_FOUND' });
    const list = await server.request(
      'GET',
      `/api/v1/records?trackingId=${(await record(recordId)).record.trackingId}`,
      {
        token: far.token,
      },
    );
    expect(((await list.json()) as { results: unknown[] }).results).toEqual([]);
    const [result] = await new Device(server, far).push(
      action({ type: 'ASSIGN', recordId, assignee: far.user.id }),
    );
    expect(result).toMatchObject({ outcome: 'rejected', code: 'NOT_FOUND', seq: null });
  });
});
