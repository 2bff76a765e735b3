import type { AdapterStatus } from '@registra/client';
import { useState } from 'react';
import { ServerScreen } from '../components/ServerScreen.js';
import { useClient, useServerState, useWorkspace } from '../hooks/index.js';
import { groupTrackingId, type Words } from '../words.js';

/**
 * For administrators: the adapters in and out (issue 16), each by its label with its status, last
 * run, how far behind it is, what it did and its latest errors; an adapter in can be run now.
 * Online only: it is the server's state, not the device's.
 */
export function Adapters() {
  const client = useClient();
  const workspace = useWorkspace();
  const { value, problem, reload, act } = useServerState(
    async () => (await client.adapters.list()).results,
    [client],
  );
  const [asked, setAsked] = useState<string | null>(null);

  const run = async (id: string) => {
    if (await act(() => client.adapters.run(id))) setAsked(id);
  };

  if (workspace.state === 'loading') return <p className="empty">…</p>;
  if (workspace.state === 'error') return <p className="error">{workspace.error}</p>;
  const { words } = workspace.value;
  const { t } = words;
  const adapters = value;
  return (
    <ServerScreen
      id="adapters"
      title={t.adapters}
      intro={t.adaptersIntro}
      words={words}
      problem={problem}
      onRefresh={() => void reload()}
    >
      {adapters && adapters.length === 0 && <p>{t.noAdapter}</p>}
      {adapters && adapters.length > 0 && (
        <ul className="deliveries" data-testid="adapters">
          {adapters.map((a) => (
            <li key={a.id} className="card" data-status={a.status}>
              <h2 className="adapter-name">
                {words.text({ label: a.label, translations: a.translations ?? undefined }, 'label')}
              </h2>
              <div>
                {t.adapterDirection[a.direction]} ·{' '}
                <strong className={`adapter-status adapter-${a.status}`}>
                  {t.adapterStatus[a.status]}
                </strong>
              </div>
              <div className="small">
                {t.adapterRecords(
                  a.recordTypes.map((type) => words.recordTypeLabel(type)).join(', '),
                )}
              </div>
              <div className="muted small">{times(a, words)}</div>
              <div className="small">
                {Object.entries(a.counts)
                  .map(([name, n]) => `${n} ${t.adapterCounts[name] ?? name}`)
                  .join(' · ')}
              </div>
              {a.lastError && <div className="small">{t.lastError(a.lastError)}</div>}
              {a.errors.length > 0 && (
                <details>
                  <summary>{t.adapterErrors}</summary>
                  <ul className="small">
                    {a.errors.map((e, i) => (
                      <li key={i}>
                        {words.when(e.at)} ·{' '}
                        {e.key
                          ? a.direction === 'out'
                            ? groupTrackingId(e.key)
                            : t.adapterItem(e.key)
                          : ''}{' '}
                        {e.message}
                      </li>
                    ))}
                  </ul>
                </details>
              )}
              {a.direction === 'in' && a.status !== 'off' && (
                <button type="button" onClick={() => void run(a.id)}>
                  {t.runNow}
                </button>
              )}
              {asked === a.id && (
                <p className="muted small" role="status">
                  {t.adapterRunAsked}
                </p>
              )}
            </li>
          ))}
        </ul>
      )}
    </ServerScreen>
  );
}

/** "Last run …, last success … · Behind by 3 min". */
function times(adapter: AdapterStatus, words: Words): string {
  const { t } = words;
  const parts: string[] = [];
  if (adapter.lastRunAt) {
    const success =
      adapter.lastSuccessAt && adapter.lastSuccessAt !== adapter.lastRunAt
        ? `, ${t.adapterLastSuccess(words.when(adapter.lastSuccessAt))}`
        : '';
    parts.push(`${t.adapterLastRun(words.when(adapter.lastRunAt))}${success}`);
  }
  if (adapter.lagSeconds !== null) parts.push(t.adapterLag(t.duration(adapter.lagSeconds)));
  return parts.join(' · ');
}
