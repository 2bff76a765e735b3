import { ActionRefused } from '@registra/client';
import { checkAction, type Principal, type RecordState } from '@registra/core';
import { useState } from 'react';
import { errorText, useClient } from '../hooks/index.js';
import { sentence, type Words } from '../words.js';

/**
 * Who has the record, by name, with "Assign to me" for whoever may take it and "Unassign" for the
 * assignee or a supervisor. Taking a record brings its whole log to the device.
 */
export function RecordAssignment({
  record,
  principal,
  words,
}: {
  record: RecordState;
  principal: Principal;
  words: Words;
}) {
  const client = useClient();
  const { t } = words;
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const recordType = words.recordType(record.type);
  if (!recordType?.actions.ASSIGN) return null;
  const context = { recordType, principal, locations: words.config.locations };
  const mine = record.assignedTo === principal.id;
  const canTake = !mine && checkAction(record, { type: 'ASSIGN' }, context).allowed;
  const canRelease =
    record.assignedTo !== null && checkAction(record, { type: 'UNASSIGN' }, context).allowed;

  async function act(type: 'ASSIGN' | 'UNASSIGN') {
    setProblem(null);
    setBusy(true);
    try {
      await client.actions.submit({
        type,
        recordId: record.id,
        ...(type === 'ASSIGN' ? { assignee: principal.id } : {}),
      });
      if (type === 'ASSIGN') await client.records.fetch(record.id).catch(() => null);
    } catch (error) {
      setProblem(
        t.notSaved(error instanceof ActionRefused ? sentence(error.message) : errorText(error)),
      );
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="assignment">
      <span data-testid="assigned-to">
        {record.assignedTo
          ? mine
            ? t.assignedToYou
            : t.assignedTo(words.person(record.assignedTo))
          : t.notAssigned}
      </span>
      {canTake && (
        <button
          type="button"
          className="small-button"
          disabled={busy}
          data-testid="action-ASSIGN"
          onClick={() => void act('ASSIGN')}
        >
          {t.assignToMe}
        </button>
      )}
      {canRelease && (
        <button
          type="button"
          className="small-button"
          disabled={busy}
          data-testid="action-UNASSIGN"
          onClick={() => void act('UNASSIGN')}
        >
          {t.unassign}
        </button>
      )}
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
    </div>
  );
}
