/**
 * Data for the benchmarks: realistic names and birth declarations, log entries and read-model rows
 * in COPY text format, percentiles, and sizes that BENCH_QUICK=1 shrinks ten times.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  ACTION_BODY_KEYS,
  foldRecord,
  searchKeys,
  searchName,
  type Declaration,
  type Entry,
  type RecordState,
  type RecordTypeConfig,
} from '@registra/core';
import { entryHash } from '@registra/server';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { v7 as uuidv7 } from 'uuid';
import { prng } from '../test/support/prng.js';

export type Row = Record<string, string | number>;

/** A size from the environment, or its default (a tenth of it, at least `min`, with BENCH_QUICK=1). */
export function size(name: string, full: number, min = 1): number {
  const given = process.env[name];
  if (given !== undefined && given !== '') return Number(given);
  return process.env['BENCH_QUICK'] === '1' ? Math.max(min, Math.round(full / 10)) : full;
}

/** A small seeded PRNG (mulberry32): the same data on every run. */
export { prng };

export function pick<T>(random: () => number, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)] as T;
}

const FIRST = `Aaron Abel Abigail Adam Agatha Agnes Akufuna Alice Alick Allan Amos Andrew Angela Anna
  Annie Barbara Beatrice Benard Benson Bertha Blessing Boniface Brenda Brian Bupe Bwalya Bwembya
  Catherine Chabala Chama Chanda Charity Charles Chawezi Cheelo Chibwe Chileshe Chilombo Chilufya
  Chimwemwe Chipo Chisanga Chisomo Chola Choolwe Christopher Chuma Clara Clement Collins Constance
  Daliso Dalitso Daniel David Dennis Dorothy Edna Edward Elijah Elizabeth Emmanuel Enock Esther
  Eunice Evelyn Faith Felix Florence Francis Fred Gabriel George Gertrude Gift Given Grace Hannah
  Harriet Helen Henry Hope Ian Inonge Inutu Isaac Jacob James Jane Janet Jennifer Joel John Joseph
  Joyce Judith Juliet Justin Kabwe Kalaba Kalinda Kalumba Kalunga Kapambwe Kasonde Kelvin Kennedy
  Kondwani Kunda Lackson Lazarus Levy Limbani Linda Liseli Lombe Loveness Lubinda Lucy Lulu Lumbwe
  Lungowe Luyando Lweendo Mable Mainza Malama Mapalo Margaret Martha Mary Mathews Maureen Mbuyu
  Memory Mercy Michael Miriam Monde Moses Mphatso Mubanga Mukela Mukuka Mulenga Mumba Musenge
  Musonda Mutale Mutinta Mwaka Mwangala Mwansa Mwape Mwenya Mwila Namakau Namasiku Namukolo Namwaka
  Nalishebo Nancy Natasha Nchimunya Nelson Njavwa Nkandu Nomsa Nsama Obed Oliver Pamela Patience
  Patrick Paul Peter Precious Prisca Rachel Rebecca Regina Richard Robert Ruth Samuel Sarah Sepiso
  Sibeso Sipho Stephen Susan Sylvia Tamara Taonga Temwani Thandiwe Thokozani Tiwonge Tumelo Twaambo
  Victor Violet Wezi Wilson Yande Yvonne Zanele Abraham Bridget Cecilia Doreen Edith Febby Gladys
  Ireen Jackson Kenneth Lillian Martin Nathan Owen Priscilla Quincy Rose Simon Teddy Vincent Winnie`;

const SURNAMES = `Banda Phiri Mwale Tembo Zulu Lungu Mulenga Mwansa Chanda Bwalya Mumba Musonda Kabwe Sakala
  Ngoma Daka Nyirenda Mbewe Mvula Zimba Kaunda Chola Chilufya Chileshe Mutale Kasonde Kapambwe
  Chisanga Mwamba Chibwe Mwape Mubanga Kalaba Chama Mukuka Mwila Lubinda Mubita Sitali Mwiinga
  Hachanda Hamoonga Haambote Muleya Mweemba Siame Simukonda Sikazwe Silwamba Simwanza Sinyangwe
  Sichone Simbeye Kalunga Kaoma Kapembwa Kasanda Katongo Katebe Kateule Kawimbe Kayombo Kazembe
  Kunda Lumbwe Lupiya Malama Mambwe Manda Mapulanga Matongo Mbao Mbulo Miti Moono Mpundu Mukanda
  Mulongoti Mumbi Mundia Mupeta Musukwa Mutati Mutembo Muyunda Mwanza Mwenya Namakando Nawa Ndhlovu
  Ngulube Njobvu Nkhata Nkhoma Nkonde Nsofwa Nyambe Nyendwa Sakwiba Samakai Shamambo Shawa
  Sialubalo Sibanda Sichilongo Siwale Soko Wamunyima Yamba Zgambo Zyambo Chiluba Chisenga Chisha
  Chomba Chongo Chulu Hamweemba Jere Kachingwe Kafula Kalinda Kalumba Kamanga Kambole Kangwa Kapasa
  Kasongo Kaweme Kayula Lembalemba Liato Lishomwa Lubasi Lukonde Makumba Mambo Masiye Mazuba Membe
  Mfula Milambo Mooya Mubiana Mufune Mukosa Mulaisho Mumbuna Munali Mushota Mwangala Mwewa Mwiche
  Nachilima Nalumino Namonje Ndalama Ngandu Njovu Nkandu Nsama Nyangu Pikiti Sampa Sata Sikombe
  Silumesii Simfukwe Simpamba Sinkala Sitima Sondashi Suba Tembwe Tuvwe Ulaya Walubita Yumbe Chirwa
  Gondwe Kumwenda Msiska Munthali Mkandawire Nyasulu Kaira Mhango Moyo Ncube Dube Nkosi Mahlangu
  Khumalo Mokoena Okafor Mensah Owusu Kamau Otieno Wanjiru Mwangi Achieng Hassan Abdi Mutinta
  Chipili Kabaso Kalenga Kanyanta Kasapo Lwando Mulonda Musanda Muzyamba Nambela Sililo Syamujaye`;

const words = (text: string) => [...new Set(text.split(/\s+/).filter(Boolean))];
export const FIRST_NAMES: readonly string[] = words(FIRST);
export const SURNAMES_LIST: readonly string[] = words(SURNAMES);

/** One edit a person makes when typing a name: a letter changed, dropped, doubled or swapped. */
export function typo(word: string, random: () => number): string {
  const i = 1 + Math.floor(random() * (word.length - 2));
  const letters = 'aeioumnkls';
  switch (Math.floor(random() * 4)) {
    case 0:
      return word.slice(0, i) + pick(random, [...letters]) + word.slice(i + 1);
    case 1:
      return word.slice(0, i) + word.slice(i + 1);
    case 2:
      return word.slice(0, i) + (word[i] ?? '') + word.slice(i);
    default:
      return word.slice(0, i - 1) + (word[i] ?? '') + (word[i - 1] ?? '') + word.slice(i + 1);
  }
}

/** A birth as a field agent captures it, over three steps: NOTIFY, UPDATE, DECLARE. */
export interface Birth {
  notify: Declaration;
  update: Declaration;
  declare: Declaration;
  childFirstName: string;
  surname: string;
  motherFirstName: string;
}

const DISTRICTS = [
  { province: 'central', district: 'ibombo' },
  { province: 'central', district: 'isamba' },
] as const;

export function birth(random: () => number): Birth {
  const surname = pick(random, SURNAMES_LIST);
  const childFirstName = pick(random, FIRST_NAMES);
  const motherFirstName = pick(random, FIRST_NAMES);
  const motherSurname = random() < 0.7 ? surname : pick(random, SURNAMES_LIST);
  const day = 1 + Math.floor(random() * 28);
  const month = 1 + Math.floor(random() * 10);
  const dob = `2026-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
  const nid = () => String(Math.floor(1e9 + random() * 8.99e9));
  const phone = `+26097${String(Math.floor(1e6 + random() * 8.99e6))}`;
  const withFather = random() < 0.6;
  return {
    childFirstName,
    surname,
    motherFirstName,
    notify: {
      'child.firstName': childFirstName,
      'child.surname': surname,
      'child.sex': random() < 0.5 ? 'female' : 'male',
    },
    update: {
      'mother.firstName': motherFirstName,
      'mother.surname': motherSurname,
      'mother.nid': nid(),
      'informant.relation': 'mother',
      'informant.phone': phone,
    },
    declare: {
      'child.dob': dob,
      'child.placeOfBirth': {
        ...pick(random, DISTRICTS),
        village: `${pick(random, SURNAMES_LIST)} village`,
      },
      'child.weightAtBirth': Math.round((2.2 + random() * 2.3) * 10) / 10,
      'mother.dob': `19${80 + Math.floor(random() * 20)}-0${1 + Math.floor(random() * 9)}-1${Math.floor(random() * 9)}`,
      'father.detailsAvailable': withFather,
      ...(withFather
        ? {
            'father.firstName': pick(random, FIRST_NAMES),
            'father.surname': surname,
            'father.nid': nid(),
          }
        : {}),
    },
  };
}

/** A birth's declarations, one per step that carries one. */
export type BirthSteps = Pick<Birth, 'notify' | 'update' | 'declare'>;

/**
 * A birth as an agent's device sends it to /sync (deviceSeq not yet stamped): CREATE, then NOTIFY,
 * UPDATE and DECLARE with these declarations, all at `occurredAt`.
 */
export function birthActions(steps: BirthSteps, occurredAt: string): Record<string, unknown>[] {
  const recordId = uuidv7();
  return [
    { id: uuidv7(), recordId, type: 'CREATE', recordType: 'birth', occurredAt },
    { id: uuidv7(), recordId, type: 'NOTIFY', occurredAt, baseSeq: 1, declaration: steps.notify },
    { id: uuidv7(), recordId, type: 'UPDATE', occurredAt, baseSeq: 2, declaration: steps.update },
    {
      id: uuidv7(),
      recordId,
      type: 'DECLARE',
      occurredAt,
      baseSeq: 3,
      declaration: steps.declare,
    },
  ];
}

/** The ingest benchmarks' i-th record: the four actions of a birth, all accepted for an agent. */
export function ingestActions(i: number): Record<string, unknown>[] {
  return birthActions(
    {
      notify: {
        'child.firstName': `Chanda${i % 997}`,
        'child.surname': 'Mwale',
        'child.sex': 'male',
      },
      update: {
        'mother.firstName': 'Mutale',
        'mother.surname': 'Mwale',
        'informant.phone': '+260971234567',
      },
      declare: {
        'child.dob': '2026-10-01',
        'child.placeOfBirth': { province: 'central', district: 'ibombo' },
      },
    },
    new Date(Date.UTC(2026, 10, 20, 8, 0, i % 60)).toISOString(),
  );
}

/** The first `total` of the ingest benchmarks' actions, in sync batches of `batch`. */
export function ingestBatches(total: number, batch: number): Record<string, unknown>[][] {
  const all: Record<string, unknown>[] = [];
  for (let i = 0; all.length < total; i++) all.push(...ingestActions(i));
  const out: Record<string, unknown>[][] = [];
  for (let i = 0; i < total; i += batch) out.push(all.slice(i, i + batch));
  return out;
}

/** Who appended entries: the users of the civil-registry example, by id. */
export interface Authors {
  agent: string;
  registrar: string;
}

/** The ids of the example's agent and registrar in a seeded database. */
export async function authors(client: pg.ClientBase): Promise<Authors> {
  const { rows } = await client.query<{ username: string; id: string }>(
    `SELECT username, id FROM users WHERE username IN ('agent', 'registrar')`,
  );
  const id = (name: string) => {
    const row = rows.find((r) => r.username === name);
    if (!row) throw new Error(`no user ${name}: seed the database first`);
    return row.id;
  };
  return { agent: id('agent'), registrar: id('registrar') };
}

export type Step = 'CREATE' | 'NOTIFY' | 'UPDATE' | 'DECLARE' | 'UNASSIGN' | 'ASSIGN' | 'VALIDATE';

/**
 * One record's log as the server would have stored it: each step's body as a device sent it, the
 * seq, who did it, when. UPDATE steps after the first change the phone number.
 */
export function recordLog(
  steps: readonly Step[],
  people: Authors,
  random: () => number,
  start: number,
): { entries: Entry[]; birth: Birth } {
  const recordId = uuidv7();
  const person = birth(random);
  const device = uuidv7();
  const entries: Entry[] = [];
  let updates = 0;
  steps.forEach((type, i) => {
    const at = new Date(start + i * 60_000).toISOString();
    const byRegistrar = type === 'ASSIGN' || type === 'VALIDATE';
    const byServer = type === 'UNASSIGN';
    const body: Record<string, unknown> = { id: uuidv7(), recordId, type, occurredAt: at };
    if (type === 'CREATE') body['recordType'] = 'birth';
    else if (!byServer) body['baseSeq'] = i;
    if (type === 'NOTIFY') body['declaration'] = person.notify;
    if (type === 'UPDATE') {
      body['declaration'] =
        updates++ === 0
          ? person.update
          : { 'informant.phone': `+26097${String(Math.floor(1e6 + random() * 8.99e6))}` };
    }
    if (type === 'DECLARE') body['declaration'] = person.declare;
    if (type === 'ASSIGN') body['assignee'] = people.registrar;
    entries.push({
      ...(body as Pick<Entry, 'id' | 'recordId' | 'type' | 'occurredAt'>),
      seq: i + 1,
      status: 'accepted',
      createdBy: byRegistrar ? people.registrar : people.agent,
      createdByRole: byRegistrar ? 'registrar' : 'field-agent',
      createdAtLocation: 'ibombo-office',
      deviceId: byServer ? null : device,
      ...(byServer ? {} : { deviceSeq: i + 1 }),
      recordedAt: new Date(start + i * 60_000 + 5_000).toISOString(),
      code: null,
      message: null,
      registrationNumber: null,
      configVersion: '1.0.0',
    });
  });
  return { entries, birth: person };
}

/**
 * COPYs the logs of `records` records of these steps (people from prng(seed), a record a second
 * from 2026-01-05 08:00 UTC) and their folded read-model rows, `perCopy` records per COPY pair.
 * Returns the seconds the COPYs took.
 */
export async function copyRecordLogs(
  client: pg.ClientBase,
  recordType: RecordTypeConfig,
  options: {
    steps: readonly Step[];
    records: number;
    perCopy: number;
    seed: number;
    /** Store each entry's chain (hash, prevHash), as appends do since migration 0011. */
    chained?: boolean;
  },
): Promise<number> {
  const { steps, records, perCopy } = options;
  const people = await authors(client);
  const random = prng(options.seed);
  const start = Date.UTC(2026, 0, 5, 8);
  let seconds = 0;
  for (let first = 0; first < records; first += perCopy) {
    const entries: string[] = [];
    const rows: string[] = [];
    for (let i = first; i < Math.min(records, first + perCopy); i++) {
      const log = recordLog(steps, people, random, start + i * 1_000);
      let prevHash: string | null = null;
      for (const entry of log.entries) {
        if (!options.chained) {
          entries.push(entryLine(entry));
          continue;
        }
        const hash = entryHash(entry, prevHash);
        entries.push(`${entryLine(entry).slice(0, -1)}\t${hash}\t${copyText(prevHash)}\n`);
        prevHash = hash;
      }
      rows.push(foldedLine(log.entries, recordType));
    }
    seconds += await copyLines(client, options.chained ? CHAINED_ENTRY_COPY : ENTRY_COPY, entries);
    seconds += await copyLines(client, RECORD_COPY, rows);
  }
  return seconds;
}

/** A value in PostgreSQL's COPY text format. */
export function copyText(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '\\N';
  return String(value)
    .replace(/\\/g, '\\\\')
    .replace(/\t/g, '\\t')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r');
}

export const ENTRY_COPY =
  'COPY entries (id, record_id, seq, record_type, type, body, device_id, device_seq, status, code, message, ' +
  'registration_number, created_by, created_by_role, created_at_location, recorded_at, config_version) FROM STDIN';

const CHAINED_ENTRY_COPY = `${ENTRY_COPY.replace(') FROM STDIN', ', hash, prev_hash) FROM STDIN')}`;

export function entryLine(entry: Entry, recordType = 'birth'): string {
  const body: Record<string, unknown> = {};
  for (const key of ACTION_BODY_KEYS) if (entry[key] !== undefined) body[key] = entry[key];
  return `${[
    entry.id,
    entry.recordId,
    entry.seq,
    recordType,
    entry.type,
    JSON.stringify(body),
    entry.deviceId,
    entry.deviceSeq ?? null,
    entry.status,
    entry.code,
    entry.message,
    entry.registrationNumber,
    entry.createdBy,
    entry.createdByRole,
    entry.createdAtLocation,
    entry.recordedAt,
    entry.configVersion,
  ]
    .map(copyText)
    .join('\t')}\n`;
}

export const RECORD_COPY =
  'COPY records (id, type, status, flags, tracking_id, registration_number, assigned_to, created_at_location, ' +
  'created_by, created_at, updated_at, seq, name, state, search_keys) FROM STDIN';

/** A text[] literal, every element quoted. */
export function arrayLiteral(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/[\\"]/g, '\\$&')}"`).join(',')}}`;
}

/** A read-model row in COPY text; `keys` are core's searchKeys of the state. */
export function recordLine(state: RecordState, name: string, keys: readonly string[]): string {
  return `${[
    state.id,
    state.type,
    state.status,
    `{${state.flags.join(',')}}`,
    state.trackingId,
    state.registrationNumber,
    state.assignedTo,
    state.createdAtLocation,
    state.createdBy,
    state.createdAt,
    state.updatedAt,
    state.seq,
    name,
    JSON.stringify(state),
    arrayLiteral(keys),
  ]
    .map(copyText)
    .join('\t')}\n`;
}

/** The read-model row of a log, folded by the same fold as the server's. */
export function foldedLine(entries: Entry[], recordType: RecordTypeConfig): string {
  const state = foldRecord(entries, recordType);
  if (!state) throw new Error('the log folds to no record');
  return recordLine(state, searchName(state, recordType), searchKeys(state, recordType));
}

/** Streams COPY lines into PostgreSQL; returns the seconds it took. */
export async function copyLines(
  client: pg.ClientBase,
  statement: string,
  lines: Iterable<string>,
): Promise<number> {
  const started = performance.now();
  await pipeline(Readable.from(batched(lines)), client.query(copyFrom(statement)));
  return (performance.now() - started) / 1000;
}

/** Joins lines into chunks of about 64 KiB: far fewer stream writes than one per line. */
function* batched(lines: Iterable<string>): Generator<string> {
  let chunk = '';
  for (const line of lines) {
    chunk += line;
    if (chunk.length >= 65_536) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

/** The q-th quantile (0..1) of a list of numbers, nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

export function elapsed(started: number): number {
  return (performance.now() - started) / 1000;
}
