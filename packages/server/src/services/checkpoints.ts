import { CREDENTIAL_ALGORITHM } from '@registra/core';
import { compactVerify, importJWK } from 'jose';
import { v7 as uuidv7 } from 'uuid';
import {
  currentHeads,
  currentSnapshot,
  findCheckpoint,
  headsAsOf,
  headsSince,
  insertCheckpoint,
  listCheckpoints,
  type CheckpointRow,
  type HeadRow,
} from '../store/checkpoints.js';
import { loadChains } from '../store/entries.js';
import { walkChain } from './chain.js';
import type { Registry } from './context.js';
import type { Issuer } from './issuer.js';
import { leafHash, MerkleBuilder } from './merkle.js';
import { invalidInput, notFound } from './problem.js';

/**
 * Signed checkpoints (issue 14): now and then (hourly by default) the server reads every
 * record's head hash in one database snapshot, builds the RFC 6962 Merkle tree over them in
 * record-id order (merkle.ts), and signs the root with its credential key. A copy of the
 * checkpoints kept elsewhere then proves that no record's history was rewritten since: a rewrite
 * that keeps each chain consistent still changes a head, and so the root. Inclusion proofs show
 * one record's head at a checkpoint without the others.
 */

/** The `typ` of a checkpoint's JWS. */
export const CHECKPOINT_TYPE = 'registra-checkpoint+jwt';

/** How the tree is built, for a verifier who has only the exported checkpoint. */
export const CHECKPOINT_TREE =
  'RFC 6962 Merkle tree, SHA-256; leaf data: the record id (16 bytes) then its head hash (32 bytes); leaves in record-id order';

/** Records read per query while a tree is built: the memory held at once. */
const BATCH = 5000;

export interface Checkpoint {
  id: string;
  createdAt: string;
  root: string;
  records: number;
  kid: string;
  /** A compact JWS (ES256) of {iss, iat, jti: id, root, records, createdAt}. */
  signature: string;
  tree: string;
}

const shown = (row: CheckpointRow): Checkpoint => ({
  id: row.id,
  createdAt: row.createdAt.toISOString(),
  root: row.root,
  records: row.records,
  kid: row.kid,
  signature: row.signature,
  tree: CHECKPOINT_TREE,
});

type DB = Registry['db'];

/**
 * Every record's head in id order, in batches: as the transaction sees them, or as `snapshot`
 * saw them (a record that grew since gives the last entry the snapshot saw; one that did not
 * exist yet is left out). Heads of logs stored before the chain existed are computed from them.
 */
async function* heads(db: DB, snapshot: string | null): AsyncGenerator<HeadRow[]> {
  let after: string | null = null;
  for (;;) {
    let batch: HeadRow[];
    if (snapshot === null) {
      batch = await currentHeads(db, after, BATCH);
      after = batch.at(-1)?.recordId ?? null;
    } else {
      const rows = await headsSince(db, snapshot, after, BATCH);
      after = rows.at(-1)?.recordId ?? null;
      const grown = rows.filter((r) => !r.unchanged).map((r) => r.recordId);
      const earlier = new Map((await headsAsOf(db, snapshot, grown)).map((h) => [h.recordId, h]));
      batch = rows.flatMap((r) => {
        const head = r.unchanged ? r : earlier.get(r.recordId);
        return head ? [head] : [];
      });
    }
    if (after === null) return;
    yield await withLegacyHeads(db, batch);
  }
}

/** Heads of logs stored before the chain (migration 0011), walked from their entries. */
async function withLegacyHeads(db: DB, batch: HeadRow[]): Promise<HeadRow[]> {
  const legacy = batch.filter((h) => h.headHash === null);
  if (legacy.length === 0) return batch;
  const logs = await loadChains(
    db,
    legacy.map((h) => h.recordId),
  );
  return batch.map((head) => {
    if (head.headHash !== null) return head;
    const log = (logs.get(head.recordId) ?? []).filter((link) => link.entry.seq <= head.seq);
    return { ...head, headHash: walkChain(log).head };
  });
}

export interface Tree {
  root: string;
  records: number;
  /** With a target record: where its leaf is, its head, and the leaf's audit path. */
  proof?: { leafIndex: number; headHash: string; seq: number; auditPath: string[] };
}

/** The tree over every head (see heads), streamed: memory stays one batch whatever the count. */
export async function treeOfHeads(
  db: DB,
  snapshot: string | null,
  targetRecordId?: string,
): Promise<Tree> {
  const builder = new MerkleBuilder();
  let target: { headHash: string; seq: number } | undefined;
  for await (const batch of heads(db, snapshot)) {
    for (const head of batch) {
      if (head.headHash === null) continue; // a record with no entry: nothing to commit to
      const isTarget = head.recordId === targetRecordId;
      if (isTarget) target = { headHash: head.headHash, seq: head.seq };
      builder.add(leafHash(head.recordId, head.headHash), isTarget);
    }
  }
  const { root, size, path } = builder.finish();
  const tree: Tree = { root: root.toString('hex'), records: size };
  const leafIndex = builder.targetIndex;
  if (target && leafIndex !== null) {
    tree.proof = { leafIndex, ...target, auditPath: path.map((p) => p.toString('hex')) };
  }
  return tree;
}

/** Makes, signs and stores a checkpoint of every record's head as of now. */
export async function makeCheckpoint(registry: Registry, issuer: Issuer): Promise<Checkpoint> {
  const { snapshot, tree } = await registry.db
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute(async (trx) => {
      // The first statement fixes the transaction's snapshot: the heads are read in this one.
      const snapshot = await currentSnapshot(trx);
      return { snapshot, tree: await treeOfHeads(trx, null) };
    });
  const id = uuidv7();
  const createdAt = registry.now();
  const { jws, kid } = await issuer.signStatement(
    { jti: id, root: tree.root, records: tree.records, createdAt: createdAt.toISOString() },
    CHECKPOINT_TYPE,
  );
  const row: CheckpointRow = {
    id,
    createdAt,
    root: tree.root,
    records: tree.records,
    snapshot,
    kid,
    signature: jws,
  };
  await insertCheckpoint(registry.db, row);
  return shown(row);
}

export async function checkpoints(
  registry: Registry,
  limit: number,
  after: string | undefined,
): Promise<{ results: Checkpoint[]; next: string | null }> {
  let before: CheckpointRow | undefined;
  if (after !== undefined) {
    before = await findCheckpoint(registry.db, after);
    if (!before) {
      throw invalidInput('`after` is not a checkpoint of this server', [
        { path: 'querystring.after', message: 'is not a checkpoint id' },
      ]);
    }
  }
  const rows = await listCheckpoints(registry.db, limit + 1, before);
  const page = rows.slice(0, limit);
  return {
    results: page.map(shown),
    next: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
  };
}

export async function checkpoint(registry: Registry, id: string): Promise<Checkpoint> {
  const row = await findCheckpoint(registry.db, id);
  if (!row) throw notFound('no such checkpoint');
  return shown(row);
}

async function checkpointOrLatest(registry: Registry, id: string | undefined) {
  const row =
    id === undefined
      ? (await listCheckpoints(registry.db, 1))[0]
      : await findCheckpoint(registry.db, id);
  if (!row) throw notFound(id === undefined ? 'no checkpoint yet' : 'no such checkpoint');
  return row;
}

export interface InclusionProof {
  checkpoint: Checkpoint;
  recordId: string;
  /** The record's head hash and last seq at the checkpoint. */
  headHash: string;
  seq: number;
  leafIndex: number;
  treeSize: number;
  /** RFC 9162 2.1.3.1: sibling hashes from the leaf up to the root, hex. */
  auditPath: string[];
}

/** The proof that a record's head at a checkpoint (the latest by default) is under its root. */
export async function inclusionProof(
  registry: Registry,
  recordId: string,
  checkpointId: string | undefined,
): Promise<InclusionProof> {
  const row = await checkpointOrLatest(registry, checkpointId);
  const tree = await treeOfHeads(registry.db, row.snapshot, recordId);
  if (!tree.proof) throw notFound('the record is not in that checkpoint');
  if (tree.root !== row.root || tree.records !== row.records) {
    throw new Error(`checkpoint ${row.id}: the log no longer gives its root (run registra verify)`);
  }
  return {
    checkpoint: shown(row),
    recordId,
    headHash: tree.proof.headHash,
    seq: tree.proof.seq,
    leafIndex: tree.proof.leafIndex,
    treeSize: tree.records,
    auditPath: tree.proof.auditPath,
  };
}

export interface CheckpointReport {
  checkpoint: Checkpoint | null;
  problems: string[];
}

/**
 * Checks the latest checkpoint: its signature by this registry's key, and its root against the
 * heads the log gives for its snapshot now (the current head of each record unchanged since,
 * the entry it had then for each that grew).
 */
export async function verifyLatestCheckpoint(
  registry: Registry,
  issuer: Issuer,
): Promise<CheckpointReport> {
  const [row] = await listCheckpoints(registry.db, 1);
  if (!row) return { checkpoint: null, problems: [] };
  const problems: string[] = [];
  const key = await issuer.publicKey(row.kid);
  if (!key) problems.push(`its key ${row.kid} is not among this registry's keys`);
  else {
    try {
      const { payload, protectedHeader } = await compactVerify(
        row.signature,
        await importJWK(key, CREDENTIAL_ALGORITHM),
        { algorithms: [CREDENTIAL_ALGORITHM] },
      );
      const claims = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
      if (
        protectedHeader.typ !== CHECKPOINT_TYPE ||
        claims['jti'] !== row.id ||
        claims['root'] !== row.root ||
        claims['records'] !== row.records
      ) {
        problems.push('its signature covers another root, count or id than the stored ones');
      }
    } catch {
      problems.push('its signature does not verify');
    }
  }
  const tree = await treeOfHeads(registry.db, row.snapshot);
  if (tree.records !== row.records) {
    problems.push(`it covers ${row.records} records, the log now gives ${tree.records} for it`);
  } else if (tree.root !== row.root) {
    problems.push('the head hashes in the log no longer give its root: history was rewritten');
  }
  return { checkpoint: shown(row), problems };
}
