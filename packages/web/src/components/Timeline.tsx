import type { LocalRecord } from '@registra/client';
import type { Action, Entry, RegistryConfig } from '@registra/core';
import { actionLabel, describePatch, sentence, when } from '../labels.js';

/**
 * The record's whole history: who did what, when on the device, when the server recorded it,
 * and the outcome; then this device's actions the server refused, and those waiting to be sent.
 */
export function Timeline({
  local,
  config,
  me,
}: {
  local: LocalRecord;
  config: RegistryConfig;
  me: string;
}) {
  const type = local.record.type;
  const who = (id: string, role?: string) =>
    id === me
      ? 'you'
      : id.startsWith('hook:')
        ? `the ${id.slice(5)} system`
        : `${role ?? 'user'} …${id.slice(-4)}`;
  const refused = local.attention.filter(
    (item) => !local.entries.some((entry) => entry.id === item.action.id),
  );
  return (
    <ol className="timeline">
      {local.entries.map((entry) => (
        <li key={entry.id} className={`event ${entry.status}`}>
          <div className="event-head">
            <strong>
              {entry.seq}. {actionLabel(entry, config, type)}
            </strong>{' '}
            by {who(entry.createdBy, entry.createdByRole)}
            <span className={`badge outcome-${entry.status}`}>{entry.status}</span>
            {entry.code && <code>{entry.code}</code>}
          </div>
          <div className="muted small">
            on the device {when(entry.occurredAt)} · recorded {when(entry.recordedAt)}
            {entry.deviceId === null ? ' · not from a device' : ''}
          </div>
          {entry.message && <div className="small">{sentence(entry.message)}</div>}
          <Details action={entry} entries={local.entries} me={me} />
          {entry.registrationNumber && (
            <div className="small">Registration number {entry.registrationNumber}</div>
          )}
          <Patch lines={describePatch(entry.declaration, config.recordTypes.get(type), config)} />
        </li>
      ))}
      {refused.map(({ action, code, message, rejectedAt }) => (
        <li key={action.id} className="event rejected">
          <div className="event-head">
            <strong>{actionLabel(action, config, type)}</strong> by you
            <span className="badge outcome-rejected">rejected</span>
            <code>{code}</code>
          </div>
          <div className="muted small">
            on the device {when(action.occurredAt)} · refused {when(rejectedAt)}
          </div>
          <div className="small">{sentence(message)}</div>
          <Patch lines={describePatch(action.declaration, config.recordTypes.get(type), config)} />
        </li>
      ))}
      {local.pending.map(({ action, savedAt }) => (
        <li key={action.id} className="event pending">
          <div className="event-head">
            <strong>{actionLabel(action, config, type)}</strong> by you
            <span className="badge pending">waiting to send</span>
          </div>
          <div className="muted small">saved on this device {when(savedAt)}</div>
          <Details action={action} entries={local.entries} me={me} />
          <Patch lines={describePatch(action.declaration, config.recordTypes.get(type), config)} />
        </li>
      ))}
    </ol>
  );
}

/** What an action carried besides its declaration: a reason, an assignee, the request decided. */
function Details({ action, entries, me }: { action: Action; entries: Entry[]; me: string }) {
  const reason = action.annotation?.['reason'];
  const request = action.requestId ? entries.find((e) => e.id === action.requestId) : undefined;
  return (
    <>
      {typeof reason === 'string' && <div className="small">Reason: {reason}</div>}
      {action.assignee && (
        <div className="small">
          Assignee: {action.assignee === me ? 'you' : `user …${action.assignee.slice(-4)}`}
        </div>
      )}
      {action.requestId && (
        <div className="small">
          Decides {request ? `change ${request.seq} (${request.type.toLowerCase()})` : 'a request'}
        </div>
      )}
    </>
  );
}

function Patch({ lines }: { lines: string[] }) {
  if (lines.length === 0) return null;
  return (
    <ul className="patch small">
      {lines.map((line) => (
        <li key={line}>{line}</li>
      ))}
    </ul>
  );
}
