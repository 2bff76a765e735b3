import {
  ALLOWED_BY_STATUS,
  allowedActions,
  checkAction,
  foldRecord,
  RECORD_STATUSES,
  type ActionType,
  type Principal,
  type RecordState,
  type RecordStatus,
  type RecordTypeConfig,
  type RegistryConfig,
} from '@registra/core';
import { describe, expect, it } from 'vitest';
import {
  AGENT,
  AGENT_FAR,
  BIRTH,
  birth,
  civil,
  create,
  entry,
  household,
  registry,
  REGISTRAR,
  REGISTRAR2,
  SUPERVISOR,
} from './fixtures.js';

// The civil registry's demo users (examples/civil-registry/users.json), as the rules see them.
const agent = civil.principal({ id: AGENT, role: 'field-agent', officeId: 'ibombo-office' });
const agentFar = civil.principal({ id: AGENT_FAR, role: 'field-agent', officeId: 'ilanga-office' });
const registrar = civil.principal({ id: REGISTRAR, role: 'registrar', officeId: 'ibombo-office' });
const registrar2 = civil.principal({
  id: REGISTRAR2,
  role: 'registrar',
  officeId: 'ibombo-office',
});
const supervisor = civil.principal({
  id: SUPERVISOR,
  role: 'supervisor',
  officeId: 'ibombo-office',
});

/** Someone who holds every permission of a configuration, anywhere. */
const everyone = (config: RegistryConfig): Principal => ({
  id: REGISTRAR,
  role: 'all',
  officeId: 'ibombo-office',
  grants: Object.fromEntries(config.document.permissions.map((p) => [p.id, null])),
});

const rules = (principal: Principal, recordType: RecordTypeConfig = birth) => ({
  recordType,
  principal,
  locations: recordType === birth ? civil.locations : registry.locations,
});

/** A birth record created by AGENT at ibombo-office, in a status, assigned, with flags. */
function record(
  status: RecordStatus,
  assignedTo: string | null,
  flags: string[] = [],
  recordType: RecordTypeConfig = birth,
): RecordState {
  const state = foldRecord([create(recordType.id)], recordType) as RecordState;
  return { ...state, status, assignedTo, flags };
}

/** The allowed actions other than ASSIGN/UNASSIGN, CUSTOM ones as CUSTOM:<id>, sorted. */
function allowed(state: RecordState, principal: Principal, recordType: RecordTypeConfig = birth) {
  const locations = recordType === birth ? civil.locations : registry.locations;
  return allowedActions(state, recordType, principal, locations)
    .filter((a) => a.verdict.allowed && a.type !== 'ASSIGN' && a.type !== 'UNASSIGN')
    .map((a) => (a.type === 'CUSTOM' ? `CUSTOM:${a.customType}` : a.type))
    .sort();
}

/** PROTOCOL 5.4's table, verbatim. */
const TABLE: Record<RecordStatus, ActionType[]> = {
  CREATED: ['NOTIFY', 'DECLARE', 'UPDATE', 'ARCHIVE', 'CUSTOM'],
  NOTIFIED: ['DECLARE', 'UPDATE', 'REJECT', 'ARCHIVE', 'CUSTOM'],
  DECLARED: ['VALIDATE', 'UPDATE', 'REGISTER', 'REJECT', 'ARCHIVE', 'CUSTOM'],
  REGISTERED: ['PRINT_CERTIFICATE', 'CORRECT', 'CUSTOM'],
  ARCHIVED: [],
};

/** What the table says for a record type whose only unrestricted CUSTOM action is NOTE. */
const expected = (status: RecordStatus, rejected: boolean, custom: string[]) =>
  TABLE[status]
    .filter((type) => !(rejected && (type === 'REGISTER' || type === 'VALIDATE')))
    .flatMap((type) => (type === 'CUSTOM' ? custom : [type]))
    .sort();

describe('allowed actions (PROTOCOL 5.4)', () => {
  it('exports the table of PROTOCOL 5.4', () => {
    expect(ALLOWED_BY_STATUS).toEqual(TABLE);
  });

  describe.each([false, true])('with rejected: %s', (rejected) => {
    const flags = rejected ? ['rejected'] : [];

    it.each(RECORD_STATUSES)('allows in %s what the table says (assignment mode)', (status) => {
      const principal = everyone(civil);
      // Birth offers no CUSTOM action: CUSTOM is never allowed on it.
      expect(allowed(record(status, principal.id, flags), principal)).toEqual(
        expected(status, rejected, []),
      );
    });

    it.each(RECORD_STATUSES)('allows in %s what the table says (merge mode)', (status) => {
      const state = record(status, null, flags, household);
      const custom = ['CUSTOM:NOTE'];
      if (status === 'DECLARED' || status === 'REGISTERED') custom.push('CUSTOM:VERIFY');
      expect(allowed(state, everyone(registry), household)).toEqual(
        expected(status, rejected, custom),
      );
    });

    it.each(RECORD_STATUSES)('says why each other action is refused in %s', (status) => {
      const principal = everyone(civil);
      const refused = allowedActions(
        record(status, principal.id, flags),
        birth,
        principal,
        civil.locations,
      ).filter((a) => !a.verdict.allowed);
      for (const action of refused) {
        expect(action.verdict).toMatchObject({ allowed: false, code: 'INVALID_TRANSITION' });
      }
    });
  });

  it('applies a CUSTOM action’s own statuses and flags on top of the table', () => {
    const principal = everyone(registry);
    const check = (state: RecordState, customType: string) =>
      checkAction(state, { type: 'CUSTOM', customType }, rules(principal, household));
    expect(check(record('CREATED', null, [], household), 'VERIFY')).toMatchObject({
      code: 'INVALID_TRANSITION',
    });
    expect(check(record('DECLARED', null, [], household), 'VERIFY')).toEqual({ allowed: true });
    expect(check(record('DECLARED', null, ['verified'], household), 'VERIFY')).toMatchObject({
      code: 'INVALID_TRANSITION',
    });
    expect(check(record('DECLARED', null, [], household), 'UNVERIFY')).toMatchObject({
      code: 'INVALID_TRANSITION',
    });
    expect(check(record('DECLARED', null, ['verified'], household), 'UNVERIFY')).toEqual({
      allowed: true,
    });
    expect(check(record('CREATED', null, ['conflict'], household), 'RESOLVE_CONFLICT')).toEqual({
      allowed: true,
    });
    expect(check(record('ARCHIVED', null, ['conflict'], household), 'NOTE')).toMatchObject({
      code: 'INVALID_TRANSITION',
    });
  });

  it('allows ASSIGN and UNASSIGN in every status but ARCHIVED', () => {
    for (const status of RECORD_STATUSES) {
      const verdicts = allowedActions(
        record(status, SUPERVISOR),
        birth,
        supervisor,
        civil.locations,
      )
        .filter((a) => a.type === 'ASSIGN' || a.type === 'UNASSIGN')
        .map((a) => [a.type, a.verdict.allowed]);
      const open = status !== 'ARCHIVED';
      expect(verdicts).toEqual([
        ['ASSIGN', open],
        ['UNASSIGN', open],
      ]);
    }
  });

  describe('with a pending request', () => {
    const request = entry(
      3,
      { type: 'CORRECT', declaration: { 'child.firstName': 'X' }, createdBy: REGISTRAR },
      'requested',
    );
    const pending = foldRecord(
      [create(), entry(2, { type: 'REGISTER', declaration: BIRTH }), request],
      birth,
    ) as RecordState;
    const held = { ...pending, assignedTo: REGISTRAR2 };

    it('allows only the APPROVE and DECLINE of that request, and ASSIGN/UNASSIGN', () => {
      const all = allowedActions(held, birth, registrar2, civil.locations);
      expect(
        all
          .filter((a) => a.verdict.allowed)
          .map((a) => [a.type, a.requestId ?? null])
          .sort(),
      ).toEqual([
        ['APPROVE', request.id],
        ['ASSIGN', null],
        ['DECLINE', request.id],
        ['UNASSIGN', null],
      ]);
      // Even someone holding every permission gets nothing else.
      const principal = { ...everyone(civil), id: REGISTRAR2 };
      expect(allowed(held, principal)).toEqual(['APPROVE', 'DECLINE']);
      for (const type of ['PRINT_CERTIFICATE', 'CORRECT'] as const) {
        expect(checkAction(held, { type }, rules(principal))).toMatchObject({
          allowed: false,
          code: 'INVALID_TRANSITION',
        });
      }
    });

    it('refuses deciding a request that is not pending', () => {
      for (const type of ['APPROVE', 'DECLINE'] as const) {
        expect(
          checkAction(
            held,
            { type, requestId: entry(2, { type: 'REGISTER' }).id },
            rules(registrar2),
          ),
        ).toMatchObject({ allowed: false, code: 'INVALID_TRANSITION' });
        expect(checkAction(held, { type }, rules(registrar2))).toMatchObject({
          code: 'INVALID_TRANSITION',
        });
      }
    });

    it('refuses the requester deciding their own request: SELF_APPROVAL', () => {
      const own = { ...pending, assignedTo: REGISTRAR };
      for (const type of ['APPROVE', 'DECLINE'] as const) {
        expect(checkAction(own, { type, requestId: request.id }, rules(registrar))).toEqual({
          allowed: false,
          code: 'SELF_APPROVAL',
          message: expect.any(String),
        });
      }
      expect(
        checkAction(held, { type: 'APPROVE', requestId: request.id }, rules(registrar2)),
      ).toEqual({ allowed: true });
    });

    it('needs the approver permission to decide: FORBIDDEN', () => {
      const agentHeld = { ...pending, assignedTo: AGENT };
      expect(
        checkAction(agentHeld, { type: 'APPROVE', requestId: request.id }, rules(agent)),
      ).toMatchObject({ allowed: false, code: 'FORBIDDEN' });
    });

    it('in merge mode too, allows only deciding it', () => {
      const correction = entry(3, { type: 'CORRECT', createdBy: AGENT }, 'requested');
      const state = foldRecord(
        [create('household'), entry(2, { type: 'REGISTER' }), correction],
        household,
      ) as RecordState;
      const approver = { ...everyone(registry), id: REGISTRAR2 };
      expect(allowed(state, approver, household)).toEqual(['APPROVE', 'DECLINE']);
    });
  });

  describe('assignment mode (PROTOCOL 5.5)', () => {
    it('needs the record assigned to the writer: NOT_ASSIGNED', () => {
      for (const assignedTo of [null, REGISTRAR2]) {
        expect(
          checkAction(record('DECLARED', assignedTo), { type: 'REGISTER' }, rules(registrar)),
        ).toEqual({ allowed: false, code: 'NOT_ASSIGNED', message: expect.any(String) });
      }
      expect(
        checkAction(record('CREATED', REGISTRAR), { type: 'DECLARE' }, rules(agent)),
      ).toMatchObject({ code: 'NOT_ASSIGNED' });
      expect(
        checkAction(record('DECLARED', REGISTRAR), { type: 'REGISTER' }, rules(registrar)),
      ).toEqual({ allowed: true });
      // The creator is assigned by CREATE, so may declare at once.
      expect(checkAction(foldRecord([create()], birth), { type: 'DECLARE' }, rules(agent))).toEqual(
        { allowed: true },
      );
    });

    it('does not assign in merge mode: anyone permitted may write', () => {
      expect(
        checkAction(
          record('CREATED', null, [], household),
          { type: 'UPDATE' },
          rules(everyone(registry), household),
        ),
      ).toEqual({ allowed: true });
      expect(
        checkAction(
          record('CREATED', null, [], household),
          { type: 'ASSIGN' },
          rules(everyone(registry), household),
        ),
      ).toMatchObject({ code: 'INVALID_TRANSITION' });
    });

    it('lets a person take an unassigned record, and give it back', () => {
      expect(checkAction(record('DECLARED', null), { type: 'ASSIGN' }, rules(registrar))).toEqual({
        allowed: true,
      });
      expect(
        checkAction(record('DECLARED', REGISTRAR), { type: 'UNASSIGN' }, rules(registrar)),
      ).toEqual({ allowed: true });
      expect(
        checkAction(record('DECLARED', null), { type: 'UNASSIGN' }, rules(registrar)),
      ).toMatchObject({ code: 'INVALID_TRANSITION' });
    });

    it('refuses taking a record assigned to someone else without reassign: ALREADY_ASSIGNED', () => {
      const held = record('DECLARED', REGISTRAR2);
      expect(checkAction(held, { type: 'ASSIGN', assignee: REGISTRAR }, rules(registrar))).toEqual({
        allowed: false,
        code: 'ALREADY_ASSIGNED',
        message: expect.any(String),
      });
      expect(checkAction(held, { type: 'ASSIGN' }, rules(registrar))).toMatchObject({
        code: 'ALREADY_ASSIGNED',
      });
      expect(checkAction(held, { type: 'UNASSIGN' }, rules(registrar))).toMatchObject({
        code: 'ALREADY_ASSIGNED',
      });
    });

    it('lets the reassign permission take, give and clear anyone’s assignment', () => {
      const held = record('DECLARED', REGISTRAR2);
      for (const intent of [
        { type: 'ASSIGN', assignee: REGISTRAR },
        { type: 'ASSIGN', assignee: SUPERVISOR },
        { type: 'ASSIGN' },
        { type: 'UNASSIGN' },
      ] as const) {
        expect(checkAction(held, intent, rules(supervisor))).toEqual({ allowed: true });
      }
    });

    it('refuses assigning to someone else without reassign: FORBIDDEN', () => {
      expect(
        checkAction(
          record('DECLARED', null),
          { type: 'ASSIGN', assignee: REGISTRAR2 },
          rules(registrar),
        ),
      ).toMatchObject({ allowed: false, code: 'FORBIDDEN' });
    });
  });

  describe('permissions and jurisdiction', () => {
    it('refuses an action the role does not hold: FORBIDDEN', () => {
      expect(
        checkAction(record('DECLARED', AGENT), { type: 'REGISTER' }, rules(agent)),
      ).toMatchObject({ allowed: false, code: 'FORBIDDEN' });
      expect(checkAction(null, { type: 'CREATE' }, rules(registrar))).toMatchObject({
        code: 'FORBIDDEN',
      });
      expect(
        checkAction(record('CREATED', SUPERVISOR), { type: 'UPDATE' }, rules(supervisor)),
      ).toMatchObject({ code: 'FORBIDDEN' });
    });

    it('refuses a holder of the permission outside their jurisdiction: FORBIDDEN', () => {
      // agent.far is a field agent at ilanga-office (Sulaka); the record was made at ibombo-office.
      const far = record('CREATED', AGENT_FAR);
      for (const type of ['UPDATE', 'DECLARE', 'NOTIFY', 'ASSIGN'] as const) {
        expect(checkAction(far, { type }, rules(agentFar))).toEqual({
          allowed: false,
          code: 'FORBIDDEN',
          message: expect.any(String),
        });
      }
      expect(
        allowedActions(far, birth, agentFar, civil.locations).filter((a) => a.verdict.allowed),
      ).toEqual([]);
      // The same actions by the local agent, holding the record, are allowed.
      expect(checkAction(record('CREATED', AGENT), { type: 'UPDATE' }, rules(agent))).toEqual({
        allowed: true,
      });
      // And agent.far creates records at their own office.
      expect(checkAction(null, { type: 'CREATE' }, rules(agentFar))).toEqual({ allowed: true });
    });

    it('offers only CREATE before the record exists', () => {
      expect(
        allowedActions(null, birth, agent, civil.locations).map((a) => [a.type, a.verdict]),
      ).toEqual([['CREATE', { allowed: true }]]);
      expect(checkAction(null, { type: 'DECLARE' }, rules(agent))).toMatchObject({
        code: 'INVALID_TRANSITION',
      });
      expect(checkAction(record('CREATED', AGENT), { type: 'CREATE' }, rules(agent))).toMatchObject(
        { code: 'INVALID_TRANSITION' },
      );
    });

    it('refuses what the record type does not offer: INVALID_TRANSITION', () => {
      expect(
        checkAction(
          record('DECLARED', REGISTRAR),
          { type: 'CUSTOM', customType: 'NOPE' },
          rules(registrar),
        ),
      ).toMatchObject({ allowed: false, code: 'INVALID_TRANSITION' });
      expect(
        checkAction(
          record('DECLARED', REGISTRAR2),
          { type: 'CUSTOM', customType: 'VERIFY' },
          rules(registrar),
        ),
      ).toMatchObject({ code: 'INVALID_TRANSITION' });
    });
  });
});
