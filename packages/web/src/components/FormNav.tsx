import { useState } from 'react';
import { useT } from '../i18n/index.js';

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
  const t = useT();
  const [confirming, setConfirming] = useState(false);
  const reviewing = step > lastPage;
  return (
    <>
      <div className="actions form-actions">
        {step > 0 && (
          <button type="button" onClick={onBack}>
            {t.back}
          </button>
        )}
        {!reviewing && (
          <button type="button" className="primary" onClick={onNext}>
            {step < lastPage ? t.next : t.review}
          </button>
        )}
        {reviewing && (
          <button type="button" className="primary" onClick={onSend} disabled={!canSend || sending}>
            {sending ? t.sending : sendLabel}
          </button>
        )}
        <button type="button" onClick={onSaveDraft}>
          {t.saveDraft}
        </button>
      </div>
      {/* Out of the sticky bar: rarely needed, and it would take a second row on a phone. */}
      {hasDraft && (
        <div className="actions draft-actions">
          {confirming ? (
            <span className="confirm">
              <button type="button" className="danger" onClick={onDeleteDraft}>
                {t.yesDelete}
              </button>
              <button type="button" onClick={() => setConfirming(false)}>
                {t.keepIt}
              </button>
            </span>
          ) : (
            <button type="button" className="link-button" onClick={() => setConfirming(true)}>
              {t.deleteDraft}
            </button>
          )}
        </div>
      )}
    </>
  );
}
