import { loadConfigurationOrThrow, type Principal, type RegistryConfig } from '@registra/core';
import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import { useClient, useObservable } from './client.js';
import { errorText, type Loaded } from './load.js';

/** The configuration and the signed-in person as the rules see them. */
export interface Workspace {
  config: RegistryConfig;
  principal: Principal;
}

const WorkspaceContext = createContext<Loaded<Workspace>>({ state: 'loading' });

/**
 * Loads the configuration once per signed-in person, and again after each successful sync (the
 * SDK asks the server with an ETag, so an unchanged configuration costs one small request).
 */
export function WorkspaceProvider({ children }: { children: ReactNode }) {
  const client = useClient();
  const user = useObservable(client.user);
  const { lastSyncedAt } = useObservable(client.sync.status);
  const [workspace, setWorkspace] = useState<Loaded<Workspace>>({ state: 'loading' });
  useEffect(() => {
    if (!user) return;
    let alive = true;
    client.config().then(
      (document) => {
        if (!alive) return;
        setWorkspace((now) => {
          if (now.state === 'ready' && now.value.config.document.version === document.version)
            return now;
          const config = loadConfigurationOrThrow(document);
          return { state: 'ready', value: { config, principal: config.principal(user) } };
        });
      },
      (error: unknown) => {
        // Keep a configuration already loaded: a failed refresh changes nothing on screen.
        if (alive)
          setWorkspace((now) =>
            now.state === 'ready' ? now : { state: 'error', error: errorText(error) },
          );
      },
    );
    return () => {
      alive = false;
    };
  }, [client, user, lastSyncedAt]);
  return <WorkspaceContext.Provider value={workspace}>{children}</WorkspaceContext.Provider>;
}

export function useWorkspace(): Loaded<Workspace> {
  return useContext(WorkspaceContext);
}
