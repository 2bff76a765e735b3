import { useClient, useLoad } from '../hooks/index.js';
import { groupTrackingId, type Words } from '../words.js';

/** Linked records by their titles, as links; an id not on this device is said to be so. */
export function ReferenceLinks({ value, words }: { value: unknown; words: Words }) {
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
            {local
              ? `${words.recordTitle(local.record)} (${groupTrackingId(local.record.trackingId)})`
              : words.t.notOnThisDevice(id)}
          </a>
        );
      })}
    </span>
  );
}
