import {
  DEFAULT_FILE_MAX_BYTES,
  filesIn,
  loadConfigurationOrThrow,
  uploadRule,
  type ConfigurationInput,
} from '@registra/core';
import { describe, expect, it } from 'vitest';
import { birth, civil, example, MERGE_DOCUMENT } from './fixtures.js';

const MIB = 1024 * 1024;

describe('upload rules (PROTOCOL 9)', () => {
  it("applies the named field's accept and maxBytes", () => {
    expect(uploadRule(civil, { recordType: 'birth', field: 'documents.motherId' })).toEqual({
      accept: ['image/jpeg', 'image/png', 'application/pdf'],
      maxBytes: 5 * MIB,
    });
  });

  it('without a field, the union of every file field and the largest maxBytes', () => {
    const document = example('civil-registry') as ConfigurationInput;
    const death = document.recordTypes.find((t) => t.id === 'death');
    death?.form.pages.push({
      id: 'extra',
      title: 'Extra',
      fields: [
        {
          id: 'extra.audio',
          label: 'Audio',
          type: 'file',
          accept: ['audio/ogg'],
          maxBytes: 9 * MIB,
        },
      ],
    });
    const rule = uploadRule(loadConfigurationOrThrow(document));
    expect(rule?.maxBytes).toBe(9 * MIB);
    expect([...(rule?.accept ?? [])].sort()).toEqual([
      'application/pdf',
      'audio/ogg',
      'image/jpeg',
      'image/png',
    ]);
  });

  it('a file field without accept opens any type; without maxBytes it has the default', () => {
    const document = structuredClone(MERGE_DOCUMENT);
    document.recordTypes[0]?.form.pages[0]?.fields.push({
      id: 'household.photo',
      label: 'Photo',
      type: 'file',
    });
    const config = loadConfigurationOrThrow(document);
    expect(uploadRule(config)).toEqual({ accept: null, maxBytes: DEFAULT_FILE_MAX_BYTES });
    expect(config.document.files).toEqual({ graceDays: 7, imageLongestSide: 1600 });
  });

  it('is null for a field that is not a file field, and for a registry without file fields', () => {
    expect(uploadRule(civil, { recordType: 'birth', field: 'child.firstName' })).toBeNull();
    expect(uploadRule(civil, { recordType: 'nope', field: 'documents.motherId' })).toBeNull();
    expect(uploadRule(loadConfigurationOrThrow(MERGE_DOCUMENT))).toBeNull();
  });
});

describe('filesIn', () => {
  it('lists the well-formed file values of a patch, by field', () => {
    const file = { sha256: 'b'.repeat(64), name: 'id.png', type: 'image/png', size: 12 };
    expect(
      filesIn(birth, {
        'documents.motherId': file,
        'documents.proofOfBirth': { sha256: 'nope' },
        'child.firstName': 'Ama',
      }),
    ).toEqual([{ path: 'documents.motherId', ...file }]);
  });
});
