import type { Delivery } from '@registra/client';
import { useCallback, useEffect, useState } from 'react';
import { useClient } from '../hooks/index.js';
import { when } from '../labels.js';

/**
 * For administrators: deliveries to the country's hooks that failed at least once and are not
 * done yet (PROTOCOL 8), each with its last error, the next attempt and a button to retry now.
 * Online only: it is the server's state, not the device's.
 */
export function Deliveries() {
  const client = useClient();
  const [deliveries, setDeliveries] = useState<Delivery[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const { results } = await client.hooks.deliveries({ state: 'failing', limit: 100 });
      setDeliveries(results);
      setProblem(null);
    } catch (error) {
      setProblem((error as Error).message);
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
      setProblem((error as Error).message);
    }
  };

  return (
    <section aria-labelledby="deliveries-title">
      <h1 id="deliveries-title">Failing deliveries</h1>
      <p className="muted">
        Deliveries to the country’s systems (hooks) that have failed at least once. Each is tried
        again by itself, less and less often (at most every hour), until its system answers.
      </p>
      <button type="button" onClick={() => void load()}>
        Refresh
      </button>
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
      {deliveries && deliveries.length === 0 && <p>No failing delivery.</p>}
      {deliveries && deliveries.length > 0 && (
        <ul className="deliveries" data-testid="failing-deliveries">
          {deliveries.map((d) => (
            <li key={d.id} className="card">
              <div>
                <strong>{d.hook}</strong> · record{' '}
                <a href={`#/records/${d.recordId}`}>…{d.recordId.slice(-8)}</a> · {d.attempts}{' '}
                {d.attempts === 1 ? 'attempt' : 'attempts'}
              </div>
              <div className="small">Last error: {d.lastError ?? '—'}</div>
              <div className="muted small">
                Next attempt {d.nextAttemptAt ? when(d.nextAttemptAt) : '—'} · first written{' '}
                {when(d.createdAt)}
              </div>
              <button type="button" onClick={() => void retry(d.id)}>
                Retry now
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
