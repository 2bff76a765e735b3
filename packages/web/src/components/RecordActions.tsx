import { ActionRefused, type NewAction } from '@registra/client';
import {
  allowedActions,
  type ActionType,
  type AllowedAction,
  type Principal,
  type RecordState,
  type RegistryConfig,
} from '@registra/core';
import { useState } from 'react';
import { errorText, useClient } from '../hooks/index.js';
import { actionLabel, requestNoun, typeWords } from '../labels.js';
import { go } from '../router.js';
import { ReasonDialog } from './ReasonDialog.js';

/** Actions that open the form; the others are sent at once (after a reason where one is asked). */
const FORM_ACTIONS: ReadonlySet<ActionType> = new Set(['NOTIFY', 'DECLARE', 'UPDATE', 'CORRECT']);
const REASON_ACTIONS: ReadonlySet<ActionType> = new Set(['REJECT', 'ARCHIVE', 'DECLINE']);

/** The actions the person may perform on the record now, as buttons (core `allowedActions`). */
export function RecordActions({
  record,
  config,
  principal,
}: {
  record: RecordState;
  config: RegistryConfig;
  principal: Principal;
}) {
  const client = useClient();
  const [asking, setAsking] = useState<AllowedAction | null>(null);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const recordType = config.recordTypes.get(record.type);
  if (!recordType) return null;
  const all = allowedActions(record, recordType, principal, config.locations).filter(
    (a) => !redundant(a, record, principal),
  );
  const allowed = all.filter((a) => a.verdict.allowed);
  // What assigning the record to oneself would open up (assignment mode).
  const afterAssigning = all.filter((a) => !a.verdict.allowed && a.verdict.code === 'NOT_ASSIGNED');
  const label = (action: AllowedAction) => buttonLabel(action, record, config);

  async function perform(action: AllowedAction, reason?: string) {
    setProblem(null);
    if (FORM_ACTIONS.has(action.type)) {
      go(`/records/${record.id}/${action.type}`);
      return;
    }
    // Printing has its own screen: preview, who collects it, print, then the action.
    if (action.type === 'PRINT_CERTIFICATE') {
      go(`/records/${record.id}/print`);
      return;
    }
    if (REASON_ACTIONS.has(action.type) && reason === undefined) {
      setAsking(action);
      return;
    }
    const submission: NewAction = { type: action.type, recordId: record.id };
    if (action.customType) submission.customType = action.customType;
    if (action.requestId) submission.requestId = action.requestId;
    if (action.type === 'ASSIGN') submission.assignee = principal.id;
    if (reason) submission.annotation = { reason };
    setBusy(true);
    try {
      await client.actions.submit(submission);
      setAsking(null);
      // Taking a record offline: bring its whole log to this device while there is a network.
      if (action.type === 'ASSIGN') await client.records.fetch(record.id).catch(() => null);
    } catch (error) {
      setProblem(
        error instanceof ActionRefused
          ? `Not saved: ${error.message} (${error.code})`
          : `Not saved: ${errorText(error)}`,
      );
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-label="Actions">
      <div className="actions">
        {allowed.length === 0 && (
          <span className="muted">No action is open to you on this record now.</span>
        )}
        {allowed.map((action) => (
          <button
            key={`${action.type}-${action.customType ?? ''}-${action.requestId ?? ''}`}
            type="button"
            disabled={busy}
            data-testid={`action-${action.type === 'CUSTOM' ? action.customType : action.type}`}
            className={PRIMARY.has(action.type) ? 'primary' : ''}
            onClick={() => void perform(action)}
          >
            {label(action)}
          </button>
        ))}
      </div>
      {afterAssigning.length > 0 && (
        <p className="muted small">
          Assign the record to yourself to: {afterAssigning.map(label).join(', ')}.
        </p>
      )}
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
      {asking && (
        <ReasonDialog
          title={label(asking)}
          optional={asking.type === 'DECLINE'}
          onCancel={() => setAsking(null)}
          onConfirm={(reason) => void perform(asking, reason)}
        />
      )}
    </section>
  );
}

const PRIMARY: ReadonlySet<ActionType> = new Set(['REGISTER', 'APPROVE', 'DECLARE', 'VALIDATE']);

/** "Assign to me" on a record already assigned to me, "Unassign" on an unassigned one. */
function redundant(action: AllowedAction, record: RecordState, principal: Principal): boolean {
  if (action.type === 'ASSIGN') return record.assignedTo === principal.id;
  if (action.type === 'UNASSIGN') return record.assignedTo === null;
  return false;
}

function buttonLabel(action: AllowedAction, record: RecordState, config: RegistryConfig): string {
  if (action.type === 'ASSIGN') return 'Assign to me';
  if (action.type === 'UNASSIGN') return 'Unassign';
  if (action.type === 'APPROVE' || action.type === 'DECLINE') {
    const request = record.pending.find((p) => p.id === action.requestId);
    const what = request ? requestNoun(request, config, record.type) : 'request';
    return `${typeWords(action.type)} ${what}`;
  }
  return actionLabel(action, config, record.type);
}
