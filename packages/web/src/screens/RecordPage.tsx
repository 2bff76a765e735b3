import { Attachments } from '../components/Attachments.js';
import { Conflicts } from '../components/Conflicts.js';
import { Declaration } from '../components/Declaration.js';
import { FlagBadges } from '../components/FlagBadges.js';
import { PendingRequests } from '../components/PendingRequests.js';
import { RecordActions } from '../components/RecordActions.js';
import { Timeline } from '../components/Timeline.js';
import { useClient, useLoad, useWorkspace } from '../hooks/index.js';
import { certificateTemplatesOf, type RecordState, type RegistryConfig } from '@registra/core';
import { recordTitle, recordTypeLabel } from '../labels.js';

/** One record: what it says, what may be done with it now, and everything that happened to it. */
export function RecordPage({ recordId }: { recordId: string }) {
  const client = useClient();
  const workspace = useWorkspace();
  const local = useLoad(
    async () => (await client.records.get(recordId)) ?? client.records.fetch(recordId),
    [recordId],
  );

  if (workspace.state === 'loading' || local.state === 'loading')
    return <p className="empty">Loading…</p>;
  if (workspace.state === 'error')
    return <p className="error">Could not load the configuration: {workspace.error}</p>;
  if (local.state === 'error')
    return <p className="error">Could not load the record: {local.error}</p>;
  if (!local.value)
    return (
      <p className="empty">
        This record is not on this device, and the server does not know it (or you may not see it).{' '}
        <a href="#/">Back to the work queues</a>
      </p>
    );
  const { config, principal } = workspace.value;
  const { record, entries, pending } = local.value;
  const me = principal.id;

  return (
    <article className="record-page">
      <p>
        <a href="#/">← Work queues</a>
      </p>
      <h1>{recordTitle(record, config)}</h1>
      <p className="record-meta">
        {recordTypeLabel(record.type, config)} · tracking id <strong>{record.trackingId}</strong>
        {record.registrationNumber && (
          <>
            {' '}
            · registration number <strong>{record.registrationNumber}</strong>
          </>
        )}
      </p>
      <p className="badges">
        <FlagBadges record={record} pending={pending.length} />
        <span className="muted small" data-testid="assigned-to">
          {record.assignedTo
            ? record.assignedTo === me
              ? 'Assigned to you'
              : `Assigned to user …${record.assignedTo.slice(-4)}`
            : 'Not assigned'}
        </span>
      </p>
      {record.printCount > 0 && (
        <p className="muted small" data-testid="print-count">
          Certificate printed {record.printCount} {record.printCount === 1 ? 'time' : 'times'}
        </p>
      )}
      <RecordActions record={record} config={config} principal={principal} />
      <SlipLink record={record} config={config} />
      <PendingRequests record={record} entries={entries} config={config} me={me} />
      <Conflicts local={local.value} config={config} me={me} />
      <h2 className="visually-hidden">Declaration</h2>
      <Declaration record={record} config={config} />
      <Attachments record={record} config={config} />
      <h2>History</h2>
      <Timeline local={local.value} config={config} me={me} />
    </article>
  );
}

/**
 * Record types whose certificates are not a PRINT_CERTIFICATE action (a booking slip): a link to
 * print one whenever the record is in a status the configuration prints.
 */
function SlipLink({ record, config }: { record: RecordState; config: RegistryConfig }) {
  const printable = config.document.certificates.find((c) => c.recordType === record.type);
  const template = certificateTemplatesOf(config, record.type)[0];
  if (!printable || !template || !printable.printableIn.includes(record.status)) return null;
  if (config.recordTypes.get(record.type)?.actions.PRINT_CERTIFICATE) return null;
  return (
    <p>
      <a className="button" href={`#/records/${record.id}/print`}>
        Print {(template.label[template.languages[0] ?? 'en'] ?? template.id).toLowerCase()}
      </a>
    </p>
  );
}
