import type { Delivery } from '@registra/client';
import { useCallback, useEffect, useState } from 'react';
import { errorText, useClient, useWorkspace } from '../hooks/index.js';
import { groupTrackingId, type Words } from '../words.js';

/**
 * For administrators: deliveries to the country's hooks that failed at least once and are not
 * done yet (PROTOCOL 8), each with its last error, the next attempt and a button to retry now.
 * Online only: it is the server's state, not the device's.
 */
export function Deliveries() {
  const client = useClient();
  const workspace = useWorkspace();
  const [deliveries, setDeliveries] = useState<Delivery[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const { results } = await client.hooks.deliveries({ state: 'failing', limit: 100 });
      setDeliveries(results);
      setProblem(null);
    } catch (error) {
      setProblem(errorText(error));
    }
  }, [client]);

  useEffect(() => {
    void load();
  }, [load]);

  const retry = async (id: string) => {
    try {
      await client.hooks.retry(id);
      await load();
    } catch (error) {
      setProblem(errorText(error));
    }
  };

  if (workspace.state === 'loading') return <p className="empty">…</p>;
  if (workspace.state === 'error') return <p className="error">{workspace.error}</p>;
  const { words } = workspace.value;
  const { t } = words;
  return (
    <section aria-labelledby="deliveries-title">
      <h1 id="deliveries-title">{t.failingDeliveries}</h1>
      <p className="muted">{t.deliveriesIntro}</p>
      <button type="button" onClick={() => void load()}>
        {t.refresh}
      </button>
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
      {deliveries && deliveries.length === 0 && <p>{t.noFailingDelivery}</p>}
      {deliveries && deliveries.length > 0 && (
        <ul className="deliveries" data-testid="failing-deliveries">
          {deliveries.map((d) => (
            <li key={d.id} className="card">
              <div>
                <strong>{hookName(d, words)}</strong> ·{' '}
                <a href={`#/records/${d.recordId}`}>{recordName(d, words)}</a> ·{' '}
                {t.attempts(d.attempts)}
              </div>
              <div className="small">{t.lastError(d.lastError ?? '—')}</div>
              <div className="muted small">
                {t.deliveryTimes(
                  d.nextAttemptAt ? words.when(d.nextAttemptAt) : '—',
                  words.when(d.createdAt),
                )}
              </div>
              <button type="button" onClick={() => void retry(d.id)}>
                {t.retryNow}
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** "Birth B7K-2QX-9" — the record's type and grouped tracking id, as people read them. */
function recordName(delivery: Delivery, words: Words): string {
  if (!delivery.trackingId || !delivery.recordType) return words.t.aRecord;
  return `${words.recordTypeLabel(delivery.recordType)} ${groupTrackingId(delivery.trackingId)}`;
}

/** A hook (or an adapter out) by its label, in the person's language. */
function hookName(delivery: Delivery, words: Words): string {
  return words.text(
    { label: delivery.hookLabel, translations: delivery.hookTranslations ?? undefined },
    'label',
  );
}
