import {
  ActionSchema,
  decideAction,
  foldLog,
  loadConfigurationOrThrow,
  MAX_ACTION_BYTES,
  type Action,
  type DecisionContext,
  type Principal,
  type RecordFold,
  type RecordHead,
} from '@registra/core';
import { describe, expect, it } from 'vitest';
import {
  AGENT,
  AGENT_FAR,
  BIRTH,
  BIRTH_REQUIRED,
  civil,
  create,
  entry,
  example,
  RECORD,
  REGISTRAR,
} from './fixtures.js';

const agent = civil.principal({ id: AGENT, role: 'field-agent', officeId: 'ibombo-office' });
const registrar = civil.principal({ id: REGISTRAR, role: 'registrar', officeId: 'ibombo-office' });
const agentFar = civil.principal({ id: AGENT_FAR, role: 'field-agent', officeId: 'ilanga-office' });
const NOW = new Date('2026-11-02T12:00:00.000Z');

function context(principal: Principal, extra: Partial<DecisionContext> = {}): DecisionContext {
  return {
    config: civil,
    principal,
    now: NOW,
    record: () => null,
    assignee: () => null,
    file: () => null,
    ...extra,
  };
}

let next = 100;
function action(fields: Partial<Action> & Pick<Action, 'type'>): Action {
  next += 1;
  return {
    id: `0193a000-0000-7000-8000-${String(next).padStart(12, '0')}`,
    recordId: RECORD,
    occurredAt: '2026-11-02T11:00:00.000Z',
    ...fields,
  };
}

/** A birth created by the agent and assigned to them, with the given entries after. */
function birthFold(...later: Parameters<typeof entry>[1][]): RecordFold {
  const log = [create(), ...later.map((fields, i) => entry(i + 2, fields))];
  return foldLog(log, civil.recordTypes.get('birth')) as RecordFold;
}

describe('decideAction: the declaration is always checked', () => {
  it('refuses a DECLARE without a declaration key when required fields are missing', () => {
    const decision = decideAction(birthFold(), action({ type: 'DECLARE' }), context(agent));
    expect(decision).toMatchObject({
      outcome: 'rejected',
      stored: true,
      code: 'INVALID_DECLARATION',
    });
    expect(decision.outcome === 'rejected' && decision.errors?.map((e) => e.path)).toEqual(
      BIRTH_REQUIRED,
    );
  });

  it('refuses a bare REGISTER after an UPDATE emptied a required field', () => {
    const fold = birthFold(
      { type: 'DECLARE', declaration: BIRTH },
      { type: 'ASSIGN', assignee: REGISTRAR },
      { type: 'UPDATE', declaration: { 'child.firstName': null }, createdBy: REGISTRAR },
    );
    expect(fold.record.declaration['child.firstName']).toBeUndefined();
    const decision = decideAction(fold, action({ type: 'REGISTER' }), context(registrar));
    expect(decision).toMatchObject({ outcome: 'rejected', code: 'INVALID_DECLARATION' });
    expect(decision.outcome === 'rejected' && decision.errors).toEqual([
      { path: 'child.firstName', message: 'is required' },
    ]);
  });

  it('accepts a bare REGISTER of a complete declaration, and asks for a number and an unassign', () => {
    const fold = birthFold(
      { type: 'DECLARE', declaration: BIRTH },
      { type: 'ASSIGN', assignee: REGISTRAR },
    );
    expect(decideAction(fold, action({ type: 'REGISTER' }), context(registrar))).toMatchObject({
      outcome: 'accepted',
      register: true,
      unassign: true,
    });
  });
});

describe('decideAction: occurredAt is bounded (PROTOCOL 7)', () => {
  it('refuses an action more than 5 minutes ahead of the clock, unstored', () => {
    const ahead = action({ type: 'UPDATE', occurredAt: '2026-11-02T12:05:01.000Z' });
    expect(decideAction(birthFold(), ahead, context(agent))).toMatchObject({
      outcome: 'rejected',
      stored: false,
      code: 'INVALID_INPUT',
      errors: [{ path: 'occurredAt' }],
    });
    const justInside = action({ type: 'UPDATE', occurredAt: '2026-11-02T12:04:59.000Z' });
    expect(decideAction(birthFold(), justInside, context(agent)).outcome).toBe('accepted');
  });

  it('refuses one older than maxOfflineDays, which is what keeps notPast honest', () => {
    const old = action({ type: 'UPDATE', occurredAt: '2026-08-03T11:59:00.000Z' }); // 91 days
    expect(decideAction(birthFold(), old, context(agent))).toMatchObject({
      outcome: 'rejected',
      code: 'INVALID_INPUT',
      message: expect.stringContaining('90 days'),
    });
    const shorter = loadConfigurationOrThrow({
      ...(example('civil-registry') as object),
      maxOfflineDays: 7,
    });
    const week = action({ type: 'UPDATE', occurredAt: '2026-10-25T11:00:00.000Z' });
    expect(decideAction(birthFold(), week, context(agent, { config: shorter }))).toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining('7 days'),
    });
  });
});

describe('decideAction: assignees and references', () => {
  const declared = () => birthFold({ type: 'DECLARE', declaration: BIRTH }, { type: 'UNASSIGN' });
  const supervisor = civil.principal({ id: 'sup', role: 'supervisor', officeId: 'ibombo-office' });

  it('refuses to assign a record to someone who may not act on it there: INVALID_ASSIGNEE, stored', () => {
    const assign = action({ type: 'ASSIGN', assignee: AGENT_FAR });
    const decision = decideAction(
      declared(),
      assign,
      context(supervisor, { assignee: (id) => (id === AGENT_FAR ? agentFar : null) }),
    );
    expect(decision).toMatchObject({ outcome: 'rejected', stored: true, code: 'INVALID_ASSIGNEE' });
    const toRegistrar = action({ type: 'ASSIGN', assignee: REGISTRAR });
    expect(
      decideAction(declared(), toRegistrar, context(supervisor, { assignee: () => registrar })),
    ).toMatchObject({ outcome: 'accepted' });
    // A user who is not active (or does not exist) is malformed input, not stored.
    expect(decideAction(declared(), toRegistrar, context(supervisor))).toMatchObject({
      stored: false,
      code: 'INVALID_INPUT',
    });
    // A device cannot tell: the server decides.
    expect(
      decideAction(declared(), assign, context(supervisor, { assignee: () => undefined })).outcome,
    ).toBe('accepted');
  });

  it('checks references against what the context knows, and leaves the unknown to the server', () => {
    const social = loadConfigurationOrThrow(example('social-registry'));
    const enumerator = social.principal({
      id: AGENT,
      role: 'enumerator',
      officeId: 'ibombo-office',
    });
    const individual = foldLog(
      [{ ...create('individual') }],
      social.recordTypes.get('individual'),
    ) as RecordFold;
    const household = '0193a000-0000-7000-8000-00000000beef';
    const update = action({ type: 'UPDATE', declaration: { 'person.household': household } });
    const on = (record: DecisionContext['record']) =>
      decideAction(individual, update, { ...context(enumerator), config: social, record });
    const head = (type: string, createdAtLocation = 'ibombo-office'): RecordHead => ({
      id: household,
      type,
      createdAtLocation,
      assignedTo: null,
    });
    expect(on(() => head('household')).outcome).toBe('accepted');
    expect(on(() => undefined).outcome).toBe('accepted');
    for (const missing of [
      () => null,
      () => head('individual'),
      () => head('household', 'ilanga-office'),
    ]) {
      expect(on(missing)).toMatchObject({
        code: 'INVALID_DECLARATION',
        errors: [
          { path: 'person.household', message: 'must be the id of a household record you can see' },
        ],
      });
    }
  });
});

describe('ActionSchema: sizes (PROTOCOL 7)', () => {
  it('refuses an action over 64 KiB and an annotation over 16 KiB, saying how big they were', () => {
    const big = action({ type: 'UPDATE', declaration: { 'child.firstName': 'é'.repeat(40_000) } });
    const parsed = ActionSchema.safeParse(big);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(
      /the action is 79 KiB serialized; at most 64 KiB/,
    );
    const note = action({ type: 'UPDATE', annotation: { note: 'x'.repeat(17 * 1024) } });
    const annotated = ActionSchema.safeParse(note);
    expect(annotated.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['annotation', 'the annotation is 18 KiB serialized; at most 16 KiB is accepted'],
    ]);
    const fits = action({ type: 'UPDATE', annotation: { note: 'x'.repeat(16 * 1024 - 20) } });
    expect(ActionSchema.safeParse(fits).success).toBe(true);
    expect(MAX_ACTION_BYTES).toBe(65_536);
  });
});

describe('decideAction: files (PROTOCOL 9)', () => {
  const photo = {
    sha256: 'a'.repeat(64),
    name: 'proof.jpg',
    type: 'image/jpeg',
    size: 183_204,
  };
  const held = { type: 'image/jpeg', size: 183_204 };

  it('refuses a file the server does not hold with FILE_MISSING, stored, at the field', () => {
    const decision = decideAction(
      birthFold(),
      action({ type: 'DECLARE', declaration: { ...BIRTH, 'documents.proofOfBirth': photo } }),
      context(agent, { file: () => null }),
    );
    expect(decision).toMatchObject({ outcome: 'rejected', stored: true, code: 'FILE_MISSING' });
    expect(decision.outcome === 'rejected' && decision.errors).toEqual([
      { path: 'documents.proofOfBirth', message: expect.stringMatching(/upload it/) },
    ]);
  });

  it('does not store a CREATE that names a missing file: there is no record yet', () => {
    const decision = decideAction(
      null,
      action({
        type: 'CREATE',
        recordType: 'birth',
        declaration: { 'documents.motherId': photo },
      }),
      context(agent, { file: () => null }),
    );
    expect(decision).toMatchObject({ outcome: 'rejected', stored: false, code: 'FILE_MISSING' });
  });

  it('accepts a held file, and leaves a file it cannot tell about to the server', () => {
    const declare = action({
      type: 'DECLARE',
      declaration: { ...BIRTH, 'documents.proofOfBirth': photo },
    });
    expect(decideAction(birthFold(), declare, context(agent, { file: () => held })).outcome).toBe(
      'accepted',
    );
    expect(
      decideAction(birthFold(), declare, context(agent, { file: () => undefined })).outcome,
    ).toBe('accepted');
  });

  it('checks the declared type and size against the held bytes, not the claim', () => {
    const decision = decideAction(
      birthFold(),
      action({ type: 'DECLARE', declaration: { ...BIRTH, 'documents.proofOfBirth': photo } }),
      context(agent, { file: () => ({ type: 'application/pdf', size: 10 }) }),
    );
    expect(decision).toMatchObject({ code: 'INVALID_DECLARATION', stored: true });
    expect(decision.outcome === 'rejected' && decision.errors?.map((e) => e.path)).toEqual([
      'documents.proofOfBirth.type',
      'documents.proofOfBirth.size',
    ]);
  });

  it("validates the value's shape, `accept` and `maxBytes` before asking for the file", () => {
    let asked = 0;
    const decision = decideAction(
      birthFold(),
      action({
        type: 'UPDATE',
        declaration: {
          'documents.proofOfBirth': { ...photo, type: 'image/gif', size: 6 * 1024 * 1024 },
          'documents.motherId': { hash: 'x' },
        },
      }),
      context(agent, { file: () => (asked++, null) }),
    );
    expect(decision).toMatchObject({ code: 'INVALID_DECLARATION' });
    expect(decision.outcome === 'rejected' && decision.errors?.map((e) => e.path).sort()).toEqual([
      'documents.motherId.hash',
      'documents.motherId.name',
      'documents.motherId.sha256',
      'documents.motherId.size',
      'documents.motherId.type',
      'documents.proofOfBirth.size',
      'documents.proofOfBirth.type',
    ]);
    expect(asked).toBe(0);
  });
});

describe('a confirmation for some roles only (maker-checker for bulk imports)', () => {
  const social = loadConfigurationOrThrow(example('social-registry'));
  const individual = social.recordTypes.get('individual');
  const created = foldLog(
    [entry(1, { type: 'CREATE', recordType: 'individual', createdAtLocation: 'ibombo-office' })],
    individual,
  ) as RecordFold;
  const declare = action({
    type: 'DECLARE',
    declaration: { 'person.firstName': 'Amina', 'person.surname': 'Banda' },
  });
  const decide = (role: string) =>
    decideAction(created, declare, {
      ...context(social.principal({ id: REGISTRAR, role, officeId: 'ibombo-office' })),
      config: social,
    });

  it('requests the DECLARE of a role the confirmation names, and accepts everyone else’s', () => {
    expect(decide('importer').outcome).toBe('requested');
    expect(decide('trusted-importer').outcome).toBe('accepted');
    expect(decide('enumerator').outcome).toBe('accepted');
  });

  it('refuses a configuration naming a role that does not exist', () => {
    const document = example('social-registry') as {
      recordTypes: { actions: { DECLARE: { confirmation: { roles: string[] } } } }[];
    };
    const [first] = document.recordTypes;
    if (first) first.actions.DECLARE.confirmation.roles = ['nobody'];
    expect(() => loadConfigurationOrThrow(document)).toThrow(/unknown role "nobody"/);
  });
});
