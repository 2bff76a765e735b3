import { useState, type FormEvent } from 'react';

/** Asks for the reason that REJECT and ARCHIVE need (and that a DECLINE may give). */
export function ReasonDialog({
  title,
  optional = false,
  onCancel,
  onConfirm,
}: {
  title: string;
  optional?: boolean;
  onCancel: () => void;
  onConfirm: (reason: string) => void;
}) {
  const [reason, setReason] = useState('');
  const missing = !optional && !reason.trim();
  function submit(event: FormEvent) {
    event.preventDefault();
    if (!missing) onConfirm(reason.trim());
  }
  return (
    <form
      className="card dialog"
      role="dialog"
      aria-label={title}
      onSubmit={submit}
      onKeyDown={(e) => e.key === 'Escape' && onCancel()}
    >
      <h2>{title}</h2>
      <label htmlFor="reason">
        Reason{optional ? ' (optional)' : <span className="required"> *</span>}
      </label>
      <textarea
        id="reason"
        value={reason}
        onChange={(e) => setReason(e.target.value)}
        required={!optional}
        autoFocus
      />
      <div className="actions">
        <button type="submit" className="primary" disabled={missing}>
          Confirm
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
