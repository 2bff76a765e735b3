import {
  ConfigurationError,
  loadConfiguration,
  loadConfigurationOrThrow,
  type ConfigurationInput,
} from '@registra/core';
import { describe, expect, it } from 'vitest';
import { BIRTH_REQUIRED, example, MERGE_DOCUMENT } from './fixtures.js';

const civilDocument = () => structuredClone(example('civil-registry')) as ConfigurationInput;

describe('configuration loader', () => {
  it('loads the civil registry example', () => {
    const result = loadConfiguration(example('civil-registry'));
    expect(result.ok ? [] : result.errors).toEqual([]);
    if (!result.ok) return;
    const { config } = result;
    // Its exchange (PROTOCOL 12) adds the consent records of Registra's own type.
    expect([...config.recordTypes.keys()]).toEqual(['birth', 'death', 'consent']);
    expect([...config.recordTypes.values()].map((t) => t.concurrency)).toEqual([
      'assignment',
      'assignment',
      'merge',
    ]);
    expect([...config.roles.keys()]).toEqual([
      'field-agent',
      'registrar',
      'supervisor',
      'national-admin',
      'exchange-consumer',
    ]);
    expect(config.locations.lineage('ibombo-office').map((l) => l.id)).toEqual([
      'ibombo-office',
      'ibombo',
      'central',
      'farajaland',
    ]);
    expect(config.document.timeZone).toBe('Africa/Lusaka');
    // Defaults are filled in.
    expect(config.recordTypes.get('birth')?.actions.CUSTOM).toEqual([]);
    expect(config.recordTypes.get('birth')?.actions.UPDATE?.unassign).toBe(false);
    // A field agent's permissions reach their district.
    expect(
      config.principal({ id: 'a', role: 'field-agent', officeId: 'ibombo-office' }).grants,
    ).toEqual({
      'record.read': 'ibombo',
      'record.create': 'ibombo',
      'record.declare': 'ibombo',
      'record.update': 'ibombo',
      'record.assign': 'ibombo',
    });
  });

  it('has the birth fields the civil registry promises', () => {
    const birth = loadConfigurationOrThrow(example('civil-registry')).recordTypes.get('birth');
    const fields = new Map(birth?.form.pages.flatMap((p) => p.fields.map((f) => [f.id, f])));
    for (const id of ['mother.nid', 'informant.phone', 'father.firstName', 'child.placeOfBirth'])
      expect(fields.has(id)).toBe(true);
    expect(fields.get('child.placeOfBirth')?.type).toBe('address');
    const sex = fields.get('child.sex');
    expect(sex?.type === 'select' ? sex.options.map((o) => o.value) : []).toEqual([
      'female',
      'male',
      'unknown',
    ]);
    expect([...fields.values()].filter((f) => f.required).map((f) => f.id)).toEqual(BIRTH_REQUIRED);
  });

  it('loads the merge-mode configuration the tests define', () => {
    expect(loadConfiguration(MERGE_DOCUMENT).ok).toBe(true);
  });

  it('does not change the document it is given', () => {
    const document = civilDocument();
    const copy = structuredClone(document);
    loadConfiguration(document);
    expect(document).toEqual(copy);
  });

  it('reports every problem of a broken configuration at once, each with its path', () => {
    const broken = civilDocument();
    const birth = broken.recordTypes[0];
    if (!birth?.actions.REGISTER) throw new Error('unexpected example shape');
    // child.dob (page 0, field 2) shown only when a field that does not exist says so.
    const dob = birth.form.pages[0]?.fields[2];
    if (dob?.id !== 'child.dob') throw new Error('unexpected example shape');
    dob.showIf = { '==': [{ var: 'child.nickname' }, 'x'] };
    // An action naming a permission the configuration does not define.
    birth.actions.REGISTER.permission = 'record.stamp';
    // A title naming a field the form does not have.
    birth.title = ['child.firstName', 'child.nickname'];
    // Two locations with one id.
    const central = broken.locations.find((l) => l.id === 'central');
    if (!central) throw new Error('unexpected example shape');
    broken.locations.push({ ...central });
    // A district right under the country.
    broken.locations.push({
      id: 'nowhere',
      name: 'Nowhere',
      type: 'district',
      parentId: 'farajaland',
    });
    const count = broken.locations.length;

    const result = loadConfiguration(broken);
    expect(result).toEqual({
      ok: false,
      errors: [
        { path: `locations.${count - 2}.id`, message: 'duplicate id "central"' },
        {
          path: `locations.${count - 1}.parentId`,
          message: 'a district must be inside a province, not a country',
        },
        {
          path: 'recordTypes.0.form.pages.0.fields.2.showIf',
          message: 'refers to "child.nickname", which is not a field',
        },
        { path: 'recordTypes.0.title.1', message: 'unknown field "child.nickname"' },
        {
          path: 'recordTypes.0.actions.REGISTER.permission',
          message: 'unknown permission "record.stamp"',
        },
      ],
    });
    expect(() => loadConfigurationOrThrow(broken)).toThrow(ConfigurationError);
    expect(() => loadConfigurationOrThrow(broken)).toThrow(
      /5 problem\(s\)[\s\S]*recordTypes\.0\.actions\.REGISTER\.permission: unknown permission/,
    );
  });

  it('reports more cross-reference problems with their paths', () => {
    const broken = civilDocument();
    const birth = broken.recordTypes[0];
    const death = broken.recordTypes[1];
    if (!birth?.actions.CORRECT?.confirmation || !death) throw new Error('unexpected shape');
    birth.actions.CORRECT.confirmation.permission = 'record.bless';
    death.id = 'birth';
    broken.hooks = []; // its hooks name death: another problem, tested in hooks.test.ts
    delete broken.dci; // so does its DCI section: checked in dci.test.ts
    broken.roles[0]?.permissions.push('record.fly');
    birth.form.pages[0]?.fields.push({ id: 'child.firstName', label: 'Again', type: 'text' });
    birth.actions.CUSTOM = [
      { id: 'FLAG', label: 'Flag', permission: 'record.update', addFlags: ['rejected'] },
    ];
    const result = loadConfiguration(broken);
    expect(result.ok ? [] : result.errors).toEqual([
      { path: 'recordTypes.1.id', message: 'duplicate id "birth"' },
      { path: 'roles.0.permissions.5', message: 'unknown permission "record.fly"' },
      expect.objectContaining({
        path: expect.stringMatching(/^recordTypes\.0\.form\.pages\.0\.fields\.\d+\.id$/),
        message: 'duplicate field id "child.firstName"',
      }),
      {
        path: 'recordTypes.0.actions.CORRECT.confirmation.permission',
        message: 'unknown permission "record.bless"',
      },
      {
        path: 'recordTypes.0.actions.CUSTOM.0',
        message:
          '"rejected" is a flag the protocol derives; a custom action may not set or clear it',
      },
    ]);
  });

  it('reports shape errors with their paths', () => {
    const result = loadConfiguration({
      id: 'x',
      name: 'x',
      version: '1',
      permissions: [],
      roles: [],
      locations: [],
      recordTypes: [{}],
    });
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.errors.map((e) => e.path)).toEqual(
      expect.arrayContaining([
        'permissions',
        'roles',
        'locations',
        'recordTypes.0.id',
        'recordTypes.0.form',
      ]),
    );
    const typo = civilDocument() as ConfigurationInput & { colour?: string };
    typo.colour = 'blue';
    expect(loadConfiguration(typo)).toEqual({
      ok: false,
      errors: [{ path: 'colour', message: 'is not a known key' }],
    });
  });
});
