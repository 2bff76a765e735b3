import type { Entry, RecordState } from '@registra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deduplicateAll, deduplicateRecord } from '../src/services/deduplication/index.js';
import {
  action,
  BIRTH,
  declareBirth,
  Device,
  type Session,
  startTestServer,
  type TestServer,
} from './harness.js';

let server: TestServer;
let agent: Device;
let registrar: Device;
beforeAll(async () => {
  server = await startTestServer();
  agent = new Device(server, await server.login('agent'));
  registrar = new Device(server, await server.login('registrar'));
});
afterAll(() => server.close());

async function get(id: string, session: Session = registrar.session) {
  const response = await server.request('GET', `/api/v1/records/${id}`, { token: session.token });
  expect(response.status).toBe(200);
  return (await response.json()) as { record: RecordState; entries: Entry[] };
}

/** Surnames far apart, one per pair, so that pairs do not match each other. */
const SURNAMES = [
  'Mwansa',
  'Tembo',
  'Kaunda',
  'Nyirenda',
  'Chisanga',
  'Zimba',
  'Hamoonga',
  'Sikazwe',
];
let names = 0;
/** Two births of the same child, written a little differently; answers [first, second]. */
async function similarPair(device = agent): Promise<[string, string]> {
  names += 1;
  const surname = SURNAMES[names] as string;
  const first = await declareBirth(device, {
    ...BIRTH,
    'child.firstName': 'Amina',
    'child.surname': surname,
    'mother.surname': surname,
  });
  const second = await declareBirth(device, {
    ...BIRTH,
    'child.firstName': 'Amena',
    'child.surname': surname,
    'mother.surname': surname,
    'child.dob': '2026-10-02',
  });
  return [first, second];
}

describe('deduplication after DECLARE (PROTOCOL 10)', () => {
  it('appends DUPLICATES_FOUND as the server, with evidence for the fields the rules name', async () => {
    const [first, second] = await similarPair();
    const outcome = await deduplicateRecord(server.registry, second, 'test');
    expect(outcome.result).toMatchObject({ outcome: 'accepted' });
    const { record, entries } = await get(second);
    expect(record.flags).toContain('duplicate:suspected');
    const finding = entries.at(-1) as Entry;
    expect(finding).toMatchObject({
      type: 'DUPLICATES_FOUND',
      createdBy: 'system',
      deviceId: null,
      status: 'accepted',
    });
    const [candidate] = record.duplicates ?? [];
    expect(candidate?.recordId).toBe(first);
    expect(candidate?.score).toBeGreaterThanOrEqual(0.8);
    expect(candidate?.evidence?.['child.firstName']).toEqual({
      this: 'Amena',
      that: 'Amina',
      match: 'phonetic',
      score: 0.9,
    });
    expect(candidate?.evidence?.['child.dob']).toMatchObject({ match: 'dateRange' });
    expect(Object.keys(candidate?.evidence ?? {}).sort()).toEqual([
      'child.dob',
      'child.firstName',
      'child.surname',
      'mother.firstName',
      'mother.surname',
    ]);
  });

  it('appends nothing twice for the same cause, nor for records with nothing alike', async () => {
    const [, second] = await similarPair();
    await deduplicateRecord(server.registry, second, 'cause-1');
    await deduplicateRecord(server.registry, second, 'cause-1');
    const { entries } = await get(second);
    expect(entries.filter((e) => e.type === 'DUPLICATES_FOUND')).toHaveLength(1);
    const lone = await declareBirth(agent, {
      ...BIRTH,
      'child.firstName': 'Zebediah',
      'child.surname': 'Quarshie',
      'mother.firstName': 'Philippa',
      'mother.surname': 'Quarshie',
    });
    expect((await deduplicateRecord(server.registry, lone, 'x')).result).toBe('none found');
  });

  it('refuses REGISTER and VALIDATE while suspected; MARK_NOT_DUPLICATE lets it be registered', async () => {
    const [, second] = await similarPair();
    await deduplicateRecord(server.registry, second, 'test');
    const [assigned, register, validate] = await registrar.push(
      action({ type: 'ASSIGN', recordId: second, assignee: registrar.session.user.id }),
      action({ type: 'REGISTER', recordId: second }),
    );
    expect(assigned?.outcome).toBe('accepted');
    expect(register).toMatchObject({ outcome: 'rejected', code: 'INVALID_TRANSITION' });
    void validate;
    const [again] = await registrar.push(action({ type: 'VALIDATE', recordId: second }));
    expect(again).toMatchObject({ outcome: 'rejected', code: 'INVALID_TRANSITION' });

    const [mark, registered] = await registrar.push(
      action({
        type: 'MARK_NOT_DUPLICATE',
        recordId: second,
        annotation: { reason: 'different children' },
      }),
      action({ type: 'REGISTER', recordId: second }),
    );
    expect(mark?.outcome).toBe('accepted');
    expect(registered?.outcome).toBe('accepted');
    const { record } = await get(second);
    expect(record.status).toBe('REGISTERED');
    expect(record.flags).not.toContain('duplicate:suspected');
    // A decided pair is not flagged again.
    expect((await deduplicateRecord(server.registry, second, 'later')).result).toBe('none found');
  });

  it('MARK_DUPLICATE names the original; the record can then only be archived', async () => {
    const [first, second] = await similarPair();
    await deduplicateRecord(server.registry, second, 'test');
    const results = await registrar.push(
      action({ type: 'ASSIGN', recordId: second, assignee: registrar.session.user.id }),
      action({
        type: 'MARK_DUPLICATE',
        recordId: second,
        annotation: { reason: 'same child', duplicateOf: first },
      }),
    );
    expect(results.map((r) => r.outcome)).toEqual(['accepted', 'accepted']);
    const [validate] = await registrar.push(action({ type: 'VALIDATE', recordId: second }));
    expect(validate).toMatchObject({ outcome: 'rejected', code: 'INVALID_TRANSITION' });
    const [archive] = await registrar.push(
      action({ type: 'ARCHIVE', recordId: second, annotation: { reason: 'duplicate' } }),
    );
    expect(archive?.outcome).toBe('accepted');
    expect((await get(second)).record.flags).toEqual(['duplicate']);
  });

  it('refuses the decision to someone without the reviewer permission, and DUPLICATES_FOUND to anyone', async () => {
    const [first, second] = await similarPair();
    await deduplicateRecord(server.registry, second, 'test');
    const [forged] = await agent.push(
      action({
        type: 'DUPLICATES_FOUND',
        recordId: first,
        annotation: { candidates: [{ recordId: second, score: 1, evidence: {} }] },
      }),
    );
    expect(forged).toMatchObject({ outcome: 'rejected', code: 'INVALID_INPUT' });
    const supervisor = new Device(server, await server.login('supervisor'));
    const [assign, mark] = await supervisor.push(
      action({ type: 'ASSIGN', recordId: second, assignee: supervisor.session.user.id }),
      action({ type: 'MARK_NOT_DUPLICATE', recordId: second, annotation: { reason: 'no' } }),
    );
    expect(assign?.outcome).toBe('accepted');
    expect(mark).toMatchObject({ outcome: 'rejected', code: 'FORBIDDEN' });
  });

  it('shows candidates outside the reviewer’s reach with their id and score only', async () => {
    const far = new Device(server, await server.login('agent.far'));
    const farBirth = await declareBirth(far, {
      ...BIRTH,
      'child.firstName': 'Theodora',
      'child.surname': 'Lumbwe',
      'mother.surname': 'Lumbwe',
    });
    const near = await declareBirth(agent, {
      ...BIRTH,
      'child.firstName': 'Teodora',
      'child.surname': 'Lumbwe',
      'mother.surname': 'Lumbwe',
    });
    await deduplicateRecord(server.registry, near, 'test');
    const { record, entries } = await get(near);
    const [candidate] = record.duplicates ?? [];
    expect(candidate).toEqual({ recordId: farBirth, score: expect.any(Number) });
    const finding = entries.find((e) => e.type === 'DUPLICATES_FOUND');
    expect(finding?.annotation?.['candidates']).toEqual([candidate]);
    // The same through search and through the sync feed.
    const listed = await server.request('GET', `/api/v1/records?q=Teodora%20Lumbwe`, {
      token: registrar.session.token,
    });
    const { results } = (await listed.json()) as { results: RecordState[] };
    expect(results.find((r) => r.id === near)?.duplicates).toEqual([candidate]);
    const pulled = new Device(server, registrar.session);
    await pulled.drain();
    const fed = pulled.received.find((e) => e.type === 'DUPLICATES_FOUND' && e.recordId === near);
    expect(fed?.annotation?.['candidates']).toEqual([candidate]);
  });

  it('dedup --all flags each pair once, on the newer record, with progress', async () => {
    const [first, second] = await similarPair();
    const seen: number[] = [];
    const progress = await deduplicateAll(server.registry, {
      batchSize: 5,
      onProgress: (p) => seen.push(p.done),
    });
    expect(progress.done).toBe(progress.total);
    expect(seen.length).toBeGreaterThan(1);
    expect((await get(first)).record.flags).not.toContain('duplicate:suspected');
    expect((await get(second)).record.flags).toContain('duplicate:suspected');
  });
});
