import { adapterUsername, loadConfiguration, loadConfigurationOrThrow } from '@registra/core';
import { describe, expect, it } from 'vitest';
import { example } from './fixtures.js';

/** The civil registry example with these adapters instead of its own. */
function withAdapters(adapters: unknown[]) {
  const doc = example('civil-registry') as Record<string, unknown>;
  return loadConfiguration({ ...doc, adapters }, { env: { OUT_URL: 'http://127.0.0.1:9/out' } });
}

const out = {
  id: 'stats',
  label: 'Stats',
  direction: 'out',
  url: 'http://x.test',
  mapping: 'entry',
};
const into = {
  id: 'facilities',
  label: 'Facilities',
  direction: 'in',
  url: 'http://x.test',
  recordType: 'birth',
  role: 'field-agent',
  office: 'ibombo-office',
  mapping: '[]',
};

describe('adapters in the configuration (issue 16)', () => {
  it('are off until their address is set; an adapter out rides on a notify hook of its own', () => {
    const off = loadConfigurationOrThrow(example('civil-registry'), { env: {} });
    expect(off.hooks.has('statistics-office')).toBe(false);
    const on = loadConfigurationOrThrow(example('civil-registry'), {
      env: { REGISTRA_STATISTICS_URL: 'http://127.0.0.1:9/births' },
    });
    expect(on.hooks.get('statistics-office')).toMatchObject({
      kind: 'notify',
      url: 'http://127.0.0.1:9/births',
      recordTypes: ['birth'],
      actions: ['REGISTER', 'APPROVE'],
      adapter: { headers: [{ name: 'Authorization', valueEnv: 'REGISTRA_STATISTICS_TOKEN' }] },
    });
    expect(on.hooks.get('statistics-office')?.secretEnv).toBeUndefined();
    // Devices are given neither the adapters nor their hooks.
    expect(on.clientDocument.adapters).toEqual([]);
    const social = loadConfigurationOrThrow(example('social-registry'), {
      env: { REGISTRA_SURVEY_URL: 'http://127.0.0.1:9/export' },
    });
    expect(social.inAdapters.get('survey-households')).toMatchObject({
      recordType: 'household',
      role: 'enumerator',
      items: 'results',
      maxPages: 100,
    });
    expect(adapterUsername('survey-households')).toBe('adapter:survey-households');
  });

  it('takes adapters in and out that are sound', () => {
    const result = withAdapters([
      out,
      into,
      { ...out, id: 'env', url: undefined, urlEnv: 'OUT_URL' },
    ]);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect([...result.config.inAdapters.keys()]).toEqual(['facilities']);
    expect(result.config.hooks.get('env')?.url).toBe('http://127.0.0.1:9/out');
  });

  it('refuses adapters that cannot work, each with its path', () => {
    const shape = withAdapters([
      { ...out, url: undefined },
      { ...into, schedule: 'often' },
      { ...out, headers: [{ name: 'Authorization', value: 'secret in the file' }] },
    ]);
    expect(shape.ok).toBe(false);
    if (shape.ok) return;
    const paths = shape.errors.map((e) => e.path);
    expect(paths).toContain('adapters.0');
    expect(paths).toContain('adapters.1.schedule');
    expect(paths.some((p) => p.startsWith('adapters.2.headers.0'))).toBe(true);

    const crossed = withAdapters([
      { ...out, id: 'events' },
      { ...out, recordTypes: ['cat'] },
      { ...into, recordType: 'cat', role: 'nobody', office: 'atlantis' },
      { ...into },
    ]);
    expect(crossed.ok).toBe(false);
    if (crossed.ok) return;
    expect(crossed.errors.map((e) => `${e.path}: ${e.message}`)).toEqual([
      'adapters.0.id: duplicate id "events" (hooks and adapters share ids)',
      'adapters.1.recordTypes.0: unknown record type "cat"',
      'adapters.2.recordType: unknown record type "cat"',
      'adapters.2.role: unknown role "nobody"',
      'adapters.2.office: unknown location "atlantis"',
      'adapters.3.id: duplicate id "facilities" (hooks and adapters share ids)',
    ]);
  });
});
