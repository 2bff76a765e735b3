import canonicalize from 'canonicalize';
import { sql } from 'kysely';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { walkChain } from '../src/services/chain.js';
import { verifyReadModel } from '../src/services/read-model.js';
import { loadChains } from '../src/store/entries.js';
import {
  action,
  declareBirth,
  Device,
  expectProblem,
  startTestServer,
  type TestServer,
} from './harness.js';

/** PROTOCOL 13: each record's log is a hash chain anyone can check without keys. */
let server: TestServer;
let agent: Device;
let adminToken: string;
beforeAll(async () => {
  server = await startTestServer();
  agent = new Device(server, await server.login('agent'));
  adminToken = (await server.login('admin')).token;
});
afterAll(() => server.close());

type Chained = Record<string, unknown> & { seq: number; hash: string; prevHash: string | null };

async function chainOf(recordId: string): Promise<Chained[]> {
  const response = await server.request('GET', `/api/v1/records/${recordId}/chain`, {
    token: adminToken,
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { entries: Chained[] }).entries;
}

/** The hash recomputed here, from the entry as the chain endpoint shows it. */
const sha256 = (entry: Chained) => {
  const { hash: _hash, ...stored } = entry;
  return createHash('sha256')
    .update(canonicalize(stored) as string)
    .digest('hex');
};

describe('the hash chain', () => {
  it('links every entry to the one before, recomputable from the entries as stored', async () => {
    const recordId = await declareBirth(agent);
    await agent.push(
      action({ type: 'ASSIGN', recordId, assignee: agent.session.user.id }),
      action({ type: 'UPDATE', recordId, declaration: { 'child.firstName': 'Zoë' } }),
    );
    const chain = await chainOf(recordId);
    expect(chain.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]); // with the server's UNASSIGN
    chain.forEach((entry, i) => {
      expect(entry.prevHash).toBe(i === 0 ? null : chain[i - 1]?.hash);
      expect(entry.hash).toBe(sha256(entry));
    });
    // The same hashes as the rows hold.
    const rows = await sql<{ seq: number; hash: string; prev_hash: string | null }>`
      SELECT seq, hash, prev_hash FROM entries WHERE record_id = ${recordId}::uuid ORDER BY seq`.execute(
      server.db,
    );
    expect(rows.rows.map((r) => [r.hash, r.prev_hash])).toEqual(
      chain.map((e) => [e.hash, e.prevHash]),
    );
  });

  it('is for administrators only', async () => {
    const recordId = await declareBirth(agent);
    const response = await server.request('GET', `/api/v1/records/${recordId}/chain`, {
      token: agent.session.token,
    });
    await expectProblem(response, 403, 'FORBIDDEN');
  });

  it('makes verify name the record and seq of a byte changed by a database superuser', async () => {
    const recordId = await declareBirth(agent);
    expect((await verifyReadModel(server.registry)).differences).toEqual([]);
    await sql.raw('ALTER TABLE entries DISABLE TRIGGER entries_append_only').execute(server.db);
    await sql`
      UPDATE entries SET body = jsonb_set(body, '{declaration,child.firstName}', '"Amb"')
      WHERE record_id = ${recordId}::uuid AND seq = 2`.execute(server.db);
    await sql.raw('ALTER TABLE entries ENABLE TRIGGER entries_append_only').execute(server.db);
    const { differences } = await verifyReadModel(server.registry);
    expect(differences).toContainEqual({
      recordId,
      problem: 'chain broken at seq 2: hash does not match the entry',
    });
  });

  it('chains entries stored before the chain existed, and goes on from them', async () => {
    const recordId = await declareBirth(agent);
    const [log] = [...(await loadChains(server.db, [recordId])).values()];
    const full = walkChain(log ?? []);
    // As if the first two entries were stored before migration 0011: no hash, no prevHash.
    const legacy = (log ?? []).map((link, i) =>
      i < 2 ? { ...link, hash: null, prevHash: null } : link,
    );
    const walked = walkChain(legacy);
    expect(walked.breaks).toEqual([]);
    expect(walked.head).toBe(full.head);
    expect(walked.entries.map((e) => e.hash)).toEqual(full.entries.map((e) => e.hash));
  });
});
