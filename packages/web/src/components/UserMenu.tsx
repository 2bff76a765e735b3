import { useEffect, useRef, useState } from 'react';
import { useClient, useObservable } from '../hooks/index.js';

/** The signed-in person's name, opening a menu to lock the device or log out. */
export function UserMenu() {
  const client = useClient();
  const user = useObservable(client.user);
  const [open, setOpen] = useState(false);
  const menu = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    const close = (event: Event) => {
      if (event instanceof KeyboardEvent && event.key !== 'Escape') return;
      if (event instanceof MouseEvent && menu.current?.contains(event.target as Node)) return;
      setOpen(false);
    };
    document.addEventListener('mousedown', close);
    document.addEventListener('keydown', close);
    return () => {
      document.removeEventListener('mousedown', close);
      document.removeEventListener('keydown', close);
    };
  }, [open]);

  return (
    <div className="user-menu" ref={menu}>
      <button
        type="button"
        aria-haspopup="true"
        aria-expanded={open}
        aria-controls="user-menu-items"
        onClick={() => setOpen(!open)}
        data-testid="user-menu"
      >
        <span className="user-name">{user?.name ?? user?.username}</span>
        <span aria-hidden="true"> ▾</span>
      </button>
      {open && (
        <div className="menu" id="user-menu-items">
          <p className="muted small">
            Signed in as <strong>{user?.username}</strong> ({user?.role})
          </p>
          {user?.scopes.includes('hook.manage') && (
            <a href="#/deliveries" onClick={() => setOpen(false)}>
              Failing deliveries
            </a>
          )}
          <button type="button" onClick={() => client.lock()}>
            Lock
          </button>
          <p className="muted small">Locking keeps everything on this device.</p>
          <button type="button" onClick={() => void client.logout()}>
            Log out
          </button>
          <p className="muted small">
            Logging out forgets the session: to work offline again, log in online first.
          </p>
        </div>
      )}
    </div>
  );
}
