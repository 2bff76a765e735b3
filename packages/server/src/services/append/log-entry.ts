import type { Action, Entry, EntryStatus } from '@registra/core';
import type { NewEntry } from '../../store/entries.js';
import { entryHash } from '../chain.js';

/** What the server decided about an entry, beside the action as sent. */
export interface EntryDecision {
  status: EntryStatus;
  code?: string | null;
  message?: string | null;
  registrationNumber?: string | null;
}

/** Who appends and from where: the caller's principal, and the device for /sync. */
export interface Appender {
  userId: string;
  role: string;
  officeId: string;
  /** The pushing device; null for /actions and for the server's own entries. */
  deviceId: string | null;
}

/**
 * The row to store for an action at `seq` (PROTOCOL 3.2): the body as sent, plus the decision,
 * chained to the record's previous entry (PROTOCOL 13).
 */
export function newEntry(
  action: Action,
  seq: number,
  recordType: string,
  decision: EntryDecision,
  appender: Appender,
  recordedAt: string,
  configVersion: string,
  prevHash: string | null,
): NewEntry {
  const { deviceSeq, ...body } = action;
  const fromDevice = appender.deviceId !== null;
  const row: NewEntry = {
    id: action.id,
    recordId: action.recordId,
    seq,
    recordType,
    type: action.type,
    body,
    deviceId: appender.deviceId,
    deviceSeq: fromDevice ? (deviceSeq ?? null) : null,
    status: decision.status,
    code: decision.code ?? null,
    message: decision.message ?? null,
    registrationNumber: decision.registrationNumber ?? null,
    createdBy: appender.userId,
    createdByRole: appender.role,
    createdAtLocation: appender.officeId,
    recordedAt,
    configVersion,
    hash: '',
    prevHash,
  };
  row.hash = entryHash(toLogEntry(row), prevHash);
  return row;
}

/** The log entry a stored row reads back as. */
export function toLogEntry(e: NewEntry): Entry {
  // Object.assign, not a spread: see toEntry in store/entries.ts.
  const entry = Object.assign({}, e.body, {
    seq: e.seq,
    status: e.status,
    createdBy: e.createdBy,
    createdByRole: e.createdByRole,
    createdAtLocation: e.createdAtLocation,
    deviceId: e.deviceId,
    recordedAt: e.recordedAt,
    code: e.code,
    message: e.message,
    registrationNumber: e.registrationNumber,
    configVersion: e.configVersion,
  }) as Entry;
  if (e.deviceSeq !== null) entry.deviceSeq = e.deviceSeq;
  return entry;
}
