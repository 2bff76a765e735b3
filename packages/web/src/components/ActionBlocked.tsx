import { ActionRefused } from '@registra/client';
import {
  checkAction,
  type ActionType,
  type Principal,
  type RecordState,
  type RegistryConfig,
} from '@registra/core';
import { useState } from 'react';
import { errorText, useClient } from '../hooks/index.js';
import { sentence, type Words } from '../words.js';

/**
 * Says so when the form's action is not allowed on the record now (someone unassigned it, it
 * moved on), and offers "Assign to me" where that is what is missing.
 */
export function ActionBlocked({
  record,
  action,
  config,
  principal,
  words,
  onAssigned,
}: {
  record: RecordState;
  action: ActionType;
  config: RegistryConfig;
  principal: Principal;
  words: Words;
  onAssigned: (record: RecordState) => void;
}) {
  const client = useClient();
  const [problem, setProblem] = useState<string | null>(null);
  const recordType = config.recordTypes.get(record.type);
  if (!recordType) return null;
  const context = { recordType, principal, locations: config.locations };
  const verdict = checkAction(record, { type: action }, context);
  if (verdict.allowed) return null;
  const canAssign =
    verdict.code === 'NOT_ASSIGNED' && checkAction(record, { type: 'ASSIGN' }, context).allowed;

  async function assign() {
    try {
      await client.actions.submit({ type: 'ASSIGN', recordId: record.id, assignee: principal.id });
      const local = await client.records.get(record.id);
      if (local) onAssigned(local.record);
    } catch (error) {
      setProblem(error instanceof ActionRefused ? sentence(error.message) : errorText(error));
    }
  }

  const why =
    verdict.code === 'NOT_ASSIGNED' && record.assignedTo
      ? `${words.t.assignedTo(words.person(record.assignedTo))}.`
      : sentence(verdict.message);
  return (
    <div className="notice warn-notice" role="alert">
      <p>{words.t.cannotSendNow(why)}</p>
      {canAssign && (
        <button type="button" onClick={() => void assign()}>
          {words.t.assignToMe}
        </button>
      )}
      {problem && <p className="error">{problem}</p>}
    </div>
  );
}
