import { useState, type FormEvent } from 'react';
import { useT } from '../i18n/index.js';

/**
 * Asks before what cannot be undone, saying what will happen; with `reason`, asks for the reason
 * that REJECT and ARCHIVE need (and that a DECLINE may give).
 */
export function ConfirmDialog({
  title,
  consequence,
  reason,
  onCancel,
  onConfirm,
}: {
  title: string;
  consequence: string | undefined;
  reason: 'required' | 'optional' | 'none';
  onCancel: () => void;
  onConfirm: (reason: string | undefined) => void;
}) {
  const t = useT();
  const [text, setText] = useState('');
  const missing = reason === 'required' && !text.trim();
  function submit(event: FormEvent) {
    event.preventDefault();
    if (!missing) onConfirm(reason === 'none' || !text.trim() ? undefined : text.trim());
  }
  return (
    <div className="dialog-backdrop">
      <form
        className="card dialog"
        role="dialog"
        aria-modal="true"
        aria-labelledby="dialog-title"
        aria-describedby={consequence ? 'dialog-consequence' : undefined}
        onSubmit={submit}
        onKeyDown={(e) => e.key === 'Escape' && onCancel()}
      >
        <h2 id="dialog-title">{title}</h2>
        {consequence && <p id="dialog-consequence">{consequence}</p>}
        {reason !== 'none' && (
          <>
            <label htmlFor="reason">
              {t.reason}
              {reason === 'optional' ? (
                ` (${t.optional})`
              ) : (
                <span className="required" aria-hidden="true">
                  {' '}
                  *
                </span>
              )}
            </label>
            <textarea
              id="reason"
              value={text}
              onChange={(e) => setText(e.target.value)}
              aria-required={reason === 'required' || undefined}
              autoFocus
            />
          </>
        )}
        <div className="actions">
          <button
            type="submit"
            className="primary"
            disabled={missing}
            autoFocus={reason === 'none'}
          >
            {t.confirm}
          </button>
          <button type="button" onClick={onCancel}>
            {t.cancel}
          </button>
        </div>
      </form>
    </div>
  );
}
