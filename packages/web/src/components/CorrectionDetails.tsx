import { useT } from '../i18n/index.js';

const REQUESTERS = ['informant', 'subject', 'registrar', 'court', 'other'] as const;

/** A correction's reason and who asked for it: carried as the CORRECT's annotation. */
export function CorrectionDetails({
  value,
  showErrors,
  onChange,
}: {
  value: Record<string, string>;
  showErrors: boolean;
  onChange: (value: Record<string, string>) => void;
}) {
  const t = useT();
  const set = (key: string, text: string) => {
    const next = { ...value, [key]: text };
    if (!text) delete next[key];
    onChange(next);
  };
  const missingReason = showErrors && !value['reason']?.trim();
  const missingRequester = showErrors && !value['requester'];
  return (
    <fieldset className="card group" data-testid="correction-details">
      <legend>{t.correctionDetails}</legend>
      <label htmlFor="correction-reason">
        {t.correctionReason}
        <span className="required" aria-hidden="true">
          {' '}
          *
        </span>
      </label>
      <textarea
        id="correction-reason"
        value={value['reason'] ?? ''}
        aria-required="true"
        aria-invalid={missingReason || undefined}
        onChange={(e) => set('reason', e.target.value)}
      />
      <label htmlFor="correction-requester">
        {t.correctionRequester}
        <span className="required" aria-hidden="true">
          {' '}
          *
        </span>
      </label>
      <select
        id="correction-requester"
        value={value['requester'] ?? ''}
        aria-required="true"
        aria-invalid={missingRequester || undefined}
        onChange={(e) => set('requester', e.target.value)}
      >
        <option value="">{t.choose}</option>
        {REQUESTERS.map((key) => (
          <option key={key} value={key}>
            {t.requesters[key]}
          </option>
        ))}
      </select>
      {(missingReason || missingRequester) && (
        <p className="field-error" role="alert">
          {t.correctionMissing}
        </p>
      )}
      {value['requester'] && value['requester'] !== 'registrar' && (
        <>
          <label htmlFor="correction-requester-name">{t.requesterName}</label>
          <input
            id="correction-requester-name"
            value={value['requesterName'] ?? ''}
            onChange={(e) => set('requesterName', e.target.value)}
          />
        </>
      )}
    </fieldset>
  );
}
