/**
 * Fold: the time to fold a realistic 100-entry birth record (budget: under 1 ms), against
 * structuredClone of the same entries array in the same run, a yardstick that makes the ratio
 * independent of the machine.
 *
 *   npx tsx bench/fold.ts                          (BENCH_ITERATIONS=20000 by default)
 *   BENCH_ITERATIONS=100000 npx tsx bench/fold.ts
 *
 * The log is a legal one: every entry passes checkAction against the record folded so far, and
 * the DECLARE passes validateDeclaration, so the fold does the work it does in production.
 */
import {
  checkAction,
  foldRecord,
  loadConfigurationOrThrow,
  validateDeclaration,
  type Entry,
  type Principal,
  type RecordTypeConfig,
  type RegistryConfig,
} from '@registra/core';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const ITERATIONS = Number(process.env['BENCH_ITERATIONS'] ?? 20_000);
const WARM_UP = 2_000;
const BUDGET_US = 1_000;
const LOG_LENGTH = 100;

const RECORD = '0193a000-0000-7000-8000-00000000abcd';
const DEVICE = '0193a000-0000-7000-8000-0000000000d1';
const USERS = {
  agent: { id: '0193a000-0000-7000-8000-0000000000a1', role: 'field-agent' },
  registrar: { id: '0193a000-0000-7000-8000-0000000000a2', role: 'registrar' },
  registrar2: { id: '0193a000-0000-7000-8000-0000000000a3', role: 'registrar' },
} as const;
type User = keyof typeof USERS;

/** Every field of the civil registry's birth form that a full declaration fills in. */
const DECLARATION = {
  'child.firstName': 'Ama',
  'child.surname': 'Banda',
  'child.dob': '2026-10-01',
  'child.sex': 'female',
  'child.placeOfBirth': { province: 'central', district: 'ibombo', village: 'Chongwe' },
  'child.weightAtBirth': 3.1,
  'mother.firstName': 'Grace',
  'mother.surname': 'Banda',
  'mother.nid': '1234567890',
  'mother.dob': '1994-03-12',
  'father.detailsAvailable': true,
  'father.firstName': 'Joseph',
  'father.surname': 'Banda',
  'father.nid': '0987654321',
  'informant.relation': 'mother',
  'informant.phone': '+260971234567',
  'informant.email': 'grace.banda@example.org',
};

export interface Figures {
  entries: number;
  iterations: number;
  /** Microseconds per fold of the whole record. */
  foldMean: number;
  foldP99: number;
  /** Microseconds per structuredClone of the same entries array. */
  cloneMean: number;
  cloneP99: number;
  /** foldMean / cloneMean. */
  ratio: number;
  withinBudget: boolean;
}

function civilRegistry(): RegistryConfig {
  const url = new URL('../examples/civil-registry/config.json', import.meta.url);
  return loadConfigurationOrThrow(JSON.parse(readFileSync(url, 'utf8')));
}

/** A birth record's whole life in 100 entries, each checked against the rules as it is added. */
export function birthLog(config: RegistryConfig = civilRegistry()): Entry[] {
  const birth = config.recordTypes.get('birth') as RecordTypeConfig;
  const principals = Object.fromEntries(
    Object.entries(USERS).map(([name, user]) => [
      name,
      config.principal({ ...user, officeId: 'ibombo-office' }),
    ]),
  ) as Record<User, Principal>;
  const entries: Entry[] = [];

  const push = (user: User, fields: Partial<Entry> & Pick<Entry, 'type'>): Entry => {
    const seq = entries.length + 1;
    const principal = principals[user];
    const state = foldRecord(entries, birth);
    const verdict = checkAction(state, fields, {
      recordType: birth,
      principal,
      locations: config.locations,
    });
    if (!verdict.allowed) {
      throw new Error(
        `entry ${seq} (${fields.type} by ${user}): ${verdict.code} ${verdict.message}`,
      );
    }
    const entry: Entry = {
      id: `0193a000-0000-7000-8000-${String(seq).padStart(12, '0')}`,
      recordId: RECORD,
      occurredAt: new Date(Date.UTC(2026, 10, 1, 8, 0, seq)).toISOString(),
      seq,
      status: 'accepted',
      createdBy: principal.id,
      createdByRole: principal.role,
      createdAtLocation: 'ibombo-office',
      deviceId: DEVICE,
      recordedAt: new Date(Date.UTC(2026, 10, 1, 9, 0, seq)).toISOString(),
      code: null,
      message: null,
      registrationNumber: null,
      configVersion: config.version,
      baseSeq: seq - 1,
      ...fields,
    };
    entries.push(entry);
    return entry;
  };
  /** The automatic UNASSIGN the server appends after actions configured with `unassign`. */
  const unassign = (user: User) => push(user, { type: 'UNASSIGN', deviceId: null });

  push('agent', { type: 'CREATE', recordType: 'birth' });
  push('agent', {
    type: 'NOTIFY',
    declaration: { 'child.firstName': 'Ama', 'child.surname': 'Banda' },
  });
  // Corrections while the record is still with the field agent.
  for (let i = 0; i < 20; i++) {
    push('agent', {
      type: 'UPDATE',
      declaration:
        i % 2 === 0
          ? { 'child.weightAtBirth': 2.5 + i / 20 }
          : { 'child.placeOfBirth': { province: 'central', district: 'ibombo', village: `V${i}` } },
    });
  }
  const verdict = validateDeclaration({
    recordType: birth,
    locations: config.locations,
    action: 'DECLARE',
    current: foldRecord(entries, birth)?.declaration ?? {},
    patch: DECLARATION,
    today: '2026-11-23',
  });
  if (!verdict.ok) throw new Error(`the declaration is invalid: ${JSON.stringify(verdict.errors)}`);
  push('agent', { type: 'DECLARE', declaration: DECLARATION });
  unassign('agent');

  // A registrar sends it back for updates (REJECT); the agent takes it and updates it, which
  // clears the flag (PROTOCOL 5.3); then gives it back.
  for (let round = 0; entries.length < 65; round++) {
    const registrar: User = round % 2 === 0 ? 'registrar' : 'registrar2';
    push(registrar, { type: 'ASSIGN', assignee: USERS[registrar].id });
    push(registrar, { type: 'REJECT', annotation: { reason: `round ${round}: please check` } });
    unassign(registrar);
    push('agent', { type: 'ASSIGN', assignee: USERS.agent.id });
    for (let i = 0; i < 5; i++) {
      push('agent', {
        type: 'UPDATE',
        declaration:
          i % 3 === 0
            ? { 'mother.dob': `1994-03-${String(10 + i).padStart(2, '0')}` }
            : i % 3 === 1
              ? { 'informant.phone': `+26097123456${i}` }
              : { 'child.placeOfBirth': { village: `Village ${round}.${i}` } },
      });
    }
    push('agent', { type: 'UNASSIGN' });
  }
  push('registrar', { type: 'ASSIGN', assignee: USERS.registrar.id });
  push('registrar', { type: 'VALIDATE' });
  push('registrar', { type: 'REGISTER', registrationNumber: 'B2026IBO000001' });
  unassign('registrar');

  // Certificates, and a correction approved by a second registrar.
  push('registrar', { type: 'ASSIGN', assignee: USERS.registrar.id });
  for (let i = 0; i < 5; i++)
    push('registrar', { type: 'PRINT_CERTIFICATE', annotation: { copies: 1 } });
  const correction = push('registrar', {
    type: 'CORRECT',
    status: 'requested',
    declaration: { 'child.firstName': 'Amma' },
    annotation: { reason: 'spelling' },
  });
  unassign('registrar');
  push('registrar2', { type: 'ASSIGN', assignee: USERS.registrar2.id });
  push('registrar2', { type: 'APPROVE', requestId: correction.id });
  while (entries.length < LOG_LENGTH) {
    push('registrar2', { type: 'PRINT_CERTIFICATE', annotation: { copies: 1 } });
  }
  return entries;
}

/** Mean and p99 in microseconds of `work`, after a warm-up. */
function time(iterations: number, work: () => unknown): { mean: number; p99: number } {
  for (let i = 0; i < Math.min(WARM_UP, iterations); i++) work();
  const samples = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    const started = performance.now();
    work();
    samples[i] = performance.now() - started;
  }
  samples.sort();
  const total = samples.reduce((sum, sample) => sum + sample, 0);
  const p99 = samples[Math.min(iterations - 1, Math.floor(iterations * 0.99))] ?? 0;
  return { mean: (total / iterations) * 1000, p99: p99 * 1000 };
}

export function measure(iterations = ITERATIONS): Figures {
  const config = civilRegistry();
  const birth = config.recordTypes.get('birth');
  const entries = birthLog(config);
  const state = foldRecord(entries, birth);
  if (
    entries.length !== LOG_LENGTH ||
    state?.status !== 'REGISTERED' ||
    state.printCount < 5 ||
    state.declaration['child.firstName'] !== 'Amma'
  ) {
    throw new Error('the benchmark log does not fold as intended');
  }
  const fold = time(iterations, () => foldRecord(entries, birth));
  const clone = time(iterations, () => structuredClone(entries));
  return {
    entries: entries.length,
    iterations,
    foldMean: fold.mean,
    foldP99: fold.p99,
    cloneMean: clone.mean,
    cloneP99: clone.p99,
    ratio: fold.mean / clone.mean,
    withinBudget: fold.p99 < BUDGET_US,
  };
}

/** The figures as table rows (what `npm run bench` collects). */
export async function run(): Promise<Record<string, string | number>[]> {
  const f = measure();
  return [
    {
      what: `foldRecord, ${f.entries}-entry birth`,
      'mean µs': f.foldMean,
      'p99 µs': f.foldP99,
      'under 1 ms': f.withinBudget ? 'yes' : 'NO',
    },
    {
      what: 'baseline: structuredClone of the entries',
      'mean µs': f.cloneMean,
      'p99 µs': f.cloneP99,
      'under 1 ms': '-',
    },
    {
      what: 'ratio fold / clone',
      'mean µs': f.ratio,
      'p99 µs': f.foldP99 / f.cloneP99,
      'under 1 ms': '-',
    },
  ];
}

function print(rows: Record<string, string | number>[]): void {
  const keys = Object.keys(rows[0] ?? {});
  const cell = (value: string | number | undefined) =>
    typeof value === 'number' ? value.toFixed(2) : (value ?? '');
  const widths = keys.map((key) => Math.max(key.length, ...rows.map((r) => cell(r[key]).length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  console.log(line(keys));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) console.log(line(keys.map((key) => cell(row[key]))));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const types = new Map<string, number>();
  for (const entry of birthLog()) {
    const key = entry.status === 'accepted' ? entry.type : `${entry.type} (${entry.status})`;
    types.set(key, (types.get(key) ?? 0) + 1);
  }
  console.log(`fold: ${ITERATIONS} iterations, node ${process.version}`);
  console.log(`log: ${[...types].map(([type, n]) => `${n} ${type}`).join(', ')}\n`);
  print(await run());
}
