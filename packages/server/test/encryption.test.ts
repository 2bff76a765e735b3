import type { Entry, RecordState } from '@registra/core';
import { sql } from 'kysely';
import { randomInt } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { walkChain } from '../src/services/chain.js';
import { deduplicateRecord } from '../src/services/deduplication/index.js';
import { verifyReadModel } from '../src/services/read-model.js';
import { ENVELOPE } from '../src/services/vault/index.js';
import { retireKeks, rotateKek } from '../src/services/vault/rotation.js';
import { loadChains } from '../src/store/entries.js';
import {
  action,
  BIRTH,
  declareBirth,
  Device,
  expectProblem,
  newId,
  startTestServer,
  type TestServer,
} from './harness.js';

/** PROTOCOL 13: sensitive fields are sealed wherever they are stored, and still found. */
let server: TestServer;
let agent: Device;
let registrar: Device;
let adminToken: string;
beforeAll(async () => {
  server = await startTestServer();
  agent = new Device(server, await server.login('agent'));
  registrar = new Device(server, await server.login('registrar'));
  adminToken = (await server.login('admin')).token;
});
afterAll(() => server.close());

/** A national id no other test writes: 10 digits. */
const nid = () => String(randomInt(1_000_000_000, 9_999_999_999));

async function get(id: string, token = registrar.session.token) {
  const response = await server.request('GET', `/api/v1/records/${id}`, { token });
  expect(response.status).toBe(200);
  return (await response.json()) as { record: RecordState; entries: Entry[] };
}

async function findByNid(value: string, token = registrar.session.token): Promise<string[]> {
  const response = await server.request(
    'GET',
    `/api/v1/records?field.mother.nid=${encodeURIComponent(value)}`,
    { token },
  );
  expect(response.status).toBe(200);
  return ((await response.json()) as { results: RecordState[] }).results.map((r) => r.id);
}

/** Every regular file under a directory. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    const stat = statSync(full, { throwIfNoEntry: false });
    if (!stat) return []; // removed while walking (a WAL segment recycled)
    return stat.isDirectory() ? filesUnder(full) : stat.isFile() ? [full] : [];
  });
}

/** The files under the cluster's data directory whose bytes hold `needle`. */
function filesHolding(dataDir: string, needle: string): string[] {
  const bytes = Buffer.from(needle);
  return filesUnder(dataDir).filter((file) => {
    try {
      return readFileSync(file).includes(bytes);
    } catch {
      return false; // gone meanwhile
    }
  });
}

describe('sensitive fields at rest', () => {
  it('never leaves a sensitive value in a file of the data directory (tables and WAL)', async () => {
    // Stored uncompressed, so that a value in the clear would show in the bytes as it is.
    await sql`ALTER TABLE entries ALTER COLUMN body SET STORAGE EXTERNAL`.execute(server.db);
    await sql`ALTER TABLE records ALTER COLUMN state SET STORAGE EXTERNAL`.execute(server.db);
    await sql`ALTER TABLE records ALTER COLUMN fold SET STORAGE EXTERNAL`.execute(server.db);
    const motherNid = nid();
    const phone = `+26097${randomInt(1_000_000, 9_999_999)}`;
    // A value that is not sensitive, unique to this run: the search must find it (control).
    const firstName = `Zq${randomInt(1_000_000, 9_999_999)}x`;
    const recordId = await declareBirth(agent, {
      ...BIRTH,
      'child.firstName': firstName,
      'mother.nid': motherNid,
      'informant.phone': phone,
    });
    // Found through the blind index, and shown decrypted to a caller in reach.
    expect(await findByNid(motherNid)).toEqual([recordId]);
    const { record, entries } = await get(recordId);
    expect(record.declaration['mother.nid']).toBe(motherNid);
    expect(entries.find((e) => e.type === 'DECLARE')?.declaration?.['informant.phone']).toBe(phone);
    // The device's pull gets it in the clear too.
    const pulling = new Device(server, await server.login('agent'));
    await pulling.drain();
    const declared = pulling.received.find((e) => e.recordId === recordId && e.type === 'DECLARE');
    expect(declared?.declaration?.['mother.nid']).toBe(motherNid);

    // The read audit keeps the search's blind index, not the value.
    await expect
      .poll(async () => {
        const rows = await sql<{ query: Record<string, string> }>`
          SELECT query FROM read_audit WHERE ${recordId}::uuid = ANY(record_ids)
            AND kind = 'search'`.execute(server.db);
        return rows.rows.map((r) => r.query['field.mother.nid']);
      })
      .toHaveLength(1);

    const stored = await sql<{ body: { declaration?: Record<string, unknown> } }>`
      SELECT body FROM entries WHERE record_id = ${recordId}::uuid AND type = 'DECLARE'`.execute(
      server.db,
    );
    expect(String(stored.rows[0]?.body.declaration?.['mother.nid'])).toMatch(
      new RegExp(`^${ENVELOPE}`),
    );

    await sql`CHECKPOINT`.execute(server.db);
    const dataDir = (await sql<{ data_directory: string }>`SHOW data_directory`.execute(server.db))
      .rows[0]?.data_directory as string;
    expect(filesHolding(dataDir, firstName).length).toBeGreaterThan(0); // the search works
    expect(filesHolding(dataDir, motherNid)).toEqual([]);
    expect(filesHolding(dataDir, phone)).toEqual([]);
  });

  it('keeps the chain computed over the entries as stored, sealed', async () => {
    const recordId = await declareBirth(agent, { ...BIRTH, 'mother.nid': nid() });
    const [log] = [...(await loadChains(server.db, [recordId])).values()];
    expect(walkChain(log ?? []).breaks).toEqual([]);
    const response = await server.request('GET', `/api/v1/records/${recordId}/chain`, {
      token: adminToken,
    });
    const chain = (await response.json()) as { entries: Entry[] };
    const declared = chain.entries.find((e) => e.type === 'DECLARE');
    expect(String(declared?.declaration?.['mother.nid'])).toMatch(new RegExp(`^${ENVELOPE}`));
  });
});

describe('erasure by crypto-shredding', () => {
  it('makes sensitive fields read as erased, drops the blind index, and leaves a verifying chain', async () => {
    const motherNid = nid();
    const recordId = await declareBirth(agent, { ...BIRTH, 'mother.nid': motherNid });
    expect(await findByNid(motherNid)).toEqual([recordId]);

    const refused = await server.request('POST', `/api/v1/records/${recordId}/erase`, {
      token: registrar.session.token,
    });
    await expectProblem(refused, 403, 'FORBIDDEN');

    const response = await server.request('POST', `/api/v1/records/${recordId}/erase`, {
      token: adminToken,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ recordId, erasedNow: true });

    const { record, entries } = await get(recordId);
    expect(record.declaration['mother.nid'] ?? null).toBeNull();
    expect(record.declaration['child.firstName']).toBe(BIRTH['child.firstName']);
    const declared = entries.find((e) => e.type === 'DECLARE');
    expect(declared?.declaration?.['mother.nid']).toBeNull();
    expect(await findByNid(motherNid)).toEqual([]);

    // The log is untouched: the chain and the read model verify.
    const [log] = [...(await loadChains(server.db, [recordId])).values()];
    expect(walkChain(log ?? []).breaks).toEqual([]);
    const { differences } = await verifyReadModel(server.registry);
    expect(differences.filter((d) => d.recordId === recordId)).toEqual([]);

    // Later actions keep no sensitive value either, and the record still takes them.
    const results = await agent.push(
      action({ type: 'ASSIGN', recordId, assignee: agent.session.user.id }),
      action({ type: 'UPDATE', recordId, declaration: { 'mother.nid': nid() } }),
    );
    expect(
      results.map((r) => r.outcome),
      JSON.stringify(results),
    ).toEqual(['accepted', 'accepted']);
    expect((await get(recordId)).record.declaration['mother.nid'] ?? null).toBeNull();
    const raw = await sql<{ state: RecordState }>`
      SELECT state FROM records WHERE id = ${recordId}::uuid`.execute(server.db);
    expect(raw.rows[0]?.state.declaration['mother.nid'] ?? null).toBeNull();

    const again = await server.request('POST', `/api/v1/records/${recordId}/erase`, {
      token: adminToken,
    });
    expect(await again.json()).toMatchObject({ erasedNow: false });
  });

  it('answers 404 for a record that does not exist', async () => {
    const response = await server.request('POST', `/api/v1/records/${newId()}/erase`, {
      token: adminToken,
    });
    await expectProblem(response, 404, 'NOT_FOUND');
  });
});

describe('rotation of the key-encryption key', () => {
  it('re-wraps every data key while writes go on, losing nothing, with the log untouched', async () => {
    const written: { recordId: string; value: string }[] = [];
    const write = async () => {
      const value = nid();
      written.push({
        recordId: await declareBirth(agent, { ...BIRTH, 'mother.nid': value }),
        value,
      });
    };
    for (let i = 0; i < 5; i++) await write();
    const logBefore = await sql<{ n: string; bodies: string }>`
      SELECT count(*) AS n, md5(string_agg(body::text, '' ORDER BY id)) AS bodies FROM entries`.execute(
      server.db,
    );
    const writer = new Device(server, await server.login('agent'));
    let writing = true;
    const writes = (async () => {
      while (writing) {
        const value = nid();
        written.push({
          recordId: await declareBirth(writer, { ...BIRTH, 'mother.nid': value }),
          value,
        });
      }
    })();
    const oldKek = await server.registry.vault.provider.currentKekId();
    const report = await rotateKek(server.registry, { batchSize: 2 });
    writing = false;
    await writes;
    expect(report.kekId).not.toBe(oldKek);
    expect(report.rewrapped).toBeGreaterThanOrEqual(5);

    // No data key is left under the old KEK, which can then be forgotten.
    const left = await sql<{ n: string }>`
      SELECT count(*) AS n FROM record_keys WHERE kek_id <> ${report.kekId} AND wrapped IS NOT NULL`.execute(
      server.db,
    );
    expect(Number(left.rows[0]?.n)).toBe(0);
    await retireKeks(server.registry);
    expect(await server.registry.vault.provider.kekIds()).toEqual([report.kekId]);

    // The entries written before the rotation are byte for byte as they were.
    const logAfter = await sql<{ n: string; bodies: string }>`
      SELECT count(*) AS n, md5(string_agg(body::text, '' ORDER BY id)) AS bodies FROM entries
      WHERE id IN (SELECT id FROM entries ORDER BY id LIMIT ${Number(logBefore.rows[0]?.n)})`.execute(
      server.db,
    );
    expect(logAfter.rows[0]?.bodies).toBe(logBefore.rows[0]?.bodies);

    // Every value reads back, found by its blind index, with a fresh cache.
    const fresh = { ...server.registry, vault: await reopenVault() };
    for (const { recordId, value } of written) {
      expect(await findByNid(value)).toEqual([recordId]);
      const chains = await loadChains(fresh.db, [recordId]);
      const keyring = await fresh.vault.keyring(fresh.db, fresh.config, [recordId]);
      const declared = (chains.get(recordId) ?? []).find((l) => l.entry.type === 'DECLARE');
      expect(declared && keyring.openBody(declared.entry).declaration?.['mother.nid']).toBe(value);
    }
  });
});

/** The server's vault opened anew from its key file: nothing unwrapped in memory. */
async function reopenVault() {
  const { FileKeyProvider, Vault } = await import('../src/services/vault/index.js');
  const provider = server.registry.vault.provider as InstanceType<typeof FileKeyProvider>;
  return Vault.open(new FileKeyProvider(provider.file));
}

describe('deduplication with a sensitive identifier (social registry)', () => {
  let social: TestServer;
  beforeAll(async () => {
    social = await startTestServer('social-registry');
  });
  afterAll(() => social.close());

  it('finds a duplicate by the exact rule through the blind index', async () => {
    const enumerator = new Device(social, await social.login('enumerator'));
    const value = nid();
    const person = (firstName: string, surname: string) => ({
      'person.firstName': firstName,
      'person.surname': surname,
      'person.dob': '1990-01-01',
      'person.nid': value,
    });
    const [a, b] = [newId(), newId()];
    const results = await enumerator.push(
      action({ type: 'CREATE', recordId: a, recordType: 'individual' }),
      action({ type: 'UPDATE', recordId: a, declaration: person('Chanda', 'Mulenga') }),
      action({ type: 'CREATE', recordId: b, recordType: 'individual' }),
      action({ type: 'UPDATE', recordId: b, declaration: person('Chandah', 'Mulenga') }),
    );
    expect(results.map((r) => r.outcome)).toEqual(['accepted', 'accepted', 'accepted', 'accepted']);
    const outcome = await deduplicateRecord(social.registry, b, 'test');
    expect(outcome.candidates.map((c) => c.recordId)).toEqual([a]);
    const evidence = outcome.candidates[0]?.evidence?.['person.nid'];
    expect(evidence?.match).toBe('exact');
    // The evidence, stored in the log, leaves the values out.
    expect(evidence?.this).toBeUndefined();
    expect(evidence?.that).toBeUndefined();
  });
});
