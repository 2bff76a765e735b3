import type { RecordState } from '@registra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BIRTH,
  declareBirth,
  Device,
  expectProblem,
  startTestServer,
  type Session,
  type TestServer,
} from './harness.js';

let server: TestServer;
let registrar: Session;
const ids: Record<string, string> = {};

/** Births, by a key this test names them by: child's and mother's names, and the mother's id. */
const PEOPLE: Record<string, Record<string, string>> = {
  amina: { 'child.firstName': 'Amina', 'child.surname': 'Banda', 'mother.firstName': 'Grace' },
  aminaZulu: { 'child.firstName': 'Amina', 'child.surname': 'Zulu', 'mother.firstName': 'Joyce' },
  amena: { 'child.firstName': 'Amena', 'child.surname': 'Sakala', 'mother.firstName': 'Joyce' },
  amima: { 'child.firstName': 'Amima', 'child.surname': 'Sakala', 'mother.firstName': 'Joyce' },
  mohamed: { 'child.firstName': 'Mohamed', 'child.surname': 'Phiri', 'mother.firstName': 'Mary' },
  catherine: {
    'child.firstName': 'Catherine',
    'child.surname': 'Nguyễn',
    'mother.firstName': 'Lucy',
  },
  chileshe: {
    'child.firstName': 'Chileshe',
    'child.surname': 'Mulenga',
    'mother.firstName': 'Ruth',
    'mother.nid': '1234567801',
  },
};

beforeAll(async () => {
  server = await startTestServer();
  registrar = await server.login('registrar');
  const device = new Device(server, await server.login('agent'));
  for (const [key, names] of Object.entries(PEOPLE)) {
    ids[key] = await declareBirth(device, {
      ...BIRTH,
      'mother.surname': names['child.surname'] as string,
      ...names,
    });
  }
});
afterAll(() => server.close());

async function search(query: string): Promise<{ results: RecordState[]; next: string | null }> {
  const response = await server.request('GET', `/api/v1/records?type=birth&${query}`, {
    token: registrar.token,
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { results: RecordState[]; next: string | null };
}

/** The test's names of the records `q` finds, in the order found. */
async function found(q: string): Promise<string[]> {
  const { results } = await search(`q=${encodeURIComponent(q)}`);
  const names = new Map(Object.entries(ids).map(([key, id]) => [id, key]));
  return results.map((r) => names.get(r.id) ?? r.id);
}

describe('q finds names the way registrars write them (PROTOCOL 10)', () => {
  it('ignores case and accents', async () => {
    expect(await found('NGUYEN')).toEqual(['catherine']);
    expect(await found('nguyễn')).toEqual(['catherine']);
  });

  it('ignores word order, and ranks records matching every word before those matching some', async () => {
    // Then those matching one word, newest first.
    const expected = ['amina', 'amima', 'amena', 'aminaZulu'];
    expect(await found('Banda Amina')).toEqual(expected);
    expect(await found('Amina Banda')).toEqual(expected);
  });

  it('tolerates one typo in a part of 4 to 7 letters and two in longer ones, not more', async () => {
    expect(await found('Mulnega')).toEqual(['chileshe']); // two letters swapped
    expect(await found('Mlenga')).toEqual(['chileshe']); // one dropped
    expect(await found('Chilxshx')).toEqual(['chileshe']); // two changed in eight letters
    expect(await found('Mxlxnga')).toEqual([]); // two changed in seven letters
    expect(await found('Zulx')).toEqual(['aminaZulu']);
    expect(await found('Zxlx')).toEqual([]);
  });

  it('finds sound-alike spellings', async () => {
    expect(await found('Muhammad')).toEqual(['mohamed']);
    expect(await found('Katherine')).toEqual(['catherine']);
  });

  it('ranks exact matches before sound-alikes before typos', async () => {
    const amina = await found('Amina');
    // Both Aminas match exactly (newest first), Amena by sound, Amima by a typo.
    expect(amina).toEqual(['aminaZulu', 'amina', 'amena', 'amima']);
  });

  it('pages through the ranking without losing or repeating a record', async () => {
    const all: string[] = [];
    let next: string | null = null;
    do {
      const page: { results: RecordState[]; next: string | null } = await search(
        `q=Amina&limit=1${next ? `&after=${next}` : ''}`,
      );
      all.push(...page.results.map((r) => r.id));
      next = page.next;
    } while (next);
    expect(all).toEqual(['aminaZulu', 'amina', 'amena', 'amima'].map((k) => ids[k]));
  });

  it('finds a partial tracking id of five characters or more, first', async () => {
    const { results } = await search(`q=${ids['chileshe'] ?? ''}`);
    expect(results).toEqual([]); // a record id is not a tracking id
    const tracking = (await search(`q=Mulenga`)).results[0]?.trackingId ?? '';
    const middle = tracking.slice(3, 9).toLowerCase();
    expect((await search(`q=${middle}`)).results.map((r) => r.id)).toEqual([ids['chileshe']]);
  });

  it('finds an identifier field exactly, by `field.<id>=`, spaces and separators aside', async () => {
    const { results } = await search('field.mother.nid=123%20456-7801');
    expect(results.map((r) => r.id)).toEqual([ids['chileshe']]);
    expect((await search('field.mother.nid=1234567802')).results).toEqual([]);
  });

  it('refuses a field that is no identifier, and an unknown parameter: 400 INVALID_INPUT', async () => {
    for (const query of ['field.child.firstName=Amina', 'field.nothing=1', 'colour=blue']) {
      const response = await server.request('GET', `/api/v1/records?${query}`, {
        token: registrar.token,
      });
      await expectProblem(response, 400, 'INVALID_INPUT');
    }
  });
});
