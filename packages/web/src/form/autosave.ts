import type { Draft, RegistraClient } from '@registra/client';
import { useEffect, useRef } from 'react';

const key = (userId: string) => `registra:open-form:${userId}`;

/**
 * The form a person has open, remembered on the device: a tab the phone killed comes back to it
 * even when the browser did not keep the address. Cleared when the person leaves the form.
 */
export function openForm(userId: string): string | null {
  return localStorage.getItem(key(userId));
}

export function rememberOpenForm(userId: string, path: string | null): void {
  if (path) localStorage.setItem(key(userId), path);
  else localStorage.removeItem(key(userId));
}

type DraftInput = Omit<Draft, 'updatedAt'>;

/** Saves still being written, the last keystrokes of a form just left among them. */
const saving = new Set<Promise<unknown>>();

/** Resolves once every draft being saved is written: a list of drafts waits for it. */
export async function draftsSaved(): Promise<void> {
  await Promise.allSettled([...saving]);
}

/**
 * Keeps a form in IndexedDB as it is typed: `save` is called with the draft a moment after the
 * last change (and at once when the page is hidden, which is when phones kill tabs). `stop` ends
 * it, before the form's action is sent or its draft deleted.
 */
export function useAutosave(
  client: RegistraClient,
  onSaved: (draft: Draft) => void,
): { schedule(draft: DraftInput): void; flush(): Promise<void>; stop(): void } {
  const pending = useRef<DraftInput | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const stopped = useRef(false);
  const saved = useRef(onSaved);
  saved.current = onSaved;

  const flush = async () => {
    if (timer.current) clearTimeout(timer.current);
    timer.current = null;
    const draft = pending.current;
    pending.current = null;
    if (!draft || stopped.current) return;
    const save = client.drafts.save(draft);
    saving.add(save);
    try {
      saved.current(await save);
    } catch {
      // Locked meanwhile: the last keystrokes are lost, nothing else.
    } finally {
      saving.delete(save);
    }
  };
  const api = useRef({
    schedule(draft: DraftInput) {
      if (stopped.current) return;
      pending.current = draft;
      if (timer.current) clearTimeout(timer.current);
      timer.current = setTimeout(() => void flush(), 400);
    },
    flush,
    stop() {
      stopped.current = true;
      if (timer.current) clearTimeout(timer.current);
      pending.current = null;
    },
  });
  api.current.flush = flush;

  useEffect(() => {
    const hide = () => {
      if (document.visibilityState === 'hidden') void api.current.flush();
    };
    const leave = () => void api.current.flush();
    document.addEventListener('visibilitychange', hide);
    window.addEventListener('pagehide', leave);
    return () => {
      document.removeEventListener('visibilitychange', hide);
      window.removeEventListener('pagehide', leave);
      void api.current.flush();
    };
  }, []);
  return api.current;
}
