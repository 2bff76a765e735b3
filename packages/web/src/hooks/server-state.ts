import { useCallback, useEffect, useState } from 'react';
import { errorText } from './load.js';

export interface ServerState<T> {
  /** The last answer; null until the first one. */
  value: T | null;
  /** Why the last load or action failed, to show; null when it did not. */
  problem: string | null;
  reload: () => Promise<void>;
  /** Runs an action on the server; answers whether it went through (else `problem` says why). */
  act: (action: () => Promise<unknown>) => Promise<boolean>;
}

/**
 * The server's state on an administrator's screen (online only: it is not the device's), loaded
 * when the screen opens and again on demand. Unlike useLoad it does not follow the sync: these
 * screens show what the server does by itself (deliveries, adapters), refreshed by the person.
 */
export function useServerState<T>(load: () => Promise<T>, deps: unknown[]): ServerState<T> {
  const [value, setValue] = useState<T | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const run = useCallback(load, deps);

  const reload = useCallback(async () => {
    try {
      setValue(await run());
      setProblem(null);
    } catch (error) {
      setProblem(errorText(error));
    }
  }, [run]);

  useEffect(() => {
    void reload();
  }, [reload]);

  const act = useCallback(async (action: () => Promise<unknown>) => {
    try {
      await action();
      return true;
    } catch (error) {
      setProblem(errorText(error));
      return false;
    }
  }, []);

  return { value, problem, reload, act };
}
