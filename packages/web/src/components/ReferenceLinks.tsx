import type { RegistryConfig } from '@registra/core';
import { useClient, useLoad } from '../hooks/index.js';
import { recordTitle } from '../labels.js';

/** Linked records by their titles, as links; an id not on this device is shown as it is. */
export function ReferenceLinks({ value, config }: { value: unknown; config: RegistryConfig }) {
  const client = useClient();
  const ids = (Array.isArray(value) ? value : [value]).filter(
    (id): id is string => typeof id === 'string' && id !== '',
  );
  const key = ids.join(',');
  const records = useLoad(
    () => Promise.all(ids.map((id) => client.records.get(id).catch(() => null))),
    [key],
  );
  if (ids.length === 0) return <span className="muted">—</span>;
  return (
    <span className="references">
      {ids.map((id, i) => {
        const local = records.state === 'ready' ? records.value[i] : null;
        return (
          <a key={id} href={`#/records/${id}`}>
            {local ? `${recordTitle(local.record, config)} (${local.record.trackingId})` : id}
          </a>
        );
      })}
    </span>
  );
}
