import type { Observable, RegistraClient } from '@registra/client';
import { createContext, useContext, useSyncExternalStore } from 'react';

/** The one SDK instance of the page (main.tsx creates it). */
export const ClientContext = createContext<RegistraClient | null>(null);

export function useClient(): RegistraClient {
  const client = useContext(ClientContext);
  if (!client) throw new Error('no Registra client in context');
  return client;
}

/** A value of the SDK that changes (the signed-in user, the sync status), as React state. */
export function useObservable<T>(observable: Observable<T>): T {
  return useSyncExternalStore(
    (listener) => observable.subscribe(listener),
    () => observable.get(),
  );
}

function subscribeOnline(listener: () => void): () => void {
  window.addEventListener('online', listener);
  window.addEventListener('offline', listener);
  return () => {
    window.removeEventListener('online', listener);
    window.removeEventListener('offline', listener);
  };
}

/** Whether the browser believes it has a network (before anyone is signed in). */
export function useOnline(): boolean {
  return useSyncExternalStore(subscribeOnline, () => navigator.onLine);
}
