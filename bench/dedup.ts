/**
 * Deduplication quality and rate: people from the labelled generator (bench/people.ts, a known
 * share of them registered twice with realistic errors, plus siblings and twins who are not
 * duplicates) are loaded with COPY as births (civil registry) and as individuals (social
 * registry), each with a CREATE and a DECLARE in the log. `deduplicateAll` (`registra dedup
 * --all`) then runs the examples' rules over them, and the pairs it flags are compared with the
 * truth: precision, recall and F1, and the rate of the bulk run.
 *
 *   npx tsx bench/dedup.ts   (BENCH_DEDUP_PEOPLE=4000 records per record type)
 */
import {
  foldLog,
  searchKeys,
  searchName,
  type Declaration,
  type Entry,
  type RecordTypeConfig,
} from '@registra/core';
import {
  deduplicateAll,
  findDuplicates,
  loadConfigFile,
  resolveConfigDir,
  type Registry,
} from '@registra/server';
import { v7 as uuidv7 } from 'uuid';
import pg from 'pg';
import {
  authors,
  copyLines,
  ENTRY_COPY,
  entryLine,
  prng,
  RECORD_COPY,
  recordLine,
  size,
  type Row,
} from './fixtures.js';
import { people, truePairs, type Person } from './people.js';
import { table, withBenchServer } from './support.js';

const COUNT = size('BENCH_DEDUP_PEOPLE', 4000, 1000);

const asBirth = (p: Person): Declaration => {
  const d: Declaration = {
    'child.firstName': p.firstName,
    'child.surname': p.surname,
    'child.sex': p.sex,
    'mother.firstName': p.motherFirstName,
    'mother.surname': p.surname,
  };
  if (p.dob) d['child.dob'] = p.dob;
  return d;
};

const asIndividual = (p: Person): Declaration => {
  const d: Declaration = {
    'person.firstName': p.firstName,
    'person.surname': p.surname,
    'person.sex': p.sex,
  };
  if (p.dob) d['person.dob'] = p.dob;
  if (p.nid) d['person.nid'] = p.nid;
  return d;
};

/** COPYs each person's CREATE and DECLARE, and the folded read-model row. Answers record ids. */
async function load(
  client: pg.Client,
  recordType: RecordTypeConfig,
  records: Person[],
  declaration: (p: Person) => Declaration,
): Promise<string[]> {
  const { agent } = await authors(client);
  const start = Date.UTC(2026, 0, 5, 8);
  const ids: string[] = [];
  const entries: string[] = [];
  const rows: string[] = [];
  records.forEach((person, i) => {
    const recordId = uuidv7();
    ids.push(recordId);
    const at = (s: number) => new Date(start + i * 1000 + s).toISOString();
    const base = {
      recordId,
      status: 'accepted' as const,
      createdBy: agent,
      createdByRole: 'field-agent',
      createdAtLocation: 'ibombo-office',
      deviceId: null,
      code: null,
      message: null,
      registrationNumber: null,
      configVersion: '1.2.0',
    };
    const log: Entry[] = [
      {
        ...base,
        id: uuidv7(),
        type: 'CREATE',
        recordType: recordType.id,
        seq: 1,
        occurredAt: at(0),
        recordedAt: at(0),
      },
      {
        ...base,
        id: uuidv7(),
        type: 'DECLARE',
        seq: 2,
        declaration: declaration(person),
        occurredAt: at(1),
        recordedAt: at(1),
      },
    ];
    for (const entry of log) entries.push(entryLine(entry, recordType.id));
    const fold = foldLog(log, recordType);
    if (!fold) throw new Error('no fold');
    rows.push(
      recordLine(
        fold.record,
        searchName(fold.record, recordType),
        searchKeys(fold.record, recordType),
      ),
    );
  });
  await copyLines(client, ENTRY_COPY, entries);
  await copyLines(client, RECORD_COPY, rows);
  await client.query('ANALYZE records');
  return ids;
}

/** The pairs the run flagged, by record index, read from the findings in the log. */
async function flaggedPairs(client: pg.Client, ids: string[]): Promise<Set<string>> {
  const index = new Map(ids.map((id, i) => [id, i]));
  const { rows } = await client.query<{ record_id: string; candidate: string }>(
    `SELECT e.record_id, c->>'recordId' AS candidate
     FROM entries e, jsonb_array_elements(e.body->'annotation'->'candidates') c
     WHERE e.type = 'DUPLICATES_FOUND' AND e.record_id = ANY($1::uuid[])`,
    [ids],
  );
  const pairs = new Set<string>();
  for (const { record_id, candidate } of rows) {
    const a = index.get(record_id);
    const b = index.get(candidate);
    if (a !== undefined && b !== undefined) pairs.add(`${Math.min(a, b)}/${Math.max(a, b)}`);
  }
  return pairs;
}

export function run(): Promise<Row[]> {
  return withBenchServer(async (server, client) => {
    const civil = server.registry;
    const { configFile } = resolveConfigDir('social-registry');
    const social: Registry = { ...server.registry, config: loadConfigFile(configFile) };
    const results: Row[] = [];
    for (const [registry, typeId, declaration] of [
      [civil, 'birth', asBirth],
      [social, 'individual', asIndividual],
    ] as const) {
      const recordType = registry.config.recordTypes.get(typeId) as RecordTypeConfig;
      const records = people(COUNT, prng(typeId === 'birth' ? 11 : 12));
      const ids = await load(client, recordType, records, declaration);
      const truth = truePairs(records);
      if (process.env['BENCH_DEDUP_PROFILE'] === '1') {
        const t0 = performance.now();
        const rows = await client.query<{ state: import('@registra/core').RecordState }>(
          'SELECT state FROM records WHERE type = $1',
          [typeId],
        );
        for (const { state } of rows.rows)
          await findDuplicates(registry, state, { olderOnly: true });
        console.log(
          `findDuplicates alone: ${(rows.rows.length / ((performance.now() - t0) / 1000)).toFixed(0)} records/s`,
        );
      }
      const started = performance.now();
      // Only this type's records are deduplicated: the other registry's types are not in it.
      const scoped: Registry = {
        ...registry,
        config: {
          ...registry.config,
          recordTypes: new Map([[typeId, recordType]]),
        },
      };
      const progress = await deduplicateAll(scoped);
      const seconds = (performance.now() - started) / 1000;
      const flagged = await flaggedPairs(client, ids);
      const hits = [...flagged].filter((p) => truth.has(p)).length;
      const precision = flagged.size === 0 ? 1 : hits / flagged.size;
      const recall = truth.size === 0 ? 1 : hits / truth.size;
      results.push({
        'record type (rules)': `${typeId} (${recordType.deduplication?.rules.map((r) => r.field.split('.')[1]).join(', ')})`,
        records: progress.done,
        'true pairs': truth.size,
        flagged: flagged.size,
        precision,
        recall,
        F1: (2 * precision * recall) / Math.max(precision + recall, 1e-9),
        'dedup --all records/s': progress.done / seconds,
      });
      const missed = [...truth].filter((p) => !flagged.has(p)).slice(0, 8);
      const wrong = [...flagged].filter((p) => !truth.has(p)).slice(0, 8);
      if (process.env['BENCH_DEDUP_SHOW'] === '1') {
        const show = (p: string) =>
          p
            .split('/')
            .map((i) => {
              const r = records[Number(i)] as Person;
              return `${r.firstName} ${r.surname} ${r.dob ?? '-'} ${r.motherFirstName} ${r.nid ?? '-'} [${r.errors.join(',')}]`;
            })
            .join('  <>  ');
        console.log(`${typeId} missed:\n  ${missed.map(show).join('\n  ')}`);
        console.log(`${typeId} wrongly flagged:\n  ${wrong.map(show).join('\n  ')}`);
      }
    }
    return results;
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(`dedup: ${COUNT} records per record type from the labelled generator`);
  table(await run());
}
