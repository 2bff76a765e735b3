import { ActionRefused, type NewAction } from '@registra/client';
import {
  allowedActions,
  type ActionType,
  type AllowedAction,
  type Principal,
  type RecordState,
} from '@registra/core';
import { useState } from 'react';
import { errorText, useClient } from '../hooks/index.js';
import { go } from '../router.js';
import { sentence, type Words } from '../words.js';
import { ConfirmDialog } from './ConfirmDialog.js';

/** Actions that open the form; the others are sent at once, after a confirmation where asked. */
const FORM_ACTIONS: ReadonlySet<ActionType> = new Set(['NOTIFY', 'DECLARE', 'UPDATE', 'CORRECT']);
/** What cannot be undone is confirmed first, saying what will happen. */
const CONFIRMED: ReadonlySet<ActionType> = new Set([
  'REGISTER',
  'APPROVE',
  'DECLINE',
  'ARCHIVE',
  'REJECT',
  'CUSTOM',
]);
const REASON: Partial<Record<ActionType, 'required' | 'optional'>> = {
  REJECT: 'required',
  ARCHIVE: 'required',
  DECLINE: 'optional',
};
const PRIMARY: ReadonlySet<ActionType> = new Set(['REGISTER', 'APPROVE', 'DECLARE', 'VALIDATE']);
/** Shown with the assignment (RecordAssignment), not among the record's actions. */
const ASSIGNMENT: ReadonlySet<ActionType> = new Set(['ASSIGN', 'UNASSIGN']);
/** Decided on the duplicate review (DuplicateReview), with the candidates side by side. */
const REVIEW: ReadonlySet<ActionType> = new Set(['MARK_DUPLICATE', 'MARK_NOT_DUPLICATE']);

/**
 * The actions the person may perform on the record now, as buttons (core `allowedActions`),
 * leaving out what makes no sense now (validating what is validated).
 */
export function RecordActions({
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
  const [asking, setAsking] = useState<AllowedAction | null>(null);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const recordType = words.recordType(record.type);
  if (!recordType) return null;
  const all = allowedActions(record, recordType, principal, words.config.locations).filter(
    (a) =>
      !ASSIGNMENT.has(a.type) &&
      !REVIEW.has(a.type) &&
      !(a.type === 'VALIDATE' && record.flags.includes('validated')),
  );
  const allowed = all.filter((a) => a.verdict.allowed);
  // What being assigned the record would open up (assignment mode).
  const afterAssigning = all.filter((a) => !a.verdict.allowed && a.verdict.code === 'NOT_ASSIGNED');
  const label = (action: AllowedAction) => buttonLabel(action, record, words);

  async function perform(action: AllowedAction, confirmed = false, reason?: string) {
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
    if (CONFIRMED.has(action.type) && !confirmed) {
      setAsking(action);
      return;
    }
    const submission: NewAction = { type: action.type, recordId: record.id };
    if (action.customType) submission.customType = action.customType;
    if (action.requestId) submission.requestId = action.requestId;
    if (reason) submission.annotation = { reason };
    setBusy(true);
    try {
      await client.actions.submit(submission);
      setAsking(null);
    } catch (error) {
      setProblem(
        t.notSaved(error instanceof ActionRefused ? sentence(error.message) : errorText(error)),
      );
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="record-actions">
      <div className="actions">
        {allowed.length === 0 && afterAssigning.length === 0 && (
          <span className="muted">{t.noActionOpen}</span>
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
          {record.assignedTo && record.assignedTo !== principal.id
            ? t.assignFirst(words.person(record.assignedTo), afterAssigning.map(label).join(', '))
            : t.assignToDo(afterAssigning.map(label).join(', '))}
        </p>
      )}
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
      {asking && (
        <ConfirmDialog
          title={`${label(asking)}: ${words.recordTitle(record)}`}
          consequence={t.consequence[asking.type]}
          reason={REASON[asking.type] ?? 'none'}
          onCancel={() => setAsking(null)}
          onConfirm={(reason) => void perform(asking, true, reason)}
        />
      )}
    </section>
  );
}

function buttonLabel(action: AllowedAction, record: RecordState, words: Words): string {
  if (action.type === 'APPROVE' || action.type === 'DECLINE') {
    const request = record.pending.find((p) => p.id === action.requestId);
    const what = request ? words.requestNoun(request, record.type) : words.t.aRequest;
    return action.type === 'APPROVE' ? words.t.approveWhat(what) : words.t.declineWhat(what);
  }
  return words.actionLabel(action, record.type);
}
