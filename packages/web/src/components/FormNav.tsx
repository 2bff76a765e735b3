import { useState } from 'react';

/** The form's buttons: Back, Next / Review / Send, Save draft, and Delete draft for a draft. */
export function FormNav({
  step,
  lastPage,
  sendLabel,
  canSend,
  sending,
  hasDraft,
  onBack,
  onNext,
  onSend,
  onSaveDraft,
  onDeleteDraft,
}: {
  step: number;
  lastPage: number;
  sendLabel: string;
  canSend: boolean;
  sending: boolean;
  hasDraft: boolean;
  onBack: () => void;
  onNext: () => void;
  onSend: () => void;
  onSaveDraft: () => void;
  onDeleteDraft: () => void;
}) {
  const [confirming, setConfirming] = useState(false);
  const reviewing = step > lastPage;
  return (
    <div className="actions form-actions">
      {step > 0 && (
        <button type="button" onClick={onBack}>
          Back
        </button>
      )}
      {!reviewing && (
        <button type="button" className="primary" onClick={onNext}>
          {step < lastPage ? 'Next' : 'Review'}
        </button>
      )}
      {reviewing && (
        <button type="button" className="primary" onClick={onSend} disabled={!canSend || sending}>
          {sending ? 'Saving…' : sendLabel}
        </button>
      )}
      <button type="button" onClick={onSaveDraft}>
        Save draft
      </button>
      {hasDraft &&
        (confirming ? (
          <span className="confirm">
            <button type="button" className="danger" onClick={onDeleteDraft}>
              Yes, delete the draft
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              Keep it
            </button>
          </span>
        ) : (
          <button type="button" onClick={() => setConfirming(true)}>
            Delete draft
          </button>
        ))}
    </div>
  );
}
