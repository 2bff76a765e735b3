/**
 * Sensitive values sealed at rest on the device (packages/client/src/vault.ts): what opening them
 * adds to a local search, which opens every record the device holds before matching. Baseline: the
 * same search (client's `matches`, an ID number typed) over the same records in the clear, in the
 * same run. Also the sealing of a record before it is stored, and the unwrapping of the data key at
 * login (PBKDF2, 210,000 iterations), once.
 *
 *   npx tsx bench/device-vault.ts      (BENCH_RECORDS=2000, BENCH_ROUNDS=5)
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { foldRecord, loadConfigurationOrThrow, type RecordState } from '@registra/core';
import { matches, type Viewer } from '../packages/client/src/local.js';
import { newWrappedKey, unwrapKey, Vault } from '../packages/client/src/vault.js';
import { birthLog } from './fold.js';
import { table } from './support.js';

const RECORDS = Number(process.env['BENCH_RECORDS'] ?? 2000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);

function records(template: RecordState): RecordState[] {
  return Array.from({ length: RECORDS }, (_, i) => ({
    ...template,
    id: `0193b000-0000-7000-8000-${String(i).padStart(12, '0')}`,
    declaration: {
      ...template.declaration,
      'mother.nid': String(1_000_000_000 + i * 7919),
      'father.nid': String(2_000_000_000 + i * 7919),
      'informant.phone': `+26097${1_000_000 + i}`,
    },
  }));
}

async function timed(task: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await task();
  return performance.now() - started;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] ?? 0;

export async function run(): Promise<Record<string, string | number>[]> {
  const url = new URL('../examples/civil-registry/config.json', import.meta.url);
  const config = loadConfigurationOrThrow(JSON.parse(readFileSync(url, 'utf8')));
  const template = foldRecord(birthLog(config), config.recordTypes.get('birth')) as RecordState;
  const plain = records(template);

  const password = 'bench-password';
  const wrapped = await newWrappedKey(password);
  let opened: Awaited<ReturnType<typeof unwrapKey>> = null;
  const unwrapMs = await timed(async () => (opened = await unwrapKey(wrapped, password)));
  if (!opened) throw new Error('the data key did not open');
  const vault = new Vault((opened as { key: CryptoKey }).key, async () => config);
  const viewer = { config, vault } as unknown as Viewer;

  let sealed: RecordState[] = [];
  const sealMs = await timed(
    async () => (sealed = await vault.openAll(plain, (s) => vault.sealState(s))),
  );
  const wanted = plain[RECORDS >> 1]?.declaration['mother.nid'] as string;
  const search = (states: RecordState[]) => states.filter((s) => matches(s, wanted, viewer));

  const clearMs: number[] = [];
  const openMs: number[] = [];
  const searchOpened = async () => {
    const found = search(await vault.openAll(sealed, (s) => vault.openState(s)));
    if (found.length !== 1) throw new Error(`found ${found.length} records`);
  };
  // The first search after an unlock opens every value; later ones find them in the vault's memory
  // (here `vault`, which sealed them).
  const coldVault = new Vault((opened as { key: CryptoKey }).key, async () => config);
  const cold = await timed(() => coldVault.openAll(sealed, (s) => coldVault.openState(s)));
  for (let round = 0; round < ROUNDS; round++) {
    clearMs.push(await timed(async () => search(plain.map((s) => ({ ...s })))));
    openMs.push(await timed(searchOpened));
  }
  const clear = median(clearMs);
  const warm = median(openMs);
  const row = (measure: string, records: number, ms: number) => ({
    measure,
    records,
    ms,
    'ratio to baseline': ms / clear,
  });
  return [
    row('local search, values in the clear (baseline)', RECORDS, clear),
    row('first search after unlock: every value opened (WebCrypto)', RECORDS, cold + clear),
    row('later searches: opened values kept in memory', RECORDS, warm),
    row('sealing before storing', RECORDS, sealMs),
    row('data key unwrapped at login (PBKDF2)', 1, unwrapMs),
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(`device vault: ${RECORDS} records, ${ROUNDS} rounds, node ${process.version}\n`);
  table(await run());
}
