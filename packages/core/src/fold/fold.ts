import type { ActionType, Declaration } from '../contracts/action.js';
import type { FoldEntry } from '../contracts/entry.js';
import type { ActionMeta, Conflict, PendingRequest, RecordState } from '../contracts/record.js';
import { customActionOf, flagStem } from '../config/lookup.js';
import type { RecordTypeConfig } from '../config/schema.js';
import { jsonEqual, mergeDeclaration } from '../declaration/merge.js';
import { DuplicatesFoundAnnotationSchema } from '../contracts/duplicates.js';
import { trackingIdOf } from '../tracking.js';

/** Flags that PROTOCOL 5.3 defines; a configuration's CUSTOM flags are any others. */
export const FLAGS = {
  incomplete: 'incomplete',
  rejected: 'rejected',
  validated: 'validated',
  conflict: 'conflict',
  /** PROTOCOL 10: the server found likely duplicates; a reviewer has not decided yet. */
  duplicateSuspected: 'duplicate:suspected',
  /** A reviewer decided the record duplicates another: it can then only be archived. */
  duplicate: 'duplicate',
  /** A pending request that its confirming hook has not decided in time (PROTOCOL 8). */
  hookOverdue: 'hook-overdue',
} as const;

/** Which base flags each action type clears (PROTOCOL 5.3). */
const CLEARS: Partial<Record<ActionType, readonly string[]>> = {
  NOTIFY: [FLAGS.rejected, FLAGS.validated],
  DECLARE: [FLAGS.incomplete, FLAGS.rejected, FLAGS.validated],
  UPDATE: [FLAGS.rejected, FLAGS.validated],
  REGISTER: [FLAGS.incomplete, FLAGS.rejected],
  REJECT: [FLAGS.validated],
  ARCHIVE: [FLAGS.incomplete],
};

const SETS: Partial<Record<ActionType, string>> = {
  NOTIFY: FLAGS.incomplete,
  VALIDATE: FLAGS.validated,
  REJECT: FLAGS.rejected,
};

/** Who last changed a declaration field, for merge-mode conflict detection. */
export interface FieldChange {
  seq: number;
  source: string;
}

/**
 * What the fold remembers between entries besides the public state: the base flags (before the
 * derived ones are added), the pending requests' entries, the declined stems and who last changed
 * each field. Plain JSON, so that it can be stored beside the state and the fold resumed from it.
 */
export interface FoldCarry {
  flags: string[];
  requests: FoldEntry[];
  declined: string[];
  changes: Record<string, FieldChange>;
}

/** A record's state and the carry that lets the next entry be folded onto it. */
export interface RecordFold {
  record: RecordState;
  carry: FoldCarry;
}

/** The fold's working state: the public record plus what it needs to remember between entries. */
interface Accumulator {
  record: RecordState;
  flags: Set<string>;
  requests: Map<string, FoldEntry>;
  declined: Set<string>;
  changes: Map<string, FieldChange>;
}

/**
 * Folds a record's log into its current state (PROTOCOL 5). Pure: it reads neither the clock nor
 * the caller, so every replica folds the same log to the same state. Entries are folded in `seq`
 * order whatever order they are given in. Returns null until the log holds an accepted CREATE.
 *
 * Without `recordType`, CREATE assigns nobody, merge conflicts are not tracked and CUSTOM actions
 * change no flags: pass it wherever the configuration is at hand.
 */
export function foldRecord(
  entries: readonly FoldEntry[],
  recordType?: RecordTypeConfig,
): RecordState | null {
  return foldLog(entries, recordType)?.record ?? null;
}

/** Like foldRecord, with the carry that `foldOnto` resumes from. */
export function foldLog(
  entries: readonly FoldEntry[],
  recordType?: RecordTypeConfig,
): RecordFold | null {
  return foldOnto(null, entries, recordType);
}

/**
 * Folds entries onto an earlier fold: a fold is a left fold, so `foldLog(log + more)` equals
 * `foldOnto(foldLog(log), more)`. This is what makes an append cost the same whatever the length
 * of the log. `fold` is not changed; entries at or below its seq are ignored.
 */
export function foldOnto(
  fold: RecordFold | null,
  entries: readonly FoldEntry[],
  recordType?: RecordTypeConfig,
): RecordFold | null {
  const after = fold?.record.seq ?? 0;
  const sorted = entries.filter((e) => e.seq > after).sort((a, b) => a.seq - b.seq);
  let acc: Accumulator | null = fold === null ? null : resume(fold);
  for (const entry of sorted) {
    if (acc === null) {
      if (entry.type === 'CREATE' && entry.status === 'accepted') acc = start(entry, recordType);
      continue;
    }
    step(acc, entry, recordType);
  }
  return acc === null ? null : finish(acc);
}

function step(acc: Accumulator, entry: FoldEntry, recordType: RecordTypeConfig | undefined): void {
  acc.record.seq = Math.max(acc.record.seq, entry.seq);
  if (entry.status === 'rejected') return;
  if (entry.status === 'requested') {
    if (!acc.requests.has(entry.id)) request(acc, entry);
    return;
  }
  if (entry.type === 'APPROVE' || entry.type === 'DECLINE') decide(acc, entry, recordType);
  else if (entry.type === 'HOOK_OVERDUE') markOverdue(acc, entry);
  else apply(acc, entry, entry, recordType);
}

/**
 * The accumulator of an earlier fold, sharing nothing that the steps change: the fold copies what
 * it mutates in place (the record's own fields, pending requests, conflicts) and replaces the rest
 * (a merged declaration is a new object), so this costs a few small copies, not a deep clone.
 */
function resume(fold: RecordFold): Accumulator {
  const { record, carry } = fold;
  return {
    record: {
      ...record,
      flags: [...record.flags],
      pending: record.pending.map((pending) => ({ ...pending })),
      conflicts: record.conflicts.map((conflict) => ({
        ...conflict,
        entries: [...conflict.entries],
      })),
    },
    flags: new Set(carry.flags),
    requests: new Map(carry.requests.map((entry) => [entry.id, entry])),
    declined: new Set(carry.declined),
    changes: new Map(Object.entries(carry.changes)),
  };
}

function start(entry: FoldEntry, recordType: RecordTypeConfig | undefined): Accumulator {
  const at = timeOf(entry);
  const record: RecordState = {
    id: entry.recordId,
    type: entry.recordType ?? recordType?.id ?? '',
    status: 'CREATED',
    flags: [],
    declaration: {},
    trackingId: trackingIdOf(entry.recordId),
    registrationNumber: null,
    assignedTo: recordType?.concurrency === 'assignment' ? entry.createdBy : null,
    printCount: 0,
    createdAt: at,
    createdBy: entry.createdBy,
    createdAtLocation: entry.createdAtLocation,
    updatedAt: at,
    updatedBy: entry.createdBy,
    seq: entry.seq,
    declared: null,
    registered: null,
    pending: [],
    conflicts: [],
  };
  const acc: Accumulator = {
    record,
    flags: new Set(),
    requests: new Map(),
    declined: new Set(),
    changes: new Map(),
  };
  if (entry.declaration) merge(acc, entry, entry.declaration, entry.seq, recordType);
  return acc;
}

function request(acc: Accumulator, entry: FoldEntry): void {
  acc.requests.set(entry.id, entry);
  const pending: PendingRequest = {
    id: entry.id,
    type: entry.type,
    requestedBy: entry.createdBy,
    seq: entry.seq,
  };
  if (entry.customType !== undefined) pending.customType = entry.customType;
  acc.record.pending.push(pending);
}

/** The request stays pending, now seen as overdue; its decision clears the flag with it. */
function markOverdue(acc: Accumulator, entry: FoldEntry): void {
  const pending = acc.record.pending.find((p) => p.id === entry.requestId);
  if (pending) pending.overdue = true;
}

/** APPROVE applies the pending request at its own position, its declaration on top; DECLINE ends it. */
function decide(acc: Accumulator, decision: FoldEntry, recordType?: RecordTypeConfig): void {
  const requested =
    decision.requestId === undefined ? undefined : acc.requests.get(decision.requestId);
  const index = acc.record.pending.findIndex((p) => p.id === decision.requestId);
  if (!requested || index < 0) return;
  acc.record.pending.splice(index, 1);
  acc.requests.delete(requested.id);
  if (decision.type === 'DECLINE') {
    acc.declined.add(flagStem(requested.type, requested.customType));
    touch(acc, decision);
    return;
  }
  const overlay = decision.declaration;
  const declaration =
    overlay === undefined
      ? requested.declaration
      : mergeDeclaration(requested.declaration ?? {}, overlay);
  apply(
    acc,
    {
      ...requested,
      declaration,
      seq: decision.seq,
      registrationNumber: decision.registrationNumber ?? requested.registrationNumber,
    },
    decision,
    recordType,
  );
}

/**
 * Applies an action's effect. `by` is the entry that made it take effect now: the action itself,
 * or the APPROVE that confirmed it.
 */
function apply(
  acc: Accumulator,
  entry: FoldEntry,
  by: FoldEntry,
  recordType: RecordTypeConfig | undefined,
): void {
  const { record, flags } = acc;
  if (entry.declaration) merge(acc, entry, entry.declaration, entry.seq, recordType);
  for (const flag of CLEARS[entry.type] ?? []) flags.delete(flag);
  const set = SETS[entry.type];
  if (set) flags.add(set);

  switch (entry.type) {
    case 'NOTIFY':
      record.status = 'NOTIFIED';
      break;
    case 'DECLARE':
      record.status = 'DECLARED';
      record.declared = meta(entry, by);
      break;
    case 'REGISTER':
      record.status = 'REGISTERED';
      record.registered = meta(entry, by);
      record.registrationNumber = entry.registrationNumber ?? record.registrationNumber;
      break;
    case 'ARCHIVE':
      record.status = 'ARCHIVED';
      break;
    case 'PRINT_CERTIFICATE':
      record.printCount += 1;
      break;
    case 'ASSIGN':
      record.assignedTo = entry.assignee ?? null;
      break;
    case 'UNASSIGN':
      record.assignedTo = null;
      break;
    case 'DUPLICATES_FOUND': {
      const found = DuplicatesFoundAnnotationSchema.safeParse(entry.annotation ?? {});
      if (found.success) {
        flags.add(FLAGS.duplicateSuspected);
        record.duplicates = found.data.candidates;
      }
      break;
    }
    case 'MARK_NOT_DUPLICATE':
      flags.delete(FLAGS.duplicateSuspected);
      record.duplicates = [];
      break;
    case 'MARK_DUPLICATE':
      flags.delete(FLAGS.duplicateSuspected);
      flags.add(FLAGS.duplicate);
      break;
    case 'CUSTOM': {
      const custom = recordType && customActionOf(recordType, entry.customType);
      if (custom) {
        for (const flag of custom.removeFlags) flags.delete(flag);
        for (const flag of custom.addFlags) flags.add(flag);
        if (custom.clearsConflicts) record.conflicts = [];
      }
      break;
    }
    default:
      break;
  }
  acc.declined.delete(flagStem(entry.type, entry.customType));
  touch(acc, by);
}

/**
 * Deep-merges a patch. In merge mode, a field changed since the action's `baseSeq` by someone else
 * is overwritten (server order wins) and recorded as a conflict; a later change made with a
 * `baseSeq` at or after the conflict resolves it (PROTOCOL 5.5).
 */
function merge(
  acc: Accumulator,
  entry: FoldEntry,
  patch: Declaration,
  position: number,
  recordType: RecordTypeConfig | undefined,
): void {
  const { record } = acc;
  const before = record.declaration;
  record.declaration = mergeDeclaration(before, patch);
  const source = `${entry.deviceId ?? ''}/${entry.createdBy}`;
  const tracking = recordType?.concurrency === 'merge';
  const baseSeq = tracking ? entry.baseSeq : undefined;
  for (const field of Object.keys(patch)) {
    const existing = record.conflicts.find((c) => c.field === field);
    if (existing && baseSeq !== undefined && baseSeq >= Math.max(...existing.entries)) {
      record.conflicts = record.conflicts.filter((c) => c !== existing);
    }
    if (jsonEqual(before[field], record.declaration[field])) continue;
    const previous = acc.changes.get(field);
    acc.changes.set(field, { seq: position, source });
    if (baseSeq !== undefined && previous && previous.seq > baseSeq && previous.source !== source) {
      addConflict(record.conflicts, field, previous.seq, position);
    }
  }
}

function addConflict(conflicts: Conflict[], field: string, earlier: number, later: number): void {
  const existing = conflicts.find((c) => c.field === field);
  if (!existing) {
    conflicts.push({ field, entries: [earlier, later] });
    return;
  }
  for (const seq of [earlier, later])
    if (!existing.entries.includes(seq)) existing.entries.push(seq);
}

function touch(acc: Accumulator, by: FoldEntry): void {
  acc.record.updatedAt = timeOf(by);
  acc.record.updatedBy = by.createdBy;
}

function meta(entry: FoldEntry, by: FoldEntry): ActionMeta {
  return { at: timeOf(by), by: entry.createdBy, location: entry.createdAtLocation };
}

/** Server time when the server has recorded the entry; the device's time before that. */
function timeOf(entry: FoldEntry): string {
  return entry.recordedAt ?? entry.occurredAt;
}

function finish(acc: Accumulator): RecordFold {
  const flags = new Set(acc.flags);
  for (const pending of acc.record.pending) {
    flags.add(`${flagStem(pending.type, pending.customType)}:requested`);
    if (pending.overdue) flags.add(FLAGS.hookOverdue);
  }
  for (const stem of acc.declined) flags.add(`${stem}:declined`);
  if (acc.record.conflicts.length > 0) flags.add(FLAGS.conflict);
  acc.record.flags = [...flags].sort();
  return {
    record: acc.record,
    carry: {
      flags: [...acc.flags].sort(),
      // Copies: a fold shares nothing with the entries it was given.
      requests: [...acc.requests.values()].map((entry) => structuredClone(entry)),
      declined: [...acc.declined].sort(),
      changes: Object.fromEntries(acc.changes),
    },
  };
}
