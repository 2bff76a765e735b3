import {
  MAX_ACTIONS_PER_RECORD,
  MAX_ACTIONS_PER_REQUEST,
  type ActionResult,
  type Entry,
  type SyncResponse,
} from '@registra/core';
import type { SyncReport } from './api.js';
import type { OutboxItem, UserDatabase } from './db.js';
import type { FileQueue } from './files/queue.js';
import { ServerProblem, Unreachable } from './errors.js';
import { withLock } from './locks.js';
import { serverState, stillInScope, type Viewer } from './local.js';
import type { Transport } from './transport.js';

export interface EngineOptions {
  db: UserDatabase;
  /** The IndexedDB the database lives in: where the lock is held without Web Locks. */
  storage: object;
  transport: Transport;
  /** Files are uploaded before the actions that name them are pushed. */
  files: FileQueue;
  viewer: () => Promise<Viewer>;
  /** The person's user id: the lock that keeps one sync at a time across tabs is theirs. */
  userId: string;
  maxBatchBytes: number;
  now: () => Date;
  /** Told after every exchange, to refresh counts and listeners. */
  changed: () => void;
}

const MIN_BATCH_BYTES = 2_048;
const PULL_LIMIT = 500;

/**
 * The outbox's way to the server: one POST /sync carries the outbox head and brings changes back,
 * repeated until both directions are done. Only one sync runs at a time, across tabs too.
 */
export class SyncEngine {
  #batchBytes: number;

  constructor(private readonly options: EngineOptions) {
    this.#batchBytes = options.maxBatchBytes;
  }

  run(): Promise<SyncReport> {
    return withLock(this.options.storage, `registra-sync-${this.options.userId}`, () =>
      this.#exchangeAll(),
    );
  }

  async #exchangeAll(): Promise<SyncReport> {
    const report: SyncReport = {
      sent: 0,
      accepted: 0,
      requested: 0,
      rejected: 0,
      received: 0,
      requests: 0,
    };
    // An upload that stopped (no network, a server failure) holds back only the actions naming its
    // file; the rest is exchanged, and the sync then fails with it, to be tried again.
    let uploadStopped: Unreachable | null = null;
    // Records an earlier sync stored entries for and did not get to refold (the app stopped).
    await this.#refoldMarked();
    for (let round = 0; round < 10_000; round++) {
      const { db } = this.options;
      const candidates = await this.#outboxHead();
      // PROTOCOL 9: a record's files reach the server before its actions do.
      if (!uploadStopped) {
        try {
          await this.options.files.upload(candidates);
        } catch (error) {
          if (!(error instanceof Unreachable)) throw error;
          uploadStopped = error;
        }
      }
      const head = candidates.slice(0, await this.options.files.pushable(candidates));
      const deviceId = (await db.getMeta<string>('deviceId')) as string;
      const cursor = (await db.getMeta<string>('cursor')) ?? null;
      const { vault } = await this.options.viewer();
      // Sealed on the device, sent in the clear (over TLS) for the server to seal its own way.
      const actions = await vault.openAll(
        head.map((item) => item.action),
        (action) => vault.openBody(action),
      );
      let answer;
      try {
        report.requests += 1;
        answer = await this.options.transport.request<SyncResponse>('POST', '/api/v1/sync', {
          body: { deviceId, cursor, actions, limit: PULL_LIMIT },
          compress: true,
        });
      } catch (error) {
        if (error instanceof ServerProblem && error.code === 'SEQ_GAP') {
          await this.#renumber(Number(error.body['expectedFrom']));
          continue;
        }
        if (error instanceof ServerProblem && error.code === 'DEVICE_CONFLICT') {
          await this.#newDevice();
          continue;
        }
        // A smaller batch next time: a large body may be what fails on a poor link.
        this.#batchBytes = Math.max(MIN_BATCH_BYTES, Math.floor(this.#batchBytes / 2));
        throw error;
      }
      this.#batchBytes = Math.min(this.options.maxBatchBytes, this.#batchBytes * 2);
      const counts = await this.#apply(head, answer.body);
      report.sent += head.length;
      report.accepted += counts.accepted;
      report.requested += counts.requested;
      report.rejected += counts.rejected;
      report.received += answer.body.changes.length;
      this.options.changed();
      const outboxLeft = await db.outbox.count();
      if (!answer.body.hasMore && (outboxLeft === 0 || head.length === 0)) break;
    }
    if (uploadStopped) throw uploadStopped;
    return report;
  }

  /**
   * The oldest pending actions, contiguous, within the batch byte budget (at least one) and the
   * server's limits on a request (PROTOCOL 7): at most 1,000 actions, 200 of them for one record.
   */
  async #outboxHead(): Promise<OutboxItem[]> {
    const items = await this.options.db.outbox
      .orderBy('deviceSeq')
      .limit(MAX_ACTIONS_PER_REQUEST)
      .toArray();
    const head: OutboxItem[] = [];
    const perRecord = new Map<string, number>();
    let bytes = 0;
    for (const item of items) {
      const size = JSON.stringify(item.action).length;
      if (head.length > 0 && bytes + size > this.#batchBytes) break;
      const previous = head[head.length - 1];
      if (previous && item.deviceSeq !== previous.deviceSeq + 1) break;
      const count = (perRecord.get(item.action.recordId) ?? 0) + 1;
      if (count > MAX_ACTIONS_PER_RECORD) break;
      perRecord.set(item.action.recordId, count);
      head.push(item);
      bytes += size;
    }
    return head;
  }

  /**
   * Applies the server's answer in one IndexedDB transaction: acknowledged actions leave the
   * outbox (becoming entries), rejected ones go to "needs attention" with what was typed, the
   * changes are stored (their sensitive values sealed first: WebCrypto is asynchronous and would
   * end an IndexedDB transaction) and the touched records marked, and the cursor moves on. The
   * marked records are then refolded from their opened entries, outside that transaction.
   */
  async #apply(
    sent: OutboxItem[],
    answer: SyncResponse,
  ): Promise<{ accepted: number; requested: number; rejected: number }> {
    const { db } = this.options;
    const viewer = await this.options.viewer();
    const counts = { accepted: 0, requested: 0, rejected: 0 };
    const bySeq = new Map(sent.map((item) => [item.deviceSeq, item]));
    const now = this.options.now().toISOString();
    const changes = await viewer.vault.openAll(answer.changes, (entry) =>
      viewer.vault.sealBody(entry),
    );
    await db.transaction(
      'rw',
      [db.outbox, db.entries, db.records, db.attention, db.meta],
      async () => {
        const touched = new Set<string>();
        for (const result of answer.results) {
          const item = result.deviceSeq === undefined ? undefined : bySeq.get(result.deviceSeq);
          if (!item) continue;
          counts[result.outcome] += 1;
          if (result.seq !== null && result.recordedAt !== null) {
            await db.entries.put(ownEntry(item, result, viewer));
            touched.add(item.action.recordId);
          }
          if (result.outcome === 'rejected') {
            await db.attention.put({
              action: item.action,
              code: result.code ?? 'REJECTED',
              message: result.message ?? '',
              errors: result.errors ?? [],
              rejectedAt: now,
            });
          }
          await db.outbox.delete(item.deviceSeq);
        }
        // Anything at or below ackThrough is done even if its result was not in this answer.
        await db.outbox.where('deviceSeq').belowOrEqual(answer.ackThrough).delete();
        if (changes.length > 0) {
          await db.entries.bulkPut(changes);
          for (const change of changes) touched.add(change.recordId);
        }
        const marked = (await db.getMeta<string[]>('refold')) ?? [];
        await db.setMeta('refold', [...new Set([...marked, ...touched])]);
        await db.setMeta('cursor', answer.cursor);
        await db.setMeta('lastSyncedAt', now);
      },
    );
    await this.#refoldMarked();
    return counts;
  }

  /** Refolds the records marked in the meta `refold`, then unmarks them. */
  async #refoldMarked(): Promise<void> {
    const { db } = this.options;
    const marked = (await db.getMeta<string[]>('refold')) ?? [];
    if (marked.length === 0) return;
    const viewer = await this.options.viewer();
    for (const recordId of marked) await this.#refold(recordId, viewer);
    await db.transaction('rw', db.meta, async () => {
      const left = ((await db.getMeta<string[]>('refold')) ?? []).filter(
        (id) => !marked.includes(id),
      );
      await db.setMeta('refold', left);
    });
  }

  /**
   * The record's state from its entries, folded in the clear (sealed values would differ at each
   * sealing and look like changes to the fold) and sealed again before it is stored.
   */
  async #refold(recordId: string, viewer: Viewer): Promise<void> {
    const { db } = this.options;
    const { vault } = viewer;
    const sealed = await db.entries.where('recordId').equals(recordId).sortBy('seq');
    const entries = await vault.openAll(sealed, (entry) => vault.openBody(entry));
    const state = serverState(entries, viewer);
    if (!state) return;
    const stored = await vault.sealState(state);
    await db.transaction('rw', [db.entries, db.records, db.outbox], async () => {
      const pending = await db.outbox.where('action.recordId').equals(recordId).count();
      if (!stillInScope(state, viewer) && pending === 0) {
        // Out of the person's reach now (unassigned from outside their jurisdiction): let it go.
        await db.entries.where('recordId').equals(recordId).delete();
        await db.records.delete(recordId);
        return;
      }
      await db.records.put(stored);
    });
  }

  /** SEQ_GAP: the server expects an earlier deviceSeq; renumber the outbox from there, in order. */
  async #renumber(expectedFrom: number): Promise<void> {
    const { db } = this.options;
    await db.transaction('rw', [db.outbox, db.meta], async () => {
      const items = await db.outbox.orderBy('deviceSeq').toArray();
      await db.outbox.clear();
      let seq = expectedFrom;
      for (const item of items) {
        const deviceSeq = seq++;
        await db.outbox.put({ ...item, deviceSeq, action: { ...item.action, deviceSeq } });
      }
      await db.setMeta('nextDeviceSeq', seq);
    });
  }

  /** The device id belongs to someone else on the server: take a new one and start over at 1. */
  async #newDevice(): Promise<void> {
    await this.options.db.setMeta('deviceId', crypto.randomUUID());
    await this.#renumber(1);
  }
}

function ownEntry(item: OutboxItem, result: ActionResult, viewer: Viewer): Entry {
  const entry: Entry = {
    ...item.action,
    seq: result.seq as number,
    status: result.outcome,
    createdBy: viewer.principal.id,
    createdByRole: viewer.principal.role,
    createdAtLocation: viewer.principal.officeId,
    deviceId: viewer.deviceId,
    recordedAt: result.recordedAt as string,
    code: result.code,
    message: result.message,
    registrationNumber: result.registrationNumber ?? null,
    configVersion: viewer.config.version,
  };
  return entry;
}
