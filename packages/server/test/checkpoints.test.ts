import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { compactVerify, importJWK, type JWK } from 'jose';
import { sql } from 'kysely';
import { createHash } from 'node:crypto';
import { runCli } from './cli-process.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobQueueFor } from '../src/server.js';
import { HookMetrics } from '../src/services/hooks/index.js';
import { loadSigner } from '../src/services/tokens.js';
import { makeCheckpoint, verifyLatestCheckpoint } from '../src/services/checkpoints.js';
import { Issuer } from '../src/services/issuer.js';
import { MerkleBuilder, verifyInclusion } from '../src/services/merkle.js';
import { verifyReadModel } from '../src/services/read-model.js';
import {
  action,
  declareBirth,
  Device,
  expectProblem,
  startTestServer,
  type TestServer,
} from './harness.js';

// RFC 6962 2.1, written here again from the RFC's recursive definitions, apart from merkle.ts.
const sha = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
const rfcLeaf = (data: Buffer) => sha(Buffer.from([0]), data);
const split = (n: number) => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};
function mth(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return sha();
  if (leaves.length === 1) return leaves[0] as Buffer;
  const k = split(leaves.length);
  return sha(Buffer.from([1]), mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}
function auditPath(m: number, leaves: Buffer[]): Buffer[] {
  if (leaves.length <= 1) return [];
  const k = split(leaves.length);
  return m < k
    ? [...auditPath(m, leaves.slice(0, k)), mth(leaves.slice(k))]
    : [...auditPath(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}
/** A checkpoint leaf: record id bytes, then head hash bytes. */
const recordLeaf = (recordId: string, head: string) =>
  rfcLeaf(
    Buffer.concat([Buffer.from(recordId.replace(/-/g, ''), 'hex'), Buffer.from(head, 'hex')]),
  );

describe('the Merkle tree (RFC 6962)', () => {
  it('gives the RFC root and audit paths for any number of leaves, streamed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 }), fc.nat(), (n, pick) => {
        const leaves = Array.from({ length: n }, (_, i) => rfcLeaf(Buffer.from(`leaf ${i}`)));
        const target = n === 0 ? -1 : pick % n;
        const builder = new MerkleBuilder();
        leaves.forEach((leaf, i) => builder.add(leaf, i === target));
        const { root, size, path } = builder.finish();
        expect(size).toBe(n);
        expect(root.equals(mth(leaves))).toBe(true);
        if (target >= 0) {
          expect(path.map((p) => p.toString('hex'))).toEqual(
            auditPath(target, leaves).map((p) => p.toString('hex')),
          );
          expect(verifyInclusion(leaves[target] as Buffer, target, n, path, root)).toBe(true);
          // Another leaf, another place or a changed sibling does not verify.
          const other = rfcLeaf(Buffer.from('not a leaf'));
          expect(verifyInclusion(other, target, n, path, root)).toBe(false);
          if (n > 1) {
            expect(verifyInclusion(leaves[target] as Buffer, (target + 1) % n, n, path, root)).toBe(
              false,
            );
            const bent = path.map((p, i) => (i === 0 ? sha(p) : p));
            expect(verifyInclusion(leaves[target] as Buffer, target, n, bent, root)).toBe(false);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});

let server: TestServer;
let agent: Device;
let adminToken: string;
let issuer: Issuer;
beforeAll(async () => {
  server = await startTestServer();
  agent = new Device(server, await server.login('agent'));
  adminToken = (await server.login('admin')).token;
  issuer = new Issuer(server.db, 'http://registra.test', 'test');
});
afterAll(() => server.close());

async function get<T>(path: string, token = adminToken): Promise<T> {
  const response = await server.request('GET', path, { token });
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as T;
}

interface CheckpointBody {
  id: string;
  createdAt: string;
  root: string;
  records: number;
  kid: string;
  signature: string;
}
interface ProofBody {
  checkpoint: CheckpointBody;
  recordId: string;
  headHash: string;
  seq: number;
  leafIndex: number;
  treeSize: number;
  auditPath: string[];
}

/** What an auditor does with an exported checkpoint and the published keys alone. */
async function checkSignature(checkpoint: CheckpointBody): Promise<Record<string, unknown>> {
  const { keys } = await (await fetch(`${server.url}/.well-known/jwks.json`)).json();
  const key = (keys as JWK[]).find((k) => k.kid === checkpoint.kid);
  expect(key).toBeDefined();
  const { payload, protectedHeader } = await compactVerify(
    checkpoint.signature,
    await importJWK(key as JWK, 'ES256'),
  );
  expect(protectedHeader.typ).toBe('registra-checkpoint+jwt');
  return JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
}

/** The root recomputed in the test from the raw rows: every record's last entry's hash. */
async function rootFromRows(): Promise<{ root: string; records: number }> {
  const { rows } = await sql<{ record_id: string; hash: string }>`
    SELECT DISTINCT ON (record_id) record_id, hash FROM entries
    ORDER BY record_id, seq DESC`.execute(server.db);
  // The entry's own hash, recomputed too: the chain as stored is what the root commits to.
  return {
    root: mth(rows.map((r) => recordLeaf(r.record_id, r.hash))).toString('hex'),
    records: rows.length,
  };
}

describe('signed checkpoints', () => {
  it('are made on a schedule by the job queue', async () => {
    const jobs = jobQueueFor(server.registry, {
      signer: await loadSigner(server.db),
      hookMetrics: new HookMetrics(server.registry),
      files: server.files,
    });
    expect(jobs.taskNames).toContain('checkpoint.make');
  });

  it('sign a Merkle root of every head hash that anyone can recompute and check', async () => {
    const ids = [await declareBirth(agent), await declareBirth(agent), await declareBirth(agent)];
    const made = await makeCheckpoint(server.registry, issuer);
    const expected = await rootFromRows();
    expect(made.records).toBe(expected.records);
    expect(made.records).toBeGreaterThanOrEqual(3);
    expect(made.root).toBe(expected.root);

    const listed = await get<{ results: CheckpointBody[] }>('/api/v1/checkpoints');
    expect(listed.results[0]).toMatchObject({ id: made.id, root: made.root });
    const one = await get<CheckpointBody>(`/api/v1/checkpoints/${made.id}`);
    const claims = await checkSignature(one);
    expect(claims).toMatchObject({ jti: made.id, root: made.root, records: made.records });

    // A record's inclusion proof, checked with the RFC's algorithm written in this test.
    const proof = await get<ProofBody>(`/api/v1/records/${ids[1]}/proof`);
    expect(proof.checkpoint.id).toBe(made.id);
    const leaf = recordLeaf(ids[1] as string, proof.headHash);
    expect(
      verifyInclusion(
        leaf,
        proof.leafIndex,
        proof.treeSize,
        proof.auditPath.map((p) => Buffer.from(p, 'hex')),
        Buffer.from(made.root, 'hex'),
      ),
    ).toBe(true);
    expect(proof.auditPath.map((p) => Buffer.from(p, 'hex').toString('hex'))).toEqual(
      auditPath(
        proof.leafIndex,
        (
          await sql<{ record_id: string; hash: string }>`
            SELECT DISTINCT ON (record_id) record_id, hash FROM entries
            ORDER BY record_id, seq DESC`.execute(server.db)
        ).rows.map((r) => recordLeaf(r.record_id, r.hash)),
      ).map((p) => p.toString('hex')),
    );
    // The head hash in the proof is the chain's: the last entry's hash, recomputed.
    const chain = await get<{ entries: (Record<string, unknown> & { hash: string })[] }>(
      `/api/v1/records/${ids[1]}/chain`,
    );
    const last = chain.entries.at(-1) as Record<string, unknown> & { hash: string };
    const { hash, ...stored } = last;
    expect(
      createHash('sha256')
        .update(canonicalize(stored) as string)
        .digest('hex'),
    ).toBe(hash);
    expect(proof.headHash).toBe(hash);

    // A proof names the record: it is audited as a read of it (written in batches, a moment later).
    const proofReads = async () =>
      (
        await sql<{ route: string }>`
          SELECT route FROM read_audit WHERE ${ids[1]}::uuid = ANY(record_ids)`.execute(server.db)
      ).rows.filter((r) => r.route === '/api/v1/records/:id/proof').length;
    await expect.poll(proofReads, { timeout: 10_000 }).toBe(1);
  });

  it('still prove and verify a record’s old head after it grew, and leave out later records', async () => {
    const recordId = await declareBirth(agent);
    const made = await makeCheckpoint(server.registry, issuer);
    const before = await get<ProofBody>(`/api/v1/records/${recordId}/proof?checkpoint=${made.id}`);
    await agent.push(
      action({ type: 'ASSIGN', recordId, assignee: agent.session.user.id }),
      action({ type: 'UPDATE', recordId, declaration: { 'child.firstName': 'Zoë' } }),
    );
    const newer = await declareBirth(agent);
    const after = await get<ProofBody>(`/api/v1/records/${recordId}/proof?checkpoint=${made.id}`);
    expect(after).toEqual(before);
    await expectProblem(
      await server.request('GET', `/api/v1/records/${newer}/proof?checkpoint=${made.id}`, {
        token: adminToken,
      }),
      404,
      'NOT_FOUND',
    );
    expect(await verifyLatestCheckpoint(server.registry, issuer)).toMatchObject({
      checkpoint: { id: made.id },
      problems: [],
    });
  });

  it('are for administrators, and refuse what is not a checkpoint', async () => {
    await expectProblem(
      await server.request('GET', '/api/v1/checkpoints', { token: agent.session.token }),
      403,
      'FORBIDDEN',
    );
    await expectProblem(
      await server.request('GET', '/api/v1/checkpoints?after=nope', { token: adminToken }),
      400,
      'INVALID_INPUT',
    );
    await expectProblem(
      await server.request('GET', `/api/v1/checkpoints/${crypto.randomUUID()}`, {
        token: adminToken,
      }),
      404,
      'NOT_FOUND',
    );
  });

  it('catch a history rewritten by a superuser with a consistent chain, where the chain alone cannot', async () => {
    const recordId = await declareBirth(agent);
    const cli1 = await cli('checkpoint');
    expect(cli1.code, cli1.stderr).toBe(0);
    expect(cli1.stdout).toMatch(/^checkpoint [0-9a-f-]{36}: \d+ records, root [0-9a-f]{64}/);
    const clean = await cli('verify');
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    expect(clean.stdout).toMatch(/latest checkpoint .* verifies/);

    // Rewrite seq 1's occurredAt, then every hash after it and the record's head: each entry
    // still matches its hash and its predecessor, so the chain check sees nothing.
    await sql.raw('ALTER TABLE entries DISABLE TRIGGER entries_append_only').execute(server.db);
    await sql`
      UPDATE entries SET body = jsonb_set(body, '{occurredAt}', '"2026-01-01T00:00:00.000Z"')
      WHERE record_id = ${recordId}::uuid AND seq = 1`.execute(server.db);
    const chain = await get<{ entries: (Record<string, unknown> & { seq: number })[] }>(
      `/api/v1/records/${recordId}/chain`,
    );
    let prevHash: string | null = null;
    for (const entry of chain.entries) {
      const { hash: _old, ...body } = entry;
      const hash: string = createHash('sha256')
        .update(canonicalize({ ...body, prevHash }) as string)
        .digest('hex');
      await sql`UPDATE entries SET hash = ${hash}, prev_hash = ${prevHash}
        WHERE record_id = ${recordId}::uuid AND seq = ${entry.seq}`.execute(server.db);
      prevHash = hash;
    }
    await sql.raw('ALTER TABLE entries ENABLE TRIGGER entries_append_only').execute(server.db);
    await sql`UPDATE records SET head_hash = ${prevHash} WHERE id = ${recordId}::uuid`.execute(
      server.db,
    );

    const { differences } = await verifyReadModel(server.registry);
    expect(differences.filter((d) => d.problem.startsWith('chain broken'))).toEqual([]);
    const report = await verifyLatestCheckpoint(server.registry, issuer);
    expect(report.problems).toEqual([
      'the head hashes in the log no longer give its root: history was rewritten',
    ]);
    const broken = await cli('verify');
    expect(broken.code).toBe(2);
    expect(broken.stdout).toContain(
      'the head hashes in the log no longer give its root: history was rewritten',
    );
  }, 300_000); // three runs of the CLI, each starting tsx
});

/** Runs `registra <args>` as a process against the test server's database. */
const cli = (...args: string[]) => runCli(server, args);
