import {
  actionConfigOf,
  foldRecord,
  holds,
  searchForm,
  searchName,
  type Action,
  type Entry,
  type FoldEntry,
  type Principal,
  type RecordState,
  type RegistryConfig,
} from '@registra/core';
import type { LocalRecord, RecordQuery } from './api.js';
import type { OutboxItem, UserDatabase } from './db.js';

/** The signed-in person as the rules see them, with the configuration they work under. */
export interface Viewer {
  principal: Principal;
  config: RegistryConfig;
  deviceId: string;
}

/**
 * Pending actions as provisional entries after the server's: accepted (or requested, when the
 * configuration wants a confirmation), followed by the server's automatic UNASSIGN where it will
 * append one, so the person sees now what the server will decide later.
 */
export function provisionalEntries(
  serverEntries: Entry[],
  pending: OutboxItem[],
  viewer: Viewer,
): FoldEntry[] {
  let seq = serverEntries.reduce((max, e) => Math.max(max, e.seq), 0);
  const provisional: FoldEntry[] = [];
  const typeOf = (action: Action) =>
    action.recordType ??
    serverEntries.find((e) => e.recordType)?.recordType ??
    pending.find((p) => p.action.recordType)?.action.recordType;
  for (const { action } of pending) {
    const recordType = viewer.config.recordTypes.get(typeOf(action) ?? '');
    const config = recordType && actionConfigOf(recordType, action.type, action.customType);
    const entry: FoldEntry = {
      ...action,
      seq: ++seq,
      status: config?.confirmation ? 'requested' : 'accepted',
      createdBy: viewer.principal.id,
      createdAtLocation: viewer.principal.officeId,
      deviceId: viewer.deviceId,
      recordedAt: null,
    };
    provisional.push(entry);
    if (config?.unassign) {
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
  }
  return provisional;
}

/** The server's state of a record, folded from the entries the device holds. */
export function serverState(entries: Entry[], viewer: Viewer): RecordState | null {
  const type = entries.find((e) => e.type === 'CREATE')?.recordType;
  return foldRecord(entries, viewer.config.recordTypes.get(type ?? ''));
}

/** Record ids with pending actions, in outbox order. */
export async function pendingByRecord(db: UserDatabase): Promise<Map<string, OutboxItem[]>> {
  const items = await db.outbox.orderBy('deviceSeq').toArray();
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
  const [entries, pending, attention] = await Promise.all([
    db.entries.where('recordId').equals(recordId).sortBy('seq'),
    db.outbox.where('action.recordId').equals(recordId).sortBy('deviceSeq'),
    db.attention.where('action.recordId').equals(recordId).toArray(),
  ]);
  const type =
    entries.find((e) => e.type === 'CREATE')?.recordType ??
    pending.find((p) => p.action.type === 'CREATE')?.action.recordType;
  const record = foldRecord(
    [...entries, ...provisionalEntries(entries, pending, viewer)],
    viewer.config.recordTypes.get(type ?? ''),
  );
  if (!record) return null;
  return {
    record,
    entries,
    pending: pending.map(({ action, savedAt }) => ({ action, savedAt })),
    attention,
  };
}

/** Local search: server states with pending actions folded in, filtered and newest first. */
export async function queryRecords(
  db: UserDatabase,
  query: RecordQuery,
  viewer: Viewer,
): Promise<RecordState[]> {
  const pending = await pendingByRecord(db);
  const stored = query.type
    ? await db.records.where('type').equals(query.type).toArray()
    : await db.records.toArray();
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

function matches(state: RecordState, text: string, viewer: Viewer): boolean {
  const compact = text.replace(/[\s-]/g, '').toUpperCase();
  if (state.trackingId === compact || state.registrationNumber?.toUpperCase() === compact)
    return true;
  const words = searchName(state, viewer.config.recordTypes.get(state.type));
  return searchForm(text)
    .split(/\s+/)
    .every((part) => words.includes(part));
}

/** Whether the record is still the person's to hold: in their jurisdiction or assigned to them. */
export function stillInScope(state: RecordState, viewer: Viewer): boolean {
  if (state.assignedTo === viewer.principal.id) return true;
  const recordType = viewer.config.recordTypes.get(state.type);
  return (
    recordType !== undefined &&
    holds(
      viewer.principal,
      recordType.readPermission,
      state.createdAtLocation,
      viewer.config.locations,
    )
  );
}
