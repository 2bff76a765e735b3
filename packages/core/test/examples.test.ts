import {
  checkAction,
  conditionHolds,
  foldRecord,
  dateIn,
  formFields,
  holds,
  loadConfiguration,
  validateDeclaration,
  type ActionType,
  type Declaration,
  type Field,
  type FieldType,
  type RecordState,
  type RecordTypeConfig,
  type RegistryConfig,
} from '@registra/core';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

// Every directory under examples/ with a config.json is checked, so a new example is covered
// without touching this file. (Others hold example services, such as rules-service.)

const EXAMPLES = new URL('../../../examples/', import.meta.url);
const NAMES = readdirSync(EXAMPLES, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .filter((entry) => existsSync(new URL(`${entry.name}/config.json`, EXAMPLES)))
  .map((entry) => entry.name)
  .sort();

const readJson = (name: string, file: string): unknown =>
  JSON.parse(readFileSync(new URL(`${name}/${file}`, EXAMPLES), 'utf8'));

const DemoUserSchema = z.strictObject({
  username: z.string().min(1),
  name: z.string().min(1),
  role: z.string().min(1),
  officeId: z.string().min(1),
});
type DemoUser = z.infer<typeof DemoUserSchema>;

function load(name: string): RegistryConfig {
  const result = loadConfiguration(readJson(name, 'config.json'));
  if (!result.ok) throw new Error(`${name}: ${JSON.stringify(result.errors, null, 2)}`);
  return result.config;
}

function users(name: string): DemoUser[] {
  return z.array(DemoUserSchema).parse(readJson(name, 'users.json'));
}

function recordType(config: RegistryConfig, id: string): RecordTypeConfig {
  const found = config.recordTypes.get(id);
  if (!found) throw new Error(`no record type "${id}"`);
  return found;
}

/** The field, checked to exist and to be of the given type. */
function field<T extends FieldType>(
  type: RecordTypeConfig,
  id: string,
  fieldType: T,
): Extract<Field, { type: T }> {
  const found = formFields(type).get(id);
  expect(found, `${type.id} has a field ${id}`).toBeDefined();
  expect(found?.type, `${type.id}.${id}`).toBe(fieldType);
  return found as Extract<Field, { type: T }>;
}

function check(
  config: RegistryConfig,
  type: RecordTypeConfig,
  action: ActionType,
  patch: Declaration,
  current: Declaration = {},
) {
  return validateDeclaration({
    recordType: type,
    locations: config.locations,
    action,
    current,
    patch,
    today: dateIn(config.document.timeZone, new Date()),
  });
}

/** Field ids the validation reports with `message`. */
function pathsWith(verdict: ReturnType<typeof check>, message: string): string[] {
  return verdict.ok
    ? []
    : verdict.errors
        .filter((e) => e.message === message)
        .map((e) => e.path)
        .sort();
}

/** Every permission an action of the record type is performed or confirmed with. */
function actionPermissions(type: RecordTypeConfig): { what: string; permission: string }[] {
  const { CUSTOM, ASSIGN, ...plain } = type.actions;
  const found: { what: string; permission: string }[] = [];
  for (const [name, action] of Object.entries(plain)) {
    if (!action) continue;
    found.push({ what: name, permission: action.permission });
    if (action.confirmation?.permission)
      found.push({ what: `${name} confirmation`, permission: action.confirmation.permission });
  }
  for (const custom of CUSTOM) {
    found.push({ what: custom.id, permission: custom.permission });
    if (custom.confirmation?.permission)
      found.push({ what: `${custom.id} confirmation`, permission: custom.confirmation.permission });
  }
  if (ASSIGN) {
    found.push({ what: 'ASSIGN', permission: ASSIGN.permission });
    found.push({ what: 'ASSIGN (reassign)', permission: ASSIGN.reassignPermission });
  }
  return found.map(({ what, permission }) => ({ what: `${type.id} ${what}`, permission }));
}

const principal = (config: RegistryConfig, user: DemoUser) =>
  config.principal({ id: user.username, role: user.role, officeId: user.officeId });

it('finds the examples', () => {
  expect(NAMES).toEqual(expect.arrayContaining(['civil-registry', 'social-registry', 'clinic']));
});

describe.each(NAMES)('example %s', (name) => {
  it('config.json passes loadConfiguration', () => {
    const result = loadConfiguration(readJson(name, 'config.json'));
    expect(result.ok ? [] : result.errors).toEqual([]);
    expect(result.ok).toBe(true);
  });

  it('users.json lists users with a known role, working at an office or facility', () => {
    const config = load(name);
    const demo = users(name);
    expect(demo.length).toBeGreaterThan(0);
    const usernames = demo.map((user) => user.username);
    expect(new Set(usernames).size, 'usernames are unique').toBe(usernames.length);
    for (const user of demo) {
      expect(config.roles.has(user.role), `${user.username}: role ${user.role}`).toBe(true);
      expect(
        ['office', 'facility'],
        `${user.username}: ${user.officeId} is an office or facility`,
      ).toContain(config.locations.get(user.officeId)?.type);
    }
  });

  it('offers no action that no demo user may perform', () => {
    const config = load(name);
    const demo = users(name);
    for (const type of config.recordTypes.values()) {
      for (const { what, permission } of actionPermissions(type)) {
        const holders = demo.filter((user) => permission in principal(config, user).grants);
        expect(holders.length, `${what} (${permission})`).toBeGreaterThan(0);
      }
    }
  });

  it('has, for every action needing a confirmation, a demo requester and another approver', () => {
    const config = load(name);
    const demo = users(name);
    for (const type of config.recordTypes.values()) {
      const { CUSTOM, ASSIGN: _assign, ...plain } = type.actions;
      const confirmed = [...Object.entries(plain), ...CUSTOM.map((c) => [c.id, c] as const)];
      for (const [what, action] of confirmed) {
        if (!action?.confirmation) continue;
        const { permission } = action;
        const approver = action.confirmation.permission ?? permission;
        const pairs = demo.flatMap((requester) =>
          demo
            .filter((other) => other.username !== requester.username)
            .filter(
              (other) =>
                holds(
                  principal(config, requester),
                  permission,
                  requester.officeId,
                  config.locations,
                ) &&
                holds(principal(config, other), approver, requester.officeId, config.locations),
            ),
        );
        expect(pairs.length, `${type.id} ${what}`).toBeGreaterThan(0);
      }
    }
  });

  it('asks on DECLARE for exactly the required fields (and those whose requiredIf holds)', () => {
    const config = load(name);
    for (const type of config.recordTypes.values()) {
      if (!type.actions.DECLARE) continue;
      const expected = [...formFields(type).values()]
        .filter(
          (f) => f.required || (f.requiredIf !== undefined && conditionHolds(f.requiredIf, {})),
        )
        .map((f) => f.id)
        .sort();
      expect(pathsWith(check(config, type, 'DECLARE', {}), 'is required'), type.id).toEqual(
        expected,
      );
      expect(check(config, type, 'UPDATE', {}).ok, `${type.id}: UPDATE needs nothing`).toBe(true);
    }
  });

  it('is described in examples/README.md with its demo users', () => {
    const readme = readFileSync(new URL('README.md', EXAMPLES), 'utf8');
    const section = readme.split(/^## /m).find((part) => part.split(/\s/, 1)[0] === name);
    expect(section, `a "## ${name}" section`).toBeDefined();
    for (const user of users(name)) expect(section).toContain(`\`${user.username}\``);
  });
});

describe('civil registry', () => {
  const config = load('civil-registry');
  const birth = recordType(config, 'birth');

  const MINIMAL_BIRTH: Declaration = {
    'child.firstName': 'Ama',
    'child.surname': 'Banda',
    'child.dob': '2026-01-15',
    'child.sex': 'female',
    'mother.firstName': 'Grace',
    'mother.surname': 'Banda',
  };

  it('has the birth fields clients and integrations rely on', () => {
    for (const id of ['child.firstName', 'child.surname', 'mother.firstName', 'mother.surname'])
      field(birth, id, 'text');
    field(birth, 'child.dob', 'date');
    expect(field(birth, 'child.sex', 'select').options.map((o) => o.value)).toEqual([
      'female',
      'male',
      'unknown',
    ]);
    field(birth, 'child.placeOfBirth', 'address');
    field(birth, 'mother.nid', 'idNumber');
    field(birth, 'informant.phone', 'phone');
  });

  it('takes optional documents as files: two on a birth, one on a death', () => {
    const documents = ['image/jpeg', 'image/png', 'application/pdf'];
    const death = recordType(config, 'death');
    for (const [type, id] of [
      [birth, 'documents.proofOfBirth'],
      [birth, 'documents.motherId'],
      [death, 'documents.proofOfDeath'],
    ] as const) {
      const file = field(type, id, 'file');
      expect({ accept: file.accept, maxBytes: file.maxBytes, required: file.required }).toEqual({
        accept: documents,
        maxBytes: 5 * 1024 * 1024,
        required: false,
      });
    }
  });

  it('requires on DECLARE exactly the fields marked required', () => {
    const marked = [...formFields(birth).values()]
      .filter((f) => f.required)
      .map((f) => f.id)
      .sort();
    expect(marked).toEqual(Object.keys(MINIMAL_BIRTH).sort());
    expect(pathsWith(check(config, birth, 'DECLARE', {}), 'is required')).toEqual(marked);
    expect(check(config, birth, 'DECLARE', MINIMAL_BIRTH).ok).toBe(true);
    for (const id of marked) {
      const { [id]: _dropped, ...rest } = MINIMAL_BIRTH;
      expect(pathsWith(check(config, birth, 'DECLARE', rest), 'is required')).toEqual([id]);
    }
  });

  it("requires the father's names only when his details are given", () => {
    const withFather = { ...MINIMAL_BIRTH, 'father.detailsAvailable': true };
    expect(pathsWith(check(config, birth, 'DECLARE', withFather), 'is required')).toEqual([
      'father.firstName',
      'father.surname',
    ]);
  });
});

describe('social registry', () => {
  const config = load('social-registry');
  const household = recordType(config, 'household');
  const individual = recordType(config, 'individual');
  const demo = users('social-registry');
  const user = (username: string): DemoUser => {
    const found = demo.find((u) => u.username === username);
    if (!found) throw new Error(`no demo user ${username}`);
    return found;
  };

  it('keeps households and individuals in merge mode', () => {
    expect(household.concurrency).toBe('merge');
    expect(individual.concurrency).toBe('merge');
  });

  it('has the household fields', () => {
    field(household, 'household.address', 'address');
    const size = field(household, 'household.size', 'number');
    expect({ integer: size.integer, min: size.min, max: size.max }).toEqual({
      integer: true,
      min: 1,
      max: 50,
    });
    expect(field(household, 'head.firstName', 'text').required).toBe(true);
    expect(field(household, 'head.surname', 'text').required).toBe(true);
    field(household, 'head.phone', 'phone');
    field(household, 'household.dwellingType', 'select');
    const photo = field(household, 'household.dwellingPhoto', 'file');
    expect({ accept: photo.accept, maxBytes: photo.maxBytes }).toEqual({
      accept: ['image/jpeg', 'image/png'],
      maxBytes: 5 * 1024 * 1024,
    });
    const members = field(household, 'household.members', 'reference');
    expect({ recordType: members.recordType, multiple: members.multiple }).toEqual({
      recordType: 'individual',
      multiple: true,
    });
    expect(household.title).toEqual(['head.firstName', 'head.surname']);
    expect(household.searchFields).toEqual(
      expect.arrayContaining(['head.firstName', 'head.surname']),
    );
    expect(household.registrationNumber?.pattern).toMatch(/\{counter(:\d+)?\}/);
  });

  it('has the individual fields', () => {
    expect(field(individual, 'person.firstName', 'text').required).toBe(true);
    expect(field(individual, 'person.surname', 'text').required).toBe(true);
    expect(field(individual, 'person.dob', 'date').notFuture).toBe(true);
    field(individual, 'person.sex', 'select');
    field(individual, 'person.nid', 'idNumber');
    field(individual, 'person.relationToHead', 'select');
    field(individual, 'person.disability', 'checkbox');
    expect(field(individual, 'person.disabilityType', 'select').showIf).toBeDefined();
    expect(field(individual, 'person.household', 'reference').recordType).toBe('household');
  });

  it('shows the kind of disability only for a person with a disability', () => {
    const person = { 'person.firstName': 'Mwila', 'person.surname': 'Tembo' };
    const hidden = check(config, individual, 'DECLARE', {
      ...person,
      'person.disabilityType': 'visual',
    });
    expect(pathsWith(hidden, 'is hidden by its condition and must be empty')).toEqual([
      'person.disabilityType',
    ]);
    const withDisability = { ...person, 'person.disability': true };
    expect(pathsWith(check(config, individual, 'DECLARE', withDisability), 'is required')).toEqual([
      'person.disabilityType',
    ]);
    expect(
      check(config, individual, 'DECLARE', { ...withDisability, 'person.disabilityType': 'visual' })
        .ok,
    ).toBe(true);
  });

  it('checks the household size', () => {
    for (const size of [0, 51, 2.5])
      expect(check(config, household, 'UPDATE', { 'household.size': size }).ok, `${size}`).toBe(
        false,
      );
    expect(check(config, household, 'UPDATE', { 'household.size': 6 }).ok).toBe(true);
  });

  it('has a supervisor confirm household corrections, and the custom actions', () => {
    const approver = household.actions.CORRECT?.confirmation?.permission;
    expect(approver).toBeDefined();
    const custom = (id: string) => household.actions.CUSTOM.find((c) => c.id === id);
    expect(custom('RESOLVE_CONFLICT')?.clearsConflicts).toBe(true);
    expect(custom('MARK_VERIFIED')?.addFlags).toEqual(['verified']);
    expect(custom('MARK_VERIFIED')?.forbiddenFlags).toEqual(['verified']);

    const supervisor = principal(config, user('supervisor'));
    const enumerator = principal(config, user('enumerator'));
    const mayIn = (p: typeof supervisor, permission: string) =>
      holds(p, permission, 'ibombo-office', config.locations);
    for (const permission of [
      approver ?? '',
      custom('RESOLVE_CONFLICT')?.permission ?? '',
      custom('MARK_VERIFIED')?.permission ?? '',
      household.actions.REGISTER?.permission ?? '',
      household.actions.ASSIGN?.reassignPermission ?? '',
    ]) {
      expect(mayIn(supervisor, permission), `supervisor: ${permission}`).toBe(true);
      expect(mayIn(enumerator, permission), `enumerator: ${permission}`).toBe(false);
    }
    for (const permission of [
      household.actions.CREATE.permission,
      household.actions.DECLARE?.permission ?? '',
      household.actions.UPDATE?.permission ?? '',
      household.actions.ASSIGN?.permission ?? '',
    ]) {
      expect(mayIn(enumerator, permission), `enumerator: ${permission}`).toBe(true);
    }
  });

  it('limits enumerators to their district', () => {
    const far = principal(config, user('enumerator.far'));
    const create = household.actions.CREATE.permission;
    expect(holds(far, create, 'ilanga-office', config.locations)).toBe(true);
    expect(holds(far, create, 'ibombo-office', config.locations)).toBe(false);
  });
});

describe('clinic', () => {
  const config = load('clinic');
  const appointment = recordType(config, 'appointment');

  it('books appointments at facilities, in merge mode', () => {
    expect(appointment.concurrency).toBe('merge');
    expect(field(appointment, 'appointment.facility', 'location').locationTypes).toEqual([
      'facility',
    ]);
    expect(field(appointment, 'appointment.date', 'date').notFuture).toBe(false);
    expect(field(appointment, 'appointment.service', 'select').options.map((o) => o.value)).toEqual(
      ['antenatal', 'immunisation', 'general', 'family-planning'],
    );
    for (const district of config.locations.all.filter((l) => l.type === 'district')) {
      const facilities = config.locations
        .subtree(district.id)
        .filter((id) => config.locations.get(id)?.type === 'facility');
      expect(facilities.length, `${district.id} has a facility`).toBeGreaterThan(0);
    }
  });

  it('checks the time and the facility', () => {
    const update = (patch: Declaration) => check(config, appointment, 'UPDATE', patch).ok;
    expect(update({ 'appointment.time': '09:30' })).toBe(true);
    expect(update({ 'appointment.time': '23:59' })).toBe(true);
    for (const time of ['24:00', '9:30', '09:60', '09:30 '])
      expect(update({ 'appointment.time': time }), time).toBe(false);
    expect(update({ 'appointment.facility': 'ibombo-clinic' })).toBe(true);
    expect(update({ 'appointment.facility': 'ibombo-office' })).toBe(false);
    expect(update({ 'appointment.date': '2099-01-01' })).toBe(true);
    expect(update({ 'appointment.date': '2021-03-01' })).toBe(false);
  });

  it('books no appointment before the day the booking was made (offline bookings too)', () => {
    const book = (date: string, actedOn?: string) =>
      validateDeclaration({
        recordType: appointment,
        locations: config.locations,
        action: 'UPDATE',
        current: {},
        patch: { 'appointment.date': date },
        today: '2026-11-23',
        ...(actedOn ? { actedOn } : {}),
      });
    expect(book('2026-11-22')).toEqual({
      ok: false,
      errors: [{ path: 'appointment.date', message: 'must not be in the past' }],
    });
    expect(book('2026-11-23').ok).toBe(true);
    expect(book('2026-11-21', '2026-11-20').ok).toBe(true);
    expect(book('2026-11-19', '2026-11-20').ok).toBe(false);
  });

  it('has the attendance actions exclude one another', () => {
    const custom = new Map(appointment.actions.CUSTOM.map((c) => [c.id, c]));
    expect(custom.get('MARK_ATTENDED')?.addFlags).toEqual(['attended']);
    expect(custom.get('MARK_ATTENDED')?.allowedIn).toEqual(['DECLARED']);
    expect(custom.get('CANCEL')?.addFlags).toEqual(['cancelled']);
    expect(custom.get('MARK_NO_SHOW')?.addFlags).toEqual(['no-show']);
    expect(custom.get('RESOLVE_CONFLICT')?.clearsConflicts).toBe(true);
    for (const id of ['MARK_ATTENDED', 'CANCEL', 'MARK_NO_SHOW']) {
      expect(custom.get(id)?.forbiddenFlags, id).toEqual(
        expect.arrayContaining(['attended', 'cancelled', 'no-show']),
      );
    }
  });

  it('lets nobody change or book an appointment once it is cancelled', () => {
    const receptionist = config.principal({
      id: '0193a000-0000-7000-8000-0000000000c1',
      role: 'receptionist',
      officeId: 'ibombo-clinic',
    });
    const context = {
      recordType: appointment,
      principal: receptionist,
      locations: config.locations,
    };
    const created = foldRecord(
      [
        {
          id: '0193a000-0000-7000-8000-0000000000e1',
          recordId: '0193a000-0000-7000-8000-0000000000d1',
          type: 'CREATE',
          recordType: 'appointment',
          occurredAt: '2026-11-20T08:00:00.000Z',
          seq: 1,
          status: 'accepted',
          createdBy: receptionist.id,
          createdAtLocation: 'ibombo-clinic',
          deviceId: null,
          recordedAt: '2026-11-20T08:00:01.000Z',
        },
      ],
      appointment,
    ) as RecordState;
    const cancelled: RecordState = { ...created, flags: [...created.flags, 'cancelled'] };
    for (const type of ['UPDATE', 'DECLARE'] as const) {
      expect(checkAction(created, { type }, context), type).toEqual({ allowed: true });
      expect(checkAction(cancelled, { type }, context), type).toMatchObject({
        allowed: false,
        code: 'INVALID_TRANSITION',
        message: `${type} is not allowed with the flag cancelled`,
      });
    }
  });
});
