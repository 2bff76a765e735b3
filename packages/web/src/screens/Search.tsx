import { useState } from 'react';
import { RecordList } from '../components/RecordList.js';
import { useClient, useLoad, useWorkspace } from '../hooks/index.js';
import { useT } from '../i18n/index.js';

/**
 * Name, partial tracking id, registration number or ID number: the server's fuzzy search across
 * the registry online, the device's own records always (and alone offline).
 */
export function Search() {
  const client = useClient();
  const t = useT();
  const workspace = useWorkspace();
  const [text, setText] = useState('');
  const query = text.trim();
  const results = useLoad(async () => {
    if (!query) return null;
    const [found, pending] = await Promise.all([
      client.records.search(query, { limit: 100 }),
      client.actions.pending(),
    ]);
    return { ...found, pending: new Set(pending.map((p) => p.action.recordId)) };
  }, [query]);
  return (
    <section className="search" role="search">
      <h1 className="visually-hidden">{t.search}</h1>
      <label htmlFor="search">{t.searchLabel}</label>
      <input
        id="search"
        type="search"
        value={text}
        onChange={(e) => setText(e.target.value)}
        autoComplete="off"
        autoFocus
      />
      {workspace.state === 'error' ? (
        <p className="error">{workspace.error}</p>
      ) : workspace.state === 'loading' || results.state === 'loading' ? (
        <p className="empty">{t.loading}</p>
      ) : results.state === 'error' ? (
        <p className="error">{t.couldNotLoad(results.error)}</p>
      ) : !results.value ? (
        <p className="empty">{t.searchHelp}</p>
      ) : (
        <>
          {!results.value.online && <p className="muted small">{t.searchOffline}</p>}
          {results.value.results.length > 0 && (
            <p className="muted small" role="status">
              {t.matchCount(results.value.results.length)}
            </p>
          )}
          <RecordList
            records={results.value.results}
            words={workspace.value.words}
            pending={results.value.pending}
            empty={t.noResult(query)}
          />
        </>
      )}
    </section>
  );
}
