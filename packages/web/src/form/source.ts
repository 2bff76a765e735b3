import type { RegistraClient } from '@registra/client';
import {
  mergeDeclaration,
  type ActionType,
  type Declaration,
  type Entry,
  type RecordState,
  type RecordTypeConfig,
  type RegistryConfig,
} from '@registra/core';

export type FormMode =
  | { kind: 'new'; recordType: string }
  | { kind: 'draft'; draftId: string }
  | { kind: 'action'; recordId: string; action: string };

/** What a form edits: a new record, a draft, or an existing record through one action. */
export interface FormSource {
  recordType: RecordTypeConfig;
  /** The existing record the action goes to; null for a new record. */
  recordId: string | null;
  /** That record's state when the form opened, and its log. */
  record: RecordState | null;
  entries: Entry[];
  action: ActionType;
  draftId: string | null;
  /** The record's declaration before this form (empty for a new record). */
  base: Declaration;
  /** The answers the form starts with. */
  values: Declaration;
  /** The page the form opens on. */
  step: number;
  /** What else the action carries (a correction's reason and requester). */
  annotation: Record<string, string>;
}

const FORM_ACTIONS: readonly ActionType[] = ['NOTIFY', 'DECLARE', 'UPDATE', 'CORRECT'];

export async function loadFormSource(
  mode: FormMode,
  client: RegistraClient,
  config: RegistryConfig,
): Promise<FormSource> {
  const typeOf = (id: string) => {
    const recordType = config.recordTypes.get(id);
    if (!recordType) throw new Error(`the configuration has no record type “${id}”`);
    return recordType;
  };
  if (mode.kind === 'new') {
    const recordType = typeOf(mode.recordType);
    return {
      recordType,
      recordId: null,
      record: null,
      entries: [],
      action: 'DECLARE',
      draftId: null,
      base: {},
      values: {},
      step: 0,
      annotation: {},
    };
  }
  if (mode.kind === 'draft') {
    const draft = await client.drafts.get(mode.draftId);
    if (!draft) throw new Error('this draft is no longer on this device (sent or deleted)');
    const recordType = typeOf(draft.recordType);
    const local = draft.recordId ? await client.records.get(draft.recordId) : null;
    const base = local?.record.declaration ?? {};
    return {
      recordType,
      // A draft of a record that never reached the server starts a new record.
      recordId: local ? local.record.id : null,
      record: local?.record ?? null,
      entries: local?.entries ?? [],
      action: local ? draft.actionType : 'DECLARE',
      draftId: draft.id,
      base,
      values: mergeDeclaration(base, draft.declaration as Declaration),
      step: draft.step ?? 0,
      annotation: draft.annotation ?? {},
    };
  }
  const action = mode.action as ActionType;
  if (!FORM_ACTIONS.includes(action)) throw new Error(`${mode.action} has no form`);
  const local = await client.records.get(mode.recordId);
  if (!local) throw new Error('this record is not on this device');
  const recordType = typeOf(local.record.type);
  const base = local.record.declaration;
  return {
    recordType,
    recordId: local.record.id,
    record: local.record,
    entries: local.entries,
    action,
    draftId: null,
    base,
    values: base,
    step: 0,
    annotation: {},
  };
}
