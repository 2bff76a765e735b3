import { kekIdsInUse, keysToRewrap, replaceWrappedKey } from '../../store/record-keys.js';
import type { Registry } from '../context.js';

export interface RotationReport {
  kekId: string;
  rewrapped: number;
}

/**
 * Rotates the key-encryption key (PROTOCOL 13): a new KEK becomes current, then every data key
 * wrapped by another one is re-wrapped by it, a page at a time, while writes go on (a key written
 * meanwhile under an old KEK is found by the next page). The data keys, and so the log and the
 * read model, are untouched. Old KEKs stay in the provider until `retireKeks`.
 */
export async function rotateKek(
  registry: Registry,
  options: { batchSize?: number; onProgress?: (rewrapped: number) => void } = {},
): Promise<RotationReport> {
  const { vault, db } = registry;
  const kekId = await vault.provider.rotate();
  let rewrapped = 0;
  for (;;) {
    const page = await keysToRewrap(db, kekId, options.batchSize ?? 500);
    if (page.length === 0) break;
    for (const stored of page) {
      const wrapped = await vault.rewrap(stored, kekId);
      if (wrapped) await replaceWrappedKey(db, stored, kekId, wrapped);
      rewrapped += 1;
    }
    options.onProgress?.(rewrapped);
  }
  return { kekId, rewrapped };
}

/** Forgets the KEKs that no data key is wrapped with; returns those kept. */
export async function retireKeks(registry: Registry): Promise<string[]> {
  const inUse = await kekIdsInUse(registry.db);
  const current = await registry.vault.provider.currentKekId();
  const keep = new Set([...inUse, current]);
  await registry.vault.provider.retire(
    (await registry.vault.provider.kekIds()).filter((id) => !keep.has(id)),
  );
  return [...keep];
}
