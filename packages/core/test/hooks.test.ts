import {
  checkAction,
  confirmationOf,
  decideAction,
  foldLog,
  hookPrincipal,
  loadConfiguration,
  loadConfigurationOrThrow,
  type Action,
  type DecisionContext,
  type Principal,
  type RecordTypeConfig,
  type RegistryConfig,
} from '@registra/core';
import { describe, expect, it } from 'vitest';
import { BIRTH, entry, example } from './fixtures.js';

const ON = { REGISTRA_RULES_URL: 'http://127.0.0.1:9/rules' };
const civilWith = (env: Record<string, string>) =>
  loadConfigurationOrThrow(example('civil-registry'), { env });
const birthOf = (config: RegistryConfig) => config.recordTypes.get('birth') as RecordTypeConfig;

function withHooks(hooks: unknown[], patch: (doc: Record<string, unknown>) => void = () => {}) {
  const doc = example('civil-registry') as Record<string, unknown>;
  doc['hooks'] = hooks;
  patch(doc);
  return loadConfiguration(doc, { env: ON });
}

describe('hooks in the configuration (PROTOCOL 8)', () => {
  it('makes REGISTER wait for the rules hook only while its URL is set', () => {
    expect(confirmationOf(birthOf(civilWith({})), 'REGISTER')).toBeUndefined();
    const on = civilWith(ON);
    expect(confirmationOf(birthOf(on), 'REGISTER')).toEqual({
      permission: 'record.register',
      hook: 'rules',
    });
    expect([...on.hooks.keys()]).toEqual(['rules']);
    expect(on.hooks.get('rules')?.url).toBe(ON.REGISTRA_RULES_URL);
    // Corrections keep their person's confirmation, with no hook.
    expect(confirmationOf(birthOf(on), 'CORRECT')).toEqual({ permission: 'record.approve' });
  });

  it('gives devices the behaviour and the hooks by name: no addresses, no secret names', () => {
    const on = civilWith({ ...ON, REGISTRA_EVENTS_URL: 'http://127.0.0.1:9/events' });
    expect(on.clientDocument.hooks.map((h) => [h.id, h.label, h.translations?.['fr']])).toEqual([
      ['rules', 'Civil registration rules', { label: 'Règles de l’état civil' }],
      ['events', 'National statistics feed', { label: 'Flux des statistiques nationales' }],
    ]);
    for (const hook of on.clientDocument.hooks) {
      expect(hook).not.toHaveProperty('url');
      expect(hook).not.toHaveProperty('urlEnv');
      expect(hook).not.toHaveProperty('secretEnv');
    }
    expect(JSON.stringify(on.clientDocument)).not.toContain('REGISTRA_RULES');
    const onDevice = loadConfigurationOrThrow(on.clientDocument);
    expect(confirmationOf(birthOf(onDevice), 'REGISTER')).toEqual({
      permission: 'record.register',
    });
    // The document as written is what the version names, whatever the environment.
    expect(on.document).toEqual(civilWith({}).document);
  });

  it('refuses hooks that cannot work, each with its path', () => {
    /** A hook on (an address and a secret), named by its id. */
    const hook = (id: string, rest: Record<string, unknown>) => ({
      id,
      label: id.toUpperCase(),
      url: 'http://x.test',
      secretEnv: 'S',
      ...rest,
    });
    // Well formed, but each wrong with the rest of the configuration.
    const crossWrong = [
      hook('a', { kind: 'confirm' }),
      hook('c', { kind: 'confirm', actions: ['ASSIGN'] }),
      hook('d', { kind: 'notify', recordTypes: ['cat'] }),
      hook('e', { kind: 'confirm', actions: ['REGISTER'] }),
      hook('f', { kind: 'confirm', actions: ['REGISTER'] }),
    ];
    const result = withHooks(
      [
        crossWrong[0],
        hook('b', { kind: 'notify', urlEnv: 'X' }), // url and urlEnv both
        ...crossWrong.slice(1),
        { id: 'g', label: 'G', kind: 'notify', url: 'http://x.test' },
        { id: 'h', kind: 'notify' },
      ],
      (doc) => {
        const birth = (doc['recordTypes'] as { actions: Record<string, object> }[])[0];
        if (birth) birth.actions['VALIDATE'] = { permission: 'record.validate', confirmation: {} };
      },
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const paths = result.errors.map((e) => e.path);
    expect(paths).toContain('hooks.1');
    expect(paths).toContain('hooks.6.secretEnv'); // an address, nothing to sign with
    expect(paths).toContain('hooks.7.label'); // people read hooks by name
    expect(paths).toContain('recordTypes.0.actions.VALIDATE.confirmation');
    const crossChecked = withHooks(crossWrong);
    expect(crossChecked.ok).toBe(false);
    if (crossChecked.ok) return;
    expect(crossChecked.errors.map((e) => `${e.path}: ${e.message}`)).toEqual([
      'hooks.0.actions: a confirm hook must list the actions it confirms',
      'hooks.1.actions.0: ASSIGN cannot wait for a confirmation',
      'hooks.2.recordTypes.0: unknown record type "cat"',
      'hooks.4.actions.0: REGISTER of birth is already confirmed by hook "e"',
      'hooks.4.actions.0: REGISTER of death is already confirmed by hook "e"',
    ]);
  });

  it('checks that a confirmation names a confirm hook that covers the action', () => {
    const result = withHooks(
      [{ id: 'events', label: 'EVENTS', kind: 'notify', url: 'http://x.test', secretEnv: 'S' }],
      (doc) => {
        const birth = (doc['recordTypes'] as { actions: Record<string, object> }[])[0];
        if (!birth) return;
        birth.actions['VALIDATE'] = { permission: 'record.validate', confirmation: { hook: 'x' } };
        birth.actions['REGISTER'] = {
          permission: 'record.register',
          confirmation: { hook: 'events' },
        };
      },
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => `${e.path}: ${e.message}`)).toEqual([
      'recordTypes.0.actions.VALIDATE.confirmation.hook: unknown hook "x"',
      'recordTypes.0.actions.REGISTER.confirmation.hook: hook "events" is not a confirm hook',
    ]);
  });
});

describe("a hook's principal", () => {
  const config = civilWith(ON);
  const birth = birthOf(config);
  const recordId = '0193a000-0000-7000-8000-000000000001';
  const requestId = '0193a000-0000-7000-8000-0000000000aa';
  const registrar = config.principal({
    id: '0193a000-0000-7000-8000-0000000000f1',
    role: 'registrar',
    officeId: 'ibombo-office',
  });
  const log = [
    entry(1, { type: 'CREATE', recordId, recordType: 'birth', createdBy: registrar.id }),
    entry(2, { type: 'DECLARE', recordId, declaration: BIRTH, createdBy: registrar.id }),
    entry(3, { id: requestId, type: 'REGISTER', recordId, createdBy: registrar.id }, 'requested'),
  ];
  const fold = foldLog(log, birth);
  const record = fold?.record;
  if (!fold || !record) throw new Error('the fixture log folds to nothing');
  const rules = hookPrincipal('rules', config.locations);
  const token = hookPrincipal('rules', config.locations, requestId);
  const rule = (principal: Principal, type: Action['type'], id = requestId) =>
    checkAction(
      record,
      { type, requestId: id },
      { recordType: birth, principal, locations: config.locations },
    );

  it('decides the requests its hook confirms, needing no permission and no assignment', () => {
    expect(record.assignedTo).not.toBe(rules.id);
    expect(rule(rules, 'APPROVE').allowed).toBe(true);
    expect(rule(token, 'DECLINE').allowed).toBe(true);
  });

  it('waits for the duplicate review before approving a REGISTER, as a person does', () => {
    const suspected = { ...record, flags: [...record.flags, 'duplicate:suspected'] };
    const decide = (type: Action['type']) =>
      checkAction(
        suspected,
        { type, requestId },
        { recordType: birth, principal: rules, locations: config.locations },
      );
    expect(decide('APPROVE')).toMatchObject({ allowed: false, code: 'INVALID_TRANSITION' });
    expect(decide('DECLINE').allowed).toBe(true);
  });

  it('may do nothing else, and a token decides its one request only', () => {
    expect(
      checkAction(
        record,
        { type: 'VALIDATE' },
        { recordType: birth, principal: rules, locations: config.locations },
      ),
    ).toMatchObject({ allowed: false, code: 'FORBIDDEN' });
    expect(rule(token, 'APPROVE', '0193a000-0000-7000-8000-0000000000bb')).toMatchObject({
      allowed: false,
      code: 'FORBIDDEN',
    });
    expect(rule(token, 'HOOK_OVERDUE')).toMatchObject({ allowed: false, code: 'FORBIDDEN' });
    const events = hookPrincipal('events', config.locations);
    expect(rule(events, 'APPROVE')).toMatchObject({ allowed: false, code: 'FORBIDDEN' });
    // A person may not mark a request overdue: only the server does, as the hook.
    expect(rule(registrar, 'HOOK_OVERDUE')).toMatchObject({ allowed: false, code: 'FORBIDDEN' });
  });

  it('marks a request overdue only once its hook’s overdueAfter has passed', () => {
    const requestedAt = Date.parse(log[2]?.recordedAt ?? '');
    const context = (now: number): DecisionContext => ({
      config,
      principal: rules,
      now: new Date(now),
      record: () => undefined,
      assignee: () => undefined,
      file: () => undefined,
    });
    const overdue: Action = {
      id: '0193a000-0000-7000-8000-0000000000cc',
      recordId,
      type: 'HOOK_OVERDUE',
      requestId,
      occurredAt: new Date(requestedAt).toISOString(),
    };
    expect(decideAction(fold, overdue, context(requestedAt + 60_000))).toMatchObject({
      outcome: 'rejected',
      code: 'INVALID_TRANSITION',
    });
    expect(decideAction(fold, overdue, context(requestedAt + 3_600_000))).toMatchObject({
      outcome: 'accepted',
    });
    const marked = entry(4, { ...overdue, createdBy: rules.id });
    const after = foldLog([...log, marked], birth)?.record;
    expect(after?.flags).toContain('hook-overdue');
    const decided = foldLog(
      [...log, marked, entry(5, { recordId, type: 'APPROVE', requestId, createdBy: rules.id })],
      birth,
    )?.record;
    expect(decided?.flags).not.toContain('hook-overdue');
    expect(decided?.status).toBe('REGISTERED');
  });
});
