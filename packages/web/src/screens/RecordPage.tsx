import { Attachments } from '../components/Attachments.js';
import { Conflicts } from '../components/Conflicts.js';
import { Declaration } from '../components/Declaration.js';
import { FlagBadges } from '../components/FlagBadges.js';
import { PendingRequests } from '../components/PendingRequests.js';
import { RecordActions } from '../components/RecordActions.js';
import { RecordAssignment } from '../components/RecordAssignment.js';
import { RecordList } from '../components/RecordList.js';
import { RejectionNotice } from '../components/RejectionNotice.js';
import { Timeline } from '../components/Timeline.js';
import { useClient, useLoad, useWorkspace } from '../hooks/index.js';
import { certificateTemplatesOf, type RecordState, type RegistryConfig } from '@registra/core';
import { groupTrackingId } from '../words.js';

/** One record: what it says, what may be done with it now, and everything that happened to it. */
export function RecordPage({ recordId }: { recordId: string }) {
  const client = useClient();
  const workspace = useWorkspace();
  const local = useLoad(async () => {
    const found = (await client.records.get(recordId)) ?? (await client.records.fetch(recordId));
    const linked = found ? await client.records.referencing(recordId) : [];
    return found ? { ...found, linked } : null;
  }, [recordId]);

  if (workspace.state === 'loading' || local.state === 'loading') return <p className="empty">…</p>;
  if (workspace.state === 'error') return <p className="error">{workspace.error}</p>;
  const { principal, words } = workspace.value;
  const { t } = words;
  if (local.state === 'error') return <p className="error">{t.couldNotLoad(local.error)}</p>;
  if (!local.value)
    return (
      <p className="empty">
        {t.notOnDevice} <a href="#/">{t.backToQueues}</a>
      </p>
    );
  const { record, entries, pending, linked } = local.value;

  return (
    <article className="record-page">
      <p>
        <a href="#/">{t.backToQueues}</a>
      </p>
      <h1>{words.recordTitle(record)}</h1>
      <p className="record-meta">
        {words.recordTypeLabel(record.type)} · {t.trackingId}{' '}
        <strong className="tracking-id">{groupTrackingId(record.trackingId)}</strong>
        {record.registrationNumber && (
          <>
            {' '}
            · {t.registrationNumber} <strong>{record.registrationNumber}</strong>
          </>
        )}
      </p>
      <p className="badges">
        <FlagBadges record={record} pending={pending.length} words={words} />
      </p>
      <RecordAssignment record={record} principal={principal} words={words} />
      <RejectionNotice record={record} entries={entries} words={words} />
      {record.printCount > 0 && (
        <p className="muted small" data-testid="print-count">
          {t.printedTimes(record.printCount)}
        </p>
      )}
      {record.flags.includes('duplicate:suspected') && (
        <p className="notice" data-testid="duplicate-notice">
          {t.mayDuplicate(record.duplicates?.length ?? 0)}{' '}
          <a href={`#/duplicates/${record.id}`}>{t.compareAndDecide}</a>
        </p>
      )}
      <RecordActions record={record} principal={principal} words={words} />
      <SlipLink record={record} config={words.config} />
      <PendingRequests record={record} entries={entries} words={words} />
      <Conflicts local={local.value} words={words} />
      <h2 className="visually-hidden">{t.declaration}</h2>
      <Declaration record={record} words={words} />
      <Attachments record={record} words={words} />
      {linked.length > 0 && (
        <section data-testid="linked-records">
          <h2>{t.referencedBy}</h2>
          <RecordList
            records={linked.map((l) => l.record)}
            words={words}
            pending={new Set()}
            empty=""
            columns={['title', 'type', 'trackingId']}
          />
        </section>
      )}
      <h2>{t.history}</h2>
      <Timeline local={local.value} words={words} />
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
