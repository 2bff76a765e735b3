import type { RegistraClient } from '@registra/client';
import type { Declaration } from '@registra/core';
import { v7 as uuidv7 } from 'uuid';
import type { FormSource } from './source.js';

/**
 * Saves the form as actions in the outbox: CREATE then the form's action for a new record, the
 * action alone for an existing one; the draft goes once they are saved. `created` is the id of a
 * record whose CREATE was saved before its declaration was refused: it is not created twice.
 */
export async function submitForm(
  client: RegistraClient,
  source: FormSource,
  patch: Declaration,
  created: { current: string | null },
): Promise<string> {
  let recordId = source.recordId ?? created.current;
  if (!recordId) {
    recordId = uuidv7();
    await client.actions.submit({ type: 'CREATE', recordId, recordType: source.recordType.id });
    created.current = recordId;
  }
  await client.actions.submit({ type: source.action, recordId, declaration: patch });
  if (source.draftId) await client.drafts.delete(source.draftId);
  return recordId;
}

const SAVED: Partial<Record<string, string>> = {
  DECLARE: 'Declaration',
  NOTIFY: 'Notification',
  UPDATE: 'Changes',
  CORRECT: 'Correction',
};

/** What the next screen says once the form's action is in the outbox. */
export function savedMessage(action: string, online: boolean): string {
  const what = SAVED[action] ?? 'Action';
  return online
    ? `${what} saved on this device and being sent.`
    : `${what} saved on this device. It will be sent when the network is back.`;
}
