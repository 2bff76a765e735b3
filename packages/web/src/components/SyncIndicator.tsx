import type { SyncStatus } from '@registra/client';
import { useState } from 'react';
import { useClient, useObservable } from '../hooks/index.js';
import { when } from '../labels.js';

const PHASES: Record<SyncStatus['phase'], string> = {
  idle: '',
  syncing: 'Syncing…',
  offline: 'Waiting for the network',
  error: 'Sync failed',
  'login-required': 'Log in again to sync',
};

/** Online or not, what waits to be sent, what needs attention, when the last sync succeeded. */
export function SyncIndicator() {
  const client = useClient();
  const status = useObservable(client.sync.status);
  const [syncing, setSyncing] = useState(false);
  const online = status.online && status.phase !== 'offline';

  async function syncNow() {
    setSyncing(true);
    try {
      await client.sync.now();
    } catch {
      // the status shows what went wrong
    } finally {
      setSyncing(false);
    }
  }

  return (
    <div className={`sync ${online ? 'online' : 'offline'}`}>
      {/* Inline facts separated by spaces: the status reads as one line ("Online 2 pending"). */}
      <div className="sync-facts" data-testid="sync-status" role="status">
        <span className="fact">
          <span className="dot" aria-hidden="true" /> {online ? 'Online' : 'Offline'}
        </span>{' '}
        <a href="#/queue/waiting-to-send" className="fact">
          {status.pending} pending
        </a>{' '}
        {status.needsAttention > 0 && (
          <>
            <a href="#/queue/needs-attention" className="fact attention">
              {status.needsAttention} need{status.needsAttention === 1 ? 's' : ''} attention
            </a>{' '}
          </>
        )}
        <span className="fact muted">
          {status.lastSyncedAt ? `Last sync ${when(status.lastSyncedAt)}` : 'Never synced'}
        </span>{' '}
        {PHASES[status.phase] && <span className="fact phase">{PHASES[status.phase]}</span>}{' '}
        {status.lastError && status.phase !== 'idle' && status.phase !== 'syncing' && (
          <span className="fact muted small">({status.lastError})</span>
        )}
      </div>
      <button
        type="button"
        className="small-button"
        onClick={() => void syncNow()}
        disabled={syncing || status.phase === 'syncing'}
      >
        {syncing || status.phase === 'syncing' ? 'Syncing…' : 'Sync now'}
      </button>
    </div>
  );
}
