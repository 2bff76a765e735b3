import {
  decideAction,
  foldLog,
  foldOnto,
  foldRecord,
  formFields,
  inReach,
  normaliseTrackingId,
  searchForm,
  searchName,
  type DecisionContext,
  type Entry,
  type FoldEntry,
  type HeldFile,
  type Principal,
  type RecordFold,
  type RecordHead,
  type RecordState,
  type RecordTypeConfig,
  type RegistryConfig,
} from '@registra/core';
import type { LocalRecord, RecordQuery } from './api.js';
import type { OutboxItem, UserDatabase } from './db.js';
import type { Vault } from './vault.js';

/** The signed-in person as the rules see them, with the configuration they work under. */
export interface Viewer {
  principal: Principal;
  config: RegistryConfig;
  deviceId: string;
  /** The device's clock. */
  now: () => Date;
  /** Opens the sensitive values the device keeps sealed (vault.ts). */
  vault: Vault;
}

/**
 * The decision's questions as a device can answer them: records it holds (others are unknown
 * here, left to the server), files in its file queue (a refused one is missing; others are left to
 * the server), and no user directory (assignees are left to the server).
 */
export function deviceContext(
  viewer: Viewer,
  records: ReadonlyMap<string, RecordHead>,
  files: ReadonlyMap<string, HeldFile | null> = new Map(),
): DecisionContext {
  return {
    config: viewer.config,
    principal: viewer.principal,
    now: viewer.now(),
    record: (id) => records.get(id),
    assignee: () => undefined,
    file: (sha256) => files.get(sha256),
  };
}

/**
 * The server's fold with the pending actions on top, each as core's `decideAction` will decide it
 * on the server (accepted, requested, or rejected and so without effect), followed by the
 * server's automatic UNASSIGN where it will append one: the person sees now what the server will
 * decide later, by the same rule.
 */
export function foldWithPending(
  serverEntries: Entry[],
  pending: OutboxItem[],
  viewer: Viewer,
): RecordFold | null {
  const typeId =
    serverEntries.find((e) => e.recordType)?.recordType ??
    pending.find((p) => p.action.recordType)?.action.recordType;
  const recordType = viewer.config.recordTypes.get(typeId ?? '');
  let fold = foldLog(serverEntries, recordType);
  let seq = serverEntries.reduce((max, e) => Math.max(max, e.seq), 0);
  const context = deviceContext(viewer, new Map());
  for (const { action } of pending) {
    const decision = decideAction(fold, action, context);
    const entry: FoldEntry = {
      ...action,
      seq: ++seq,
      status: decision.outcome,
      createdBy: viewer.principal.id,
      createdAtLocation: viewer.principal.officeId,
      deviceId: viewer.deviceId,
      recordedAt: null,
    };
    const provisional: FoldEntry[] = [entry];
    if (decision.outcome !== 'rejected' && decision.unassign) {
      provisional.push({
        id: `${action.id}:unassign`,
        recordId: action.recordId,
        type: 'UNASSIGN',
        occurredAt: action.occurredAt,
        seq: ++seq,
        status: 'accepted',
        createdBy: viewer.principal.id,
        createdAtLocation: viewer.principal.officeId,
        deviceId: null,
        recordedAt: null,
      });
    }
    fold = foldOnto(fold, provisional, recordType);
  }
  return fold;
}

/** The server's state of a record, folded from the entries the device holds. */
export function serverState(entries: Entry[], viewer: Viewer): RecordState | null {
  const type = entries.find((e) => e.type === 'CREATE')?.recordType;
  return foldRecord(entries, viewer.config.recordTypes.get(type ?? ''));
}

/** Record ids with pending actions, in outbox order. */
export async function pendingByRecord(
  db: UserDatabase,
  vault: Vault,
): Promise<Map<string, OutboxItem[]>> {
  const items = await vault.openAll(await db.outbox.orderBy('deviceSeq').toArray(), (item) =>
    vault.openOutbox(item),
  );
  const byRecord = new Map<string, OutboxItem[]>();
  for (const item of items) {
    const list = byRecord.get(item.action.recordId) ?? [];
    list.push(item);
    byRecord.set(item.action.recordId, list);
  }
  return byRecord;
}

export async function localRecord(
  db: UserDatabase,
  recordId: string,
  viewer: Viewer,
): Promise<LocalRecord | null> {
  const local = await localFold(db, recordId, viewer);
  if (!local.fold) return null;
  return {
    record: local.fold.record,
    entries: local.entries,
    pending: local.pending.map(({ action, savedAt }) => ({ action, savedAt })),
    attention: local.attention,
  };
}

/** A record as the device holds it: the server's entries, the outbox, and their fold. */
export async function localFold(db: UserDatabase, recordId: string, viewer: Viewer) {
  const [sealedEntries, sealedPending, sealedAttention] = await Promise.all([
    db.entries.where('recordId').equals(recordId).sortBy('seq'),
    db.outbox.where('action.recordId').equals(recordId).sortBy('deviceSeq'),
    db.attention.where('action.recordId').equals(recordId).toArray(),
  ]);
  const { vault } = viewer;
  const [entries, pending, attention] = await Promise.all([
    vault.openAll(sealedEntries, (entry) => vault.openBody(entry)),
    vault.openAll(sealedPending, (item) => vault.openOutbox(item)),
    vault.openAll(sealedAttention, (item) => vault.openAttention(item)),
  ]);
  return { entries, pending, attention, fold: foldWithPending(entries, pending, viewer) };
}

/** The records a device holds among `ids`, as the decision's reference checks see them. */
export async function localHeads(
  db: UserDatabase,
  ids: readonly string[],
  viewer: Viewer,
): Promise<Map<string, RecordHead>> {
  const heads = new Map<string, RecordHead>();
  for (const id of new Set(ids)) {
    const local = await localRecord(db, id, viewer);
    if (local) heads.set(id, local.record);
  }
  return heads;
}

/** Local search: server states with pending actions folded in, filtered and newest first. */
export async function queryRecords(
  db: UserDatabase,
  query: RecordQuery,
  viewer: Viewer,
): Promise<RecordState[]> {
  const pending = await pendingByRecord(db, viewer.vault);
  const sealed = query.type
    ? await db.records.where('type').equals(query.type).toArray()
    : await db.records.toArray();
  // Opened in memory: local search on an ID number works as before, nothing in clear at rest.
  const stored = await viewer.vault.openAll(sealed, (state) => viewer.vault.openState(state));
  const states = new Map(stored.map((state) => [state.id, state]));
  for (const recordId of pending.keys()) {
    const local = await localRecord(db, recordId, viewer);
    if (local) states.set(recordId, local.record);
    else states.delete(recordId);
  }
  const text = query.text?.trim().toLowerCase();
  const results = [...states.values()].filter((state) => {
    if (query.type && state.type !== query.type) return false;
    if (query.status && state.status !== query.status) return false;
    if (query.flag && !state.flags.includes(query.flag)) return false;
    if (query.assignedToMe && state.assignedTo !== viewer.principal.id) return false;
    if (query.pending && !pending.has(state.id)) return false;
    if (text && !matches(state, text, viewer)) return false;
    return true;
  });
  results.sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : a.updatedAt > b.updatedAt ? -1 : 0));
  return results.slice(0, query.limit ?? 500);
}

/**
 * What a person may type to find a record: a name (loosely), a whole or partial tracking id (five
 * characters or more, with or without dashes), a registration number, or an ID number.
 */
export function matches(state: RecordState, text: string, viewer: Viewer): boolean {
  const compact = normaliseTrackingId(text);
  if (compact.length >= 5 && /^[0-9A-Z]+$/.test(compact) && state.trackingId.includes(compact))
    return true;
  const bare = text.replace(/[\s-]/g, '').toUpperCase();
  if (state.registrationNumber?.toUpperCase() === bare) return true;
  const recordType = viewer.config.recordTypes.get(state.type);
  if (recordType && identifiers(state, recordType).includes(bare)) return true;
  const words = searchName(state, recordType);
  return searchForm(text)
    .split(/\s+/)
    .every((part) => words.includes(part));
}

/** The record's ID numbers, without spaces or dashes, in upper case. */
function identifiers(state: RecordState, recordType: RecordTypeConfig): string[] {
  const found: string[] = [];
  for (const field of formFields(recordType).values()) {
    const value = state.declaration[field.id];
    if (field.type === 'idNumber' && typeof value === 'string')
      found.push(value.replace(/[\s-]/g, '').toUpperCase());
  }
  return found;
}

/** The records whose reference fields name `recordId` (a household's members), in form order. */
export function referencing(
  records: RecordState[],
  recordId: string,
  viewer: Viewer,
): { record: RecordState; field: string }[] {
  const found: { record: RecordState; field: string }[] = [];
  for (const record of records) {
    const recordType = viewer.config.recordTypes.get(record.type);
    if (!recordType || record.id === recordId) continue;
    for (const field of formFields(recordType).values()) {
      if (field.type !== 'reference') continue;
      const value = record.declaration[field.id];
      const ids = Array.isArray(value) ? value : [value];
      if (ids.includes(recordId)) {
        found.push({ record, field: field.id });
        break;
      }
    }
  }
  return found;
}

/** Whether the record is still the person's to hold: in their jurisdiction or assigned to them. */
export function stillInScope(state: RecordState, viewer: Viewer): boolean {
  return inReach(viewer.principal, viewer.config, state);
}
