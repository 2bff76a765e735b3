import type { SyncStatus } from '@registra/client';
import { useState } from 'react';
import { useClient, useObservable, useWorkspace } from '../hooks/index.js';
import { useLanguage } from '../i18n/index.js';

/**
 * Online or not, how many records wait to be sent (the same count as "Waiting to send"), what
 * needs attention, when the last sync succeeded.
 */
export function SyncIndicator() {
  const client = useClient();
  const { t, locale } = useLanguage();
  const workspace = useWorkspace();
  const status = useObservable(client.sync.status);
  const [syncing, setSyncing] = useState(false);
  const online = status.online && status.phase !== 'offline';
  const phases: Record<SyncStatus['phase'], string> = {
    idle: '',
    syncing: t.syncing,
    offline: t.phaseOffline,
    error: t.phaseError,
    'login-required': t.phaseLogin,
  };
  const when = (iso: string) =>
    workspace.state === 'ready'
      ? workspace.value.words.when(iso)
      : new Date(iso).toLocaleString(locale);

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
      {/* Inline facts separated by spaces: the status reads as one line. */}
      <div className="sync-facts" data-testid="sync-status" role="status">
        <span className="fact">
          <span className="dot" aria-hidden="true" /> {online ? t.online : t.offline}
        </span>{' '}
        <a href="#/queue/waiting-to-send" className="fact" data-testid="waiting-count">
          {t.waitingToSendCount(status.pendingRecords)}
        </a>{' '}
        {status.needsAttention > 0 && (
          <>
            <a href="#/queue/needs-attention" className="fact attention">
              {t.needAttention(status.needsAttention)}
            </a>{' '}
          </>
        )}
        <span className="fact muted">
          {status.lastSyncedAt ? t.lastSync(when(status.lastSyncedAt)) : t.neverSynced}
        </span>{' '}
        {phases[status.phase] && <span className="fact phase">{phases[status.phase]}</span>}
      </div>
      <button
        type="button"
        className="small-button"
        onClick={() => void syncNow()}
        disabled={syncing || status.phase === 'syncing'}
      >
        {syncing || status.phase === 'syncing' ? t.syncing : t.syncNow}
      </button>
    </div>
  );
}
