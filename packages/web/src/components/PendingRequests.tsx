import type { Entry, RecordState } from '@registra/core';
import type { Words } from '../words.js';
import { Changes } from './Changes.js';

/** Requests waiting for a decision: who asked, why, and each field they change, old → new. */
export function PendingRequests({
  record,
  entries,
  words,
}: {
  record: RecordState;
  entries: Entry[];
  words: Words;
}) {
  const { t } = words;
  if (record.pending.length === 0) return null;
  const recordType = words.recordType(record.type);
  return (
    <section className="card request" data-testid="pending-requests">
      <h2>{t.waitingDecision}</h2>
      {record.pending.map((pending) => {
        const entry = entries.find((e) => e.id === pending.id);
        const reason = entry?.annotation?.['reason'];
        const requester = entry?.annotation?.['requester'];
        const requesterName = entry?.annotation?.['requesterName'];
        return (
          <div key={pending.id}>
            <p>
              {t.requestedBy(
                words.requestNoun(pending, record.type),
                words.person(pending.requestedBy),
                words.when(entry?.recordedAt ?? entry?.occurredAt),
              )}{' '}
              {t.requestBlocks}
            </p>
            {typeof reason === 'string' && (
              <p>
                <strong>{t.reason}:</strong> “{reason}”
              </p>
            )}
            {typeof requester === 'string' && (
              <p>
                <strong>{t.requester}:</strong> {t.requesters[requester] ?? requester}
                {typeof requesterName === 'string' ? ` (${requesterName})` : ''}
              </p>
            )}
            {recordType && entry?.declaration && (
              <Changes
                recordType={recordType}
                before={record.declaration}
                patch={entry.declaration}
                words={words}
                testId="requested-changes"
              />
            )}
          </div>
        );
      })}
    </section>
  );
}
