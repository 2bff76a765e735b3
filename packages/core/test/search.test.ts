import { describe, expect, it } from 'vitest';
import { searchForm, searchName, type RecordState } from '../src/index.js';
import { birth } from './fixtures.js';

describe('search form', () => {
  it('drops accents and case, and leaves other letters as they are', () => {
    expect(searchForm('Nguyễn Aïcha ZOË Kouassi-Koné')).toBe('nguyen aicha zoe kouassi-kone');
    expect(searchForm('Søren Łukasz 张伟')).toBe('søren łukasz 张伟');
  });

  it("makes a record's search name from its search fields, names and addresses included", () => {
    const state = {
      declaration: {
        'child.firstName': 'Zoë',
        'child.surname': 'Nguyễn',
        'mother.firstName': 'Aïcha',
        'child.sex': 'female',
      },
    } as unknown as RecordState;
    const name = searchName(state, birth);
    expect(name).toBe('zoe nguyen aicha');
  });
});
