import { validateDeclaration, type ActionType, type Declaration } from '@registra/core';
import { describe, expect, it } from 'vitest';
import { BIRTH, BIRTH_REQUIRED, birth, civil, household, registry } from './fixtures.js';

const TODAY = '2026-11-23';

const check = (action: ActionType, patch: Declaration, current: Declaration = {}, today = TODAY) =>
  validateDeclaration({
    recordType: birth,
    locations: civil.locations,
    action,
    current,
    patch,
    today,
  });

const is = (path: string, message: string) => ({ ok: false, errors: [{ path, message }] });

describe('validateDeclaration', () => {
  it('checks required fields for DECLARE, REGISTER and CORRECT', () => {
    const partial = { 'child.firstName': 'Ama' };
    for (const action of ['DECLARE', 'REGISTER', 'CORRECT'] as const) {
      expect(check(action, partial)).toEqual({
        ok: false,
        errors: BIRTH_REQUIRED.slice(1).map((path) => ({ path, message: 'is required' })),
      });
    }
    expect(check('REGISTER', {}, BIRTH)).toEqual({ ok: true, declaration: BIRTH });
    expect(check('DECLARE', BIRTH)).toEqual({ ok: true, declaration: BIRTH });
  });

  it('does not check required fields for NOTIFY, UPDATE or VALIDATE', () => {
    const partial = { 'child.firstName': 'Ama' };
    for (const action of ['NOTIFY', 'UPDATE', 'VALIDATE', 'CREATE'] as const) {
      expect(check(action, partial)).toEqual({ ok: true, declaration: partial });
    }
  });

  it('checks the merged result: a patch completing a declaration passes, one emptying a field fails', () => {
    const { 'child.sex': sex, ...rest } = BIRTH;
    expect(check('DECLARE', { 'child.sex': sex }, rest)).toEqual({ ok: true, declaration: BIRTH });
    // A correction may not remove a required field, nor blank it.
    expect(check('CORRECT', { 'child.sex': null }, BIRTH)).toEqual(is('child.sex', 'is required'));
    expect(check('CORRECT', { 'child.firstName': '  ' }, BIRTH)).toEqual(
      is('child.firstName', 'is required'),
    );
    expect(check('UPDATE', { 'child.sex': null }, BIRTH)).toEqual({ ok: true, declaration: rest });
  });

  it('refuses unknown field ids, and fields the action may not carry', () => {
    expect(check('UPDATE', { 'child.nickname': 'x', 'child.firstName': 'A' })).toEqual(
      is('child.nickname', 'is not a field of birth'),
    );
    expect(check('UPDATE', { child: { firstName: 'x' } })).toEqual(
      is('child', 'is not a field of birth'),
    );
    expect(check('REJECT', { 'child.firstName': 'x' })).toEqual(
      is('child.firstName', 'cannot be changed by REJECT'),
    );
    expect(check('PRINT_CERTIFICATE', { 'child.firstName': 'x' }).ok).toBe(false);
  });

  it('requires fields hidden by showIf to be absent', () => {
    expect(check('UPDATE', { 'father.firstName': 'Joe' })).toEqual(
      is('father.firstName', 'is hidden by its condition and must be empty'),
    );
    expect(
      check('UPDATE', { 'father.detailsAvailable': false, 'father.nid': '1234567890' }),
    ).toEqual(is('father.nid', 'is hidden by its condition and must be empty'));
    expect(check('UPDATE', { 'father.detailsAvailable': true, 'father.firstName': 'Joe' })).toEqual(
      {
        ok: true,
        declaration: { 'father.detailsAvailable': true, 'father.firstName': 'Joe' },
      },
    );
    // Hiding a field that holds a value: the patch must remove the value too.
    const father = { 'father.detailsAvailable': true, 'father.firstName': 'Joe' };
    expect(check('UPDATE', { 'father.detailsAvailable': false }, father)).toEqual(
      is('father.firstName', 'is hidden by its condition and must be empty'),
    );
    expect(
      check('UPDATE', { 'father.detailsAvailable': false, 'father.firstName': null }, father),
    ).toEqual({ ok: true, declaration: { 'father.detailsAvailable': false } });
  });

  it('requires conditionally required fields when their condition holds', () => {
    expect(
      check('DECLARE', { ...BIRTH, 'father.detailsAvailable': true, 'father.firstName': 'Joe' }),
    ).toEqual(is('father.surname', 'is required'));
    expect(check('DECLARE', { ...BIRTH, 'father.detailsAvailable': false }).ok).toBe(true);
    expect(check('DECLARE', { ...BIRTH, 'informant.relation': 'other' })).toEqual(
      is('informant.name', 'is required'),
    );
    expect(
      check('DECLARE', {
        ...BIRTH,
        'informant.relation': 'other',
        'informant.name': { firstName: 'Mary', surname: 'Zulu' },
      }).ok,
    ).toBe(true);
    // requiredIf is not checked where required fields are not.
    expect(check('UPDATE', { 'informant.relation': 'other' }).ok).toBe(true);
  });

  it('checks patterns: the mother’s national id has 10 digits', () => {
    for (const nid of ['12345', '12345678901', '123456789a', ' 1234567890']) {
      expect(check('UPDATE', { 'mother.nid': nid })).toEqual(
        is('mother.nid', 'is not a valid id number'),
      );
    }
    expect(check('UPDATE', { 'mother.nid': '1234567890' }).ok).toBe(true);
    expect(check('UPDATE', { 'mother.nid': 1234567890 }).ok).toBe(false);
  });

  it('refuses dates after the given today (notFuture)', () => {
    expect(check('UPDATE', { 'child.dob': '2026-11-24' })).toEqual(
      is('child.dob', 'must not be in the future'),
    );
    expect(check('UPDATE', { 'child.dob': '2026-11-23' }).ok).toBe(true);
    expect(check('UPDATE', { 'child.dob': '2026-11-24' }, {}, '2026-11-24').ok).toBe(true);
    expect(check('UPDATE', { 'child.dob': '2026-11-24' }, {}, '2026-11-23').ok).toBe(false);
    expect(check('UPDATE', { 'child.dob': '1899-12-31' })).toEqual(
      is('child.dob', 'must be on or after 1900-01-01'),
    );
    expect(check('UPDATE', { 'child.dob': '2026-02-30' })).toEqual(
      is('child.dob', 'must be a date (YYYY-MM-DD)'),
    );
  });

  it('reports every bad value at once, each at its field id', () => {
    expect(
      check('UPDATE', {
        'mother.nid': '12345',
        'child.dob': '2026-11-24',
        'child.weightAtBirth': 42,
        'child.sex': 'yes',
        'informant.email': 'not-an-email',
      }),
    ).toEqual({
      ok: false,
      errors: [
        { path: 'mother.nid', message: 'is not a valid id number' },
        { path: 'child.dob', message: 'must not be in the future' },
        { path: 'child.weightAtBirth', message: 'must be at most 10' },
        { path: 'child.sex', message: 'must be one of female, male, unknown' },
        { path: 'informant.email', message: 'is not a valid email address' },
      ],
    });
  });

  it('requires the district of an address to be inside its province, at the sub-path', () => {
    expect(
      check('UPDATE', { 'child.placeOfBirth': { province: 'central', district: 'ilanga' } }),
    ).toEqual(is('child.placeOfBirth.district', 'is not in the province given'));
    expect(
      check('UPDATE', { 'child.placeOfBirth': { province: 'ibombo', district: 'ibombo' } }),
    ).toEqual({
      ok: false,
      errors: [
        { path: 'child.placeOfBirth.province', message: 'is not a known province' },
        { path: 'child.placeOfBirth.district', message: 'is not in the province given' },
      ],
    });
    const place = { province: 'central', district: 'ibombo', village: 'Chongwe' };
    expect(check('UPDATE', { 'child.placeOfBirth': place })).toEqual({
      ok: true,
      declaration: { 'child.placeOfBirth': place },
    });
    // A partial address patch is checked merged with what the record holds.
    expect(
      check(
        'UPDATE',
        { 'child.placeOfBirth': { district: 'ilanga' } },
        { 'child.placeOfBirth': place },
      ),
    ).toEqual(is('child.placeOfBirth.district', 'is not in the province given'));
    expect(
      check(
        'UPDATE',
        { 'child.placeOfBirth': { district: 'isamba', village: null } },
        { 'child.placeOfBirth': place },
      ),
    ).toEqual({
      ok: true,
      declaration: { 'child.placeOfBirth': { province: 'central', district: 'isamba' } },
    });
  });

  it('validates any record type against its own form', () => {
    const verdict = validateDeclaration({
      recordType: household,
      locations: registry.locations,
      action: 'UPDATE',
      current: {},
      patch: { 'household.size': 2.5, 'household.members': ['not-a-uuid'] },
      today: TODAY,
    });
    expect(verdict).toEqual({
      ok: false,
      errors: [
        { path: 'household.size', message: 'must be a whole number' },
        { path: 'household.members.0', message: 'must be the id of a household record' },
      ],
    });
  });
});
