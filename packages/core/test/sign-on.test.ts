import { loadConfiguration, signOnAccount, type RegistryConfig } from '@registra/core';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const document = JSON.parse(
  readFileSync(new URL('../../../examples/civil-registry/config.json', import.meta.url), 'utf8'),
) as Record<string, unknown> & { singleSignOn: Record<string, unknown> };

function load(input: unknown): RegistryConfig {
  const result = loadConfiguration(input);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.config;
}

describe('single sign-on claims', () => {
  const config = load(document);
  const mapping = config.document.singleSignOn;
  if (!mapping) throw new Error('the example maps no claims');
  const person = {
    sub: 's1',
    preferred_username: 'ama',
    name: 'Ama Mwale',
    groups: ['staff', 'registra-registrars', 'registra-admins'],
    office: 'ibombo-office',
  };

  it('give the role of the first configured value the claim holds, and the office', () => {
    expect(signOnAccount(config, mapping, person)).toEqual({
      ok: true,
      username: 'ama',
      name: 'Ama Mwale',
      role: 'national-admin',
      officeId: 'ibombo-office',
    });
  });

  it('refuse what maps to no role, no office, or names nobody', () => {
    expect(signOnAccount(config, mapping, { ...person, groups: 'staff' })).toMatchObject({
      ok: false,
      code: 'ROLE_NOT_MAPPED',
    });
    // A district is not where a person works; an inherited key is no mapping.
    for (const office of ['ibombo', 'constructor', undefined]) {
      expect(signOnAccount(config, mapping, { ...person, office })).toMatchObject({
        ok: false,
        code: 'OFFICE_NOT_MAPPED',
      });
    }
    expect(signOnAccount(config, mapping, { ...person, preferred_username: 'a b' })).toMatchObject({
      ok: false,
      code: 'CLAIM_MISSING',
    });
  });

  it('are checked at load: unknown roles and offices are named', () => {
    const result = loadConfiguration({
      ...document,
      singleSignOn: {
        role: { claim: 'groups', values: { x: 'no-such-role' } },
        office: { claim: 'office', values: { y: 'ibombo' } },
      },
    });
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.errors).toEqual([
      { path: 'singleSignOn.role.values.x', message: 'unknown role "no-such-role"' },
      {
        path: 'singleSignOn.office.values.y',
        message: '"ibombo" is not an office or facility',
      },
    ]);
  });
});
