import {
  deletionForms,
  matchWords,
  nameWords,
  parseSearchQuery,
  searchKeys,
  typoBudget,
  wordKeys,
  type RecordState,
} from '@registra/core';
import { describe, expect, it } from 'vitest';
import { birth } from './fixtures.js';

/** How the read model's index answers one word of `q`: the SQL of listRecords does the same. */
function found(keys: string[], word: string): 'exact' | 'phonetic' | 'fuzzy' | null {
  const k = wordKeys(word);
  if (keys.includes(k.exact)) return 'exact';
  if (k.phonetic.some((key) => keys.includes(key))) return 'phonetic';
  if (k.fuzzy.some((key) => keys.includes(key))) return 'fuzzy';
  return null;
}

const state = (declaration: Record<string, unknown>) => ({ declaration }) as unknown as RecordState;

describe('search keys (PROTOCOL 10)', () => {
  const keys = searchKeys(
    state({
      'child.firstName': 'Amina',
      'child.surname': 'Nguyễn',
      'mother.firstName': 'Catherine',
      'mother.surname': 'Chileshe-Banda',
      'mother.nid': '123 456/78',
    }),
    birth,
  );

  it('finds case and accents, exactly', () => {
    expect(found(keys, nameWords('NGUYEN')[0] as string)).toBe('exact');
    expect(found(keys, 'banda')).toBe('exact'); // a part of a double-barrelled name
  });

  it('finds sound-alike spellings', () => {
    expect(found(keys, 'amena')).toBe('phonetic');
    expect(found(keys, 'katherine')).toBe('phonetic');
  });

  it('tolerates one typo in a part of 4 to 7 letters, none in shorter ones, two beyond', () => {
    expect(typoBudget('ami')).toBe(0);
    expect(typoBudget('amina')).toBe(1);
    expect(typoBudget('chileshe')).toBe(2);
    expect(found(keys, 'bnda')).toBe('phonetic'); // Banda and Bnda sound alike
    expect(found(keys, 'banfa')).toBe('fuzzy'); // changed
    expect(found(keys, 'bandar')).toBe('fuzzy'); // added
    expect(found(keys, 'badna')).toBe('fuzzy'); // swapped
    expect(found(keys, 'bxnfa')).toBeNull(); // two typos in five letters
    expect(found(keys, 'chilexhi')).toBe('fuzzy'); // two in eight letters
    expect(found(keys, 'cxilexhi')).toBeNull(); // three
  });

  it('keys identifier fields by field, without spaces and separators', () => {
    const plain = { ...birth, form: structuredClone(birth.form) };
    for (const page of plain.form.pages) for (const field of page.fields) delete field.sensitive;
    const unmarked = searchKeys(state({ 'mother.nid': '123 456/78' }), plain);
    expect(unmarked).toContain('i:mother.nid=12345678');
  });

  it('keys a sensitive identifier by its blind index only, never in the clear (PROTOCOL 13)', () => {
    expect(keys.filter((k) => k.includes('mother.nid') || k.includes('12345678'))).toEqual([]);
    const blind = (field: string, form: string) => `H(${field}|${form.length})`;
    const blinded = searchKeys(state({ 'mother.nid': '123 456/78' }), birth, blind);
    expect(blinded).toContain('b:mother.nid=H(mother.nid|8)');
    expect(blinded.some((k) => k.includes('12345678'))).toBe(false);
  });

  it('matches words symmetrically, best kind first', () => {
    expect(matchWords('amina', 'amina')).toBe('exact');
    expect(matchWords('mohamed', 'muhammad')).toBe('phonetic');
    expect(matchWords('katherine', 'catherine')).toBe('phonetic');
    expect(matchWords('mulenga', 'mulegna')).toBe('fuzzy');
    expect(matchWords('mulegna', 'mulenga')).toBe('fuzzy');
    expect(matchWords('ann', 'anne')).toBe('phonetic');
    expect(matchWords('bob', 'rob')).toBeNull();
  });

  it('deletion forms hold the word and every form with up to the budget deleted', () => {
    expect(deletionForms('abcd').sort()).toEqual(['abc', 'abcd', 'abd', 'acd', 'bcd']);
    expect(deletionForms('abcdefgh')).toHaveLength(1 + 8 + 28);
  });

  it('reads q as words, and as a tracking id fragment when it can be one', () => {
    expect(parseSearchQuery('Amina  Banda').words.map((w) => w.word)).toEqual(['amina', 'banda']);
    expect(parseSearchQuery('b7k2-qx').trackingFragment).toBe('B7K2QX');
    expect(parseSearchQuery('b7k2').trackingFragment).toBeNull(); // too short
    expect(parseSearchQuery('Mulenga').trackingFragment).toBeNull(); // U is not Crockford
    // A name may read as a fragment too (I is 1): it is then looked for both ways.
    expect(parseSearchQuery('Amina').trackingFragment).toBe('AM1NA');
  });
});
