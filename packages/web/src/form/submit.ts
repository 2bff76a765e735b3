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
  annotation: Record<string, string>,
  draftId: string | null,
  created: { current: string | null },
): Promise<string> {
  let recordId = source.recordId ?? created.current;
  if (!recordId) {
    recordId = uuidv7();
    await client.actions.submit({ type: 'CREATE', recordId, recordType: source.recordType.id });
    created.current = recordId;
  }
  await client.actions.submit({
    type: source.action,
    recordId,
    declaration: patch,
    ...(Object.keys(annotation).length > 0 ? { annotation } : {}),
  });
  if (draftId) await client.drafts.delete(draftId);
  return recordId;
}
