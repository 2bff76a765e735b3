import type { Person } from '@registra/client';
import { loadConfigurationOrThrow, type Principal, type RegistryConfig } from '@registra/core';
import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { useLanguage } from '../i18n/index.js';
import { Words } from '../words.js';
import { useClient, useObservable } from './client.js';
import { errorText, type Loaded } from './load.js';

/** The configuration, the signed-in person as the rules see them, and the app's words. */
export interface Workspace {
  config: RegistryConfig;
  principal: Principal;
  words: Words;
}

const WorkspaceContext = createContext<Loaded<Workspace>>({ state: 'loading' });

/**
 * Loads the configuration and the directory of people once per signed-in person, and again after
 * each successful sync (the SDK revalidates the configuration with an ETag and keeps both for
 * offline use).
 */
export function WorkspaceProvider({ children }: { children: ReactNode }) {
  const client = useClient();
  const user = useObservable(client.user);
  const { lang, locale, t } = useLanguage();
  const { lastSyncedAt } = useObservable(client.sync.status);
  const [config, setConfig] = useState<Loaded<RegistryConfig>>({ state: 'loading' });
  const [people, setPeople] = useState<Person[]>([]);
  useEffect(() => {
    if (!user) return;
    let alive = true;
    client.config().then(
      (document) => {
        if (!alive) return;
        setConfig((now) =>
          now.state === 'ready' && now.value.document.version === document.version
            ? now
            : { state: 'ready', value: loadConfigurationOrThrow(document) },
        );
      },
      (error: unknown) => {
        // Keep a configuration already loaded: a failed refresh changes nothing on screen.
        if (alive)
          setConfig((now) =>
            now.state === 'ready' ? now : { state: 'error', error: errorText(error) },
          );
      },
    );
    client.directory().then(
      (found) => alive && setPeople(found),
      () => undefined,
    );
    return () => {
      alive = false;
    };
  }, [client, user, lastSyncedAt]);
  const workspace = useMemo<Loaded<Workspace>>(() => {
    if (config.state !== 'ready' || !user)
      return config.state === 'error' ? config : { state: 'loading' };
    const principal = config.value.principal(user);
    return {
      state: 'ready',
      value: {
        config: config.value,
        principal,
        words: new Words(config.value, lang, locale, t, people, user.id),
      },
    };
  }, [config, user, lang, locale, t, people]);
  return <WorkspaceContext.Provider value={workspace}>{children}</WorkspaceContext.Provider>;
}

export function useWorkspace(): Loaded<Workspace> {
  return useContext(WorkspaceContext);
}
