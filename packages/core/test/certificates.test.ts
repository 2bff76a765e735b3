import {
  ActionSchema,
  certificateHtml,
  certificateTemplateOf,
  decodeStatusList,
  encodeStatusList,
  foldRecord,
  loadConfiguration,
  type ConfigurationInput,
  type Declaration,
  type RecordState,
} from '@registra/core';
import { describe, expect, it } from 'vitest';
import { BIRTH, civil, example } from './fixtures.js';

const civilDocument = () => structuredClone(example('civil-registry')) as ConfigurationInput;

function registeredBirth(declaration: Declaration = BIRTH): RecordState {
  const base = {
    recordId: '0193a0b4-0000-7000-8000-000000000001',
    createdBy: 'u1',
    createdAtLocation: 'ibombo-office',
    deviceId: null,
    occurredAt: '2026-11-20T08:00:00.000Z',
    recordedAt: '2026-11-20T08:00:00.000Z',
  };
  const state = foldRecord(
    [
      {
        ...base,
        id: '0193a0b4-0000-7000-8000-00000000000a',
        type: 'CREATE',
        seq: 1,
        status: 'accepted',
        recordType: 'birth',
      },
      {
        ...base,
        id: '0193a0b4-0000-7000-8000-00000000000b',
        type: 'DECLARE',
        seq: 2,
        status: 'accepted',
        declaration,
      },
      {
        ...base,
        id: '0193a0b4-0000-7000-8000-00000000000c',
        type: 'REGISTER',
        seq: 3,
        status: 'accepted',
        registrationNumber: 'B2026IBO000042',
      },
    ],
    civil.recordTypes.get('birth'),
  );
  if (!state) throw new Error('no state');
  return state;
}

describe('certificate configuration', () => {
  it('the examples carry birth and death templates in English and French', () => {
    for (const id of ['birth-certificate', 'death-certificate']) {
      const found = certificateTemplateOf(civil, id.split('-')[0] as string, id);
      expect(found?.template.languages).toEqual(['en', 'fr']);
    }
    const clinic = loadConfiguration(example('clinic'));
    expect(
      clinic.ok ? clinic.config.document.certificates[0]?.templates[0]?.id : clinic.errors,
    ).toBe('appointment-slip');
  });

  it('reports unknown placeholders, claims, languages and revocation actions with their paths', () => {
    const document = civilDocument();
    const certificate = document.certificates?.[0];
    if (!certificate) throw new Error('no certificates');
    certificate.claims = {
      ...certificate.claims,
      nickname: 'child.nickname',
      motherNid: 'mother.nid',
    };
    certificate.revokedBy = ['VANISH'];
    const template = certificate.templates[0];
    if (!template) throw new Error('no template');
    template.html = { en: '<p>{{child.fistName}} {{{certificate.qr}}}</p>' };
    const result = loadConfiguration(document);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual(
      expect.arrayContaining([
        { path: 'certificates.0.claims.nickname', message: 'unknown field "child.nickname"' },
        {
          path: 'certificates.0.claims.motherNid',
          message: 'field "mother.nid" is sensitive and cannot be a claim',
        },
        { path: 'certificates.0.revokedBy.0', message: '"birth" offers no action "VANISH"' },
        {
          path: 'certificates.0.templates.0.html.en',
          message:
            '"{{child.fistName}}" is not a field of birth, nor record.*, certificate.* or labels.*',
        },
        { path: 'certificates.0.templates.0.html', message: 'has no HTML in "fr"' },
      ]),
    );
  });
});

describe('certificate HTML', () => {
  it('fills names, dates in the language and the registration number, escaping values', () => {
    const record = registeredBirth({ ...BIRTH, 'child.firstName': 'Ama <b>' });
    const found = certificateTemplateOf(civil, 'birth', 'birth-certificate');
    if (!found) throw new Error('no template');
    const extras = {
      qr: '<svg class="qr"></svg>',
      notice: '',
      printedAt: '2026-11-21T10:00:00.000Z',
    };
    const fr = certificateHtml(found.template, 'fr', record, civil, extras);
    expect(fr).toContain('B2026IBO000042');
    expect(fr).toContain('Ama &lt;b&gt;');
    expect(fr).toContain('Acte de naissance');
    expect(fr).toContain('21 novembre 2026');
    expect(fr).toContain('<svg class="qr"></svg>');
    expect(fr).toContain('size:A4 portrait');
    const en = certificateHtml(found.template, 'en', record, civil, extras);
    expect(en).toContain('November 21, 2026');
  });
});

describe('PRINT_CERTIFICATE annotation', () => {
  const print = (annotation?: unknown) =>
    ActionSchema.safeParse({
      id: '0193a0b4-0000-7000-8000-0000000000d1',
      recordId: '0193a0b4-0000-7000-8000-000000000001',
      type: 'PRINT_CERTIFICATE',
      occurredAt: '2026-11-20T08:00:00.000Z',
      ...(annotation === undefined ? {} : { annotation }),
    });
  const collector = {
    relationship: 'mother',
    name: 'Ama Banda',
    idType: 'NID',
    idNumber: '1234567890',
  };

  it('needs the template and who collected the certificate', () => {
    expect(print({ templateId: 'birth-certificate', collector }).success).toBe(true);
    const missing = print();
    expect(missing.error?.issues.map((i) => i.path.join('.'))).toEqual(
      expect.arrayContaining(['annotation.templateId', 'annotation.collector']),
    );
    const blank = print({
      templateId: 'birth-certificate',
      collector: { ...collector, idNumber: ' ' },
    });
    expect(blank.error?.issues.map((i) => i.path.join('.'))).toEqual([
      'annotation.collector.idNumber',
    ]);
  });
});

describe('status lists', () => {
  it('round-trips set bits through the encoded list', async () => {
    const encoded = await encodeStatusList([0, 7, 131_071]);
    expect(encoded.startsWith('u')).toBe(true);
    const isSet = await decodeStatusList(encoded);
    expect([0, 1, 7, 8, 131_071].map(isSet)).toEqual([true, false, true, false, true]);
  });
});
