import {
  decideAction,
  foldLog,
  loadConfiguration,
  loadConfigurationOrThrow,
  queueHolds,
  queueOrder,
  queuesOf,
  type Action,
  type RecordFold,
  type RecordState,
} from '@registra/core';
import { describe, expect, it } from 'vitest';
import { AGENT, civil, create, entry, example, RECORD, REGISTRAR } from './fixtures.js';

const clinic = loadConfigurationOrThrow(example('clinic'));
const NOW = new Date('2026-11-02T12:00:00.000Z');

function birth(...later: Parameters<typeof entry>[1][]): RecordState {
  const log = [create(), ...later.map((fields, i) => entry(i + 2, fields))];
  return (foldLog(log, civil.recordTypes.get('birth')) as RecordFold).record;
}

describe('queueHolds: a work queue is one rule for the server and the device', () => {
  const declared = birth({ type: 'DECLARE', declaration: { 'child.firstName': 'Ama' } });

  it('matches statuses, flags (all, any, none), assignment, creator, printing and requests', () => {
    expect(queueHolds({ statuses: ['DECLARED'] }, declared, AGENT)).toBe(true);
    expect(queueHolds({ statuses: ['REGISTERED'] }, declared, AGENT)).toBe(false);
    const rejected = birth(
      { type: 'DECLARE' },
      { type: 'ASSIGN', assignee: REGISTRAR },
      { type: 'REJECT', annotation: { reason: 'x' }, createdBy: REGISTRAR },
    );
    expect(queueHolds({ flags: { all: ['rejected'] } }, rejected, AGENT)).toBe(true);
    expect(queueHolds({ flags: { none: ['rejected'] } }, rejected, AGENT)).toBe(false);
    expect(queueHolds({ flags: { any: ['conflict', 'rejected'] } }, rejected, AGENT)).toBe(true);
    expect(queueHolds({ flags: { any: ['conflict'] } }, rejected, AGENT)).toBe(false);
    expect(queueHolds({ assigned: 'me' }, rejected, REGISTRAR)).toBe(true);
    expect(queueHolds({ assigned: 'me' }, rejected, AGENT)).toBe(false);
    expect(queueHolds({ assigned: 'anyone' }, rejected, AGENT)).toBe(true);
    expect(queueHolds({ assigned: 'nobody' }, declared, AGENT)).toBe(false);
    expect(queueHolds({ assigned: 'nobody' }, { ...declared, assignedTo: null }, AGENT)).toBe(true);
    expect(queueHolds({ createdByMe: true }, declared, AGENT)).toBe(true);
    expect(queueHolds({ createdByMe: true }, declared, REGISTRAR)).toBe(false);
    expect(queueHolds({ printed: false }, declared, AGENT)).toBe(true);
    expect(queueHolds({ printed: true }, declared, AGENT)).toBe(false);
    expect(queueHolds({ pendingRequest: true }, declared, AGENT)).toBe(false);
    expect(queueHolds({ recordTypes: ['death'] }, declared, AGENT)).toBe(false);
    expect(queueHolds({}, declared, AGENT)).toBe(true);
  });

  it('gives each role of the example the queues it needs: no printing for a field agent', () => {
    const ids = (role: string) => queuesOf(civil, role).map((q) => q.id);
    expect(ids('field-agent')).not.toContain('ready-to-print');
    expect(ids('registrar')).toEqual(
      expect.arrayContaining(['ready-to-print', 'sent-for-approval', 'requires-updates']),
    );
    const print = civil.document.workqueues.find((q) => q.id === 'ready-to-print');
    const registered = { ...declared, status: 'REGISTERED' as const };
    expect(queueHolds(print!.filter, registered, REGISTRAR)).toBe(true);
    expect(queueHolds(print!.filter, { ...registered, printCount: 1 }, REGISTRAR)).toBe(false);
  });

  it('orders newest first by default, the id breaking ties', () => {
    const a = { ...declared, id: 'a', updatedAt: '2026-11-01T00:00:00.000Z' };
    const b = { ...declared, id: 'b', updatedAt: '2026-11-02T00:00:00.000Z' };
    const c = { ...declared, id: 'c', updatedAt: '2026-11-02T00:00:00.000Z' };
    expect([a, b, c].sort(queueOrder('-updatedAt')).map((r) => r.id)).toEqual(['c', 'b', 'a']);
    expect([c, b, a].sort(queueOrder('updatedAt')).map((r) => r.id)).toEqual(['a', 'b', 'c']);
  });

  it('refuses queues naming unknown roles or record types', () => {
    const document = structuredClone(example('civil-registry')) as Record<string, unknown>;
    document['workqueues'] = [
      { id: 'x', label: 'X', roles: ['nobody'], filter: { recordTypes: ['ghost'] } },
    ];
    const result = loadConfiguration(document);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors.map((e) => e.path)).toEqual([
      'workqueues.0.roles.0',
      'workqueues.0.filter.recordTypes.0',
    ]);
  });
});

describe('a location field limited to the jurisdiction (the clinic books in its district)', () => {
  const receptionist = clinic.principal({
    id: AGENT,
    role: 'receptionist',
    officeId: 'ibombo-clinic',
  });
  const context = {
    config: clinic,
    principal: receptionist,
    now: NOW,
    record: () => null,
    assignee: () => null,
    file: () => undefined,
  };
  const fold = foldLog(
    [entry(1, { type: 'CREATE', recordType: 'appointment', createdAtLocation: 'ibombo-clinic' })],
    clinic.recordTypes.get('appointment'),
  );
  const book = (facility: string): Action => ({
    id: '0193a000-0000-7000-8000-000000000f01',
    recordId: RECORD,
    type: 'UPDATE',
    occurredAt: '2026-11-02T11:00:00.000Z',
    declaration: { 'appointment.facility': facility, 'appointment.time': '09:30' },
  });

  it('accepts a facility of the person’s district', () => {
    expect(decideAction(fold, book('ibombo-clinic'), context).outcome).toBe('accepted');
  });

  it('refuses one outside it, naming the field', () => {
    expect(decideAction(fold, book('ilanga-clinic'), context)).toMatchObject({
      outcome: 'rejected',
      code: 'INVALID_DECLARATION',
      errors: [
        { path: 'appointment.facility', message: 'must be a place within your jurisdiction' },
      ],
    });
  });

  it('takes times of day as HH:MM only', () => {
    const late = { ...book('ibombo-clinic'), declaration: { 'appointment.time': '9:30' } };
    expect(decideAction(fold, late, context)).toMatchObject({
      outcome: 'rejected',
      errors: [{ path: 'appointment.time', message: 'must be a time (HH:MM)' }],
    });
  });
});
