import type { Entry, RecordState } from '@registra/core';
import type { Words } from '../words.js';

/** Why a record was sent back for updates, by whom and when: on the record and atop its form. */
export function RejectionNotice({
  record,
  entries,
  words,
}: {
  record: RecordState;
  entries: Entry[];
  words: Words;
}) {
  if (!record.flags.includes('rejected')) return null;
  const rejection = [...entries]
    .reverse()
    .find((e) => e.type === 'REJECT' && e.status === 'accepted');
  const reason = rejection?.annotation?.['reason'];
  return (
    <div className="notice warn-notice" data-testid="rejection">
      <p>
        <strong>
          {rejection
            ? words.t.rejectedBanner(
                words.person(rejection.createdBy),
                words.when(rejection.recordedAt),
              )
            : words.flagLabel('rejected', record.type)}
        </strong>
      </p>
      {typeof reason === 'string' && <p className="reason">“{reason}”</p>}
    </div>
  );
}
