import { useState } from 'react';
import { RecordList } from '../components/RecordList.js';
import { useClient, useLoad, useWorkspace } from '../hooks/index.js';

/** Name, tracking id or registration number, over the records on this device. */
export function Search() {
  const client = useClient();
  const workspace = useWorkspace();
  const [text, setText] = useState('');
  const query = text.trim();
  const results = useLoad(async () => {
    if (!query) return null;
    const [records, pending] = await Promise.all([
      client.records.query({ text: query, limit: 100 }),
      client.actions.pending(),
    ]);
    return { records, pending: new Set(pending.map((p) => p.action.recordId)) };
  }, [query]);
  return (
    <section className="search" role="search">
      <h1 className="visually-hidden">Search</h1>
      <label htmlFor="search">Search by name, tracking id or registration number</label>
      <input
        id="search"
        type="search"
        value={text}
        onChange={(e) => setText(e.target.value)}
        autoComplete="off"
        autoFocus
      />
      {workspace.state === 'error' ? (
        <p className="error">Could not load the configuration: {workspace.error}</p>
      ) : workspace.state === 'loading' || results.state === 'loading' ? (
        <p className="empty">Loading…</p>
      ) : results.state === 'error' ? (
        <p className="error">Could not search: {results.error}</p>
      ) : !results.value ? (
        <p className="empty">
          Type a name, a tracking id or a registration number. The search covers the records on this
          device, so it works offline.
        </p>
      ) : (
        <>
          {results.value.records.length > 0 && (
            <p className="muted small" role="status">
              {results.value.records.length === 1
                ? '1 record matches'
                : `${results.value.records.length} records match`}
              {results.value.records.length === 100 ? ' (the first 100 are shown)' : ''}.
            </p>
          )}
          <RecordList
            records={results.value.records}
            config={workspace.value.config}
            pending={results.value.pending}
            empty={`No record on this device matches “${query}”.`}
          />
        </>
      )}
    </section>
  );
}
