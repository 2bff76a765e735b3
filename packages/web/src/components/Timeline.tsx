import type { LocalRecord } from '@registra/client';
import type { Action, Entry } from '@registra/core';
import { sentence, type Words } from '../words.js';
import { Changes } from './Changes.js';

/**
 * The record's whole history: who did what (by name), when on the device, when the server
 * recorded it, and the outcome; then this device's refused actions, and those waiting to be sent.
 */
export function Timeline({ local, words }: { local: LocalRecord; words: Words }) {
  const { t } = words;
  const type = local.record.type;
  const recordType = words.recordType(type);
  const refused = local.attention.filter(
    (item) => !local.entries.some((entry) => entry.id === item.action.id),
  );
  const outcome = {
    accepted: t.outcomeAccepted,
    requested: t.outcomeRequested,
    rejected: t.outcomeRejected,
  };
  /** A request's outcome once decided (its APPROVE or DECLINE is in the log), else its own. */
  const badge = (entry: Entry): { text: string; className: string } => {
    if (entry.status === 'requested') {
      const decision = local.entries.find(
        (e) =>
          e.requestId === entry.id &&
          e.status === 'accepted' &&
          (e.type === 'APPROVE' || e.type === 'DECLINE'),
      );
      if (decision?.type === 'APPROVE')
        return { text: t.outcomeApproved, className: 'outcome-accepted' };
      if (decision?.type === 'DECLINE')
        return { text: t.outcomeDeclined, className: 'outcome-rejected' };
    }
    return { text: outcome[entry.status], className: `outcome-${entry.status}` };
  };
  return (
    <ol className="timeline">
      {local.entries.map((entry) => {
        const shown = badge(entry);
        return (
          <li key={entry.id} className={`event ${entry.status}`} data-testid="history-entry">
            <div className="event-head">
              <strong>{words.actionLabel(entry, type)}</strong>{' '}
              <span className="who">{t.by(words.person(entry.createdBy))}</span>
              <span className={`badge ${shown.className}`}>{shown.text}</span>
            </div>
            <div className="muted small">
              {words.when(entry.recordedAt ?? entry.occurredAt)}
              {entry.deviceId !== null && entry.recordedAt
                ? ` · ${t.onDevice2(words.when(entry.occurredAt))}`
                : ''}
              {entry.configVersion ? (
                <span data-testid="entry-config-version">
                  {` · ${t.configVersion(entry.configVersion)}`}
                </span>
              ) : null}
            </div>
            {entry.message && <div className="small">{entry.message}</div>}
            <Details action={entry} entries={local.entries} words={words} />
            {entry.registrationNumber && (
              <div className="small">
                {t.registrationNumber}: {entry.registrationNumber}
              </div>
            )}
            {recordType && entry.declaration && Object.keys(entry.declaration).length > 0 && (
              <details className="small">
                <summary>{t.changesTitle}</summary>
                <Changes
                  recordType={recordType}
                  before={{}}
                  patch={entry.declaration}
                  words={words}
                />
              </details>
            )}
          </li>
        );
      })}
      {refused.map(({ action, code, message, rejectedAt }) => (
        <li key={action.id} className="event rejected" data-code={code}>
          <div className="event-head">
            <strong>{words.actionLabel(action, type)}</strong> {t.by(t.you)}
            <span className="badge outcome-rejected">{t.outcomeRejected}</span>
          </div>
          <div className="small">{sentence(message)}</div>
          <div className="muted small">{t.refusedAt(words.when(rejectedAt))}</div>
        </li>
      ))}
      {local.pending.map(({ action, savedAt }) => (
        <li key={action.id} className="event pending">
          <div className="event-head">
            <strong>{words.actionLabel(action, type)}</strong> {t.by(t.you)}
            <span className="badge pending">{t.waitingBadge}</span>
          </div>
          <div className="muted small">{t.savedOnDevice(words.when(savedAt))}</div>
          <Details action={action} entries={local.entries} words={words} />
        </li>
      ))}
    </ol>
  );
}

/** What an action carried besides its declaration: a reason, an assignee, the request decided. */
function Details({ action, entries, words }: { action: Action; entries: Entry[]; words: Words }) {
  const { t } = words;
  const reason = action.annotation?.['reason'];
  const request = action.requestId ? entries.find((e) => e.id === action.requestId) : undefined;
  return (
    <>
      {typeof reason === 'string' && (
        <div className="small">
          {t.reason}: “{reason}”
        </div>
      )}
      {action.assignee && <div className="small">{t.assignee(words.person(action.assignee))}</div>}
      {action.requestId && (
        <div className="small">
          {t.decides(request ? words.requestNoun(request, request.recordType ?? '') : t.aRequest)}
        </div>
      )}
    </>
  );
}
