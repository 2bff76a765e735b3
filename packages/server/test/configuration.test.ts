import { loadConfigurationOrThrow, type Configuration } from '@registra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile, resolveConfigDir, seed } from '../src/services/seed.js';
import { freshDatabase } from './harness.js';

let database: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  database = await freshDatabase();
});
afterAll(() => database.drop());

/** The civil registry example, with `change` applied to a copy of its document. */
function civilRegistry(change: (document: Configuration) => void = () => undefined) {
  const { configFile } = resolveConfigDir('civil-registry');
  const document = structuredClone(loadConfigFile(configFile).document);
  change(document);
  return loadConfigurationOrThrow(document);
}

describe('configuration versions', () => {
  it('keeps one document per version: the same again is fine, a changed one needs a new version', async () => {
    await seed(database.db, civilRegistry(), null, 'unused-password');
    await seed(database.db, civilRegistry(), null, 'unused-password');

    const renamed = civilRegistry((document) => {
      (document.recordTypes[0] as { label: string }).label = 'Birth (renamed)';
    });
    await expect(seed(database.db, renamed, null, 'unused-password')).rejects.toThrow(
      /version [0-9.]+ is already stored with another document/,
    );

    const bumped = civilRegistry((document) => {
      (document.recordTypes[0] as { label: string }).label = 'Birth (renamed)';
      document.version = '1.1.1';
    });
    await expect(seed(database.db, bumped, null, 'unused-password')).resolves.toEqual([]);
  });
});
