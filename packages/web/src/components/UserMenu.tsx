import { useEffect, useRef, useState } from 'react';
import { useClient, useObservable, useWorkspace } from '../hooks/index.js';
import { LanguagePicker, useT } from '../i18n/index.js';

/** The signed-in person's name, opening a menu: language, lock, log out. */
export function UserMenu() {
  const client = useClient();
  const t = useT();
  const workspace = useWorkspace();
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

  const words = workspace.state === 'ready' ? workspace.value.words : null;
  const office = words?.config.locations.get(user?.officeId ?? '')?.name ?? user?.officeId ?? '';
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
            {t.signedInAs(
              user?.name ?? '',
              words ? words.roleLabel(user?.role ?? '') : (user?.role ?? ''),
              office,
            )}
          </p>
          <LanguagePicker id="menu-language" />
          {user?.scopes.includes('hook.manage') && (
            <a href="#/deliveries" onClick={() => setOpen(false)}>
              {t.failingDeliveries}
            </a>
          )}
          {user?.scopes.includes('hook.manage') && (
            <a href="#/adapters" onClick={() => setOpen(false)}>
              {t.adapters}
            </a>
          )}
          <button type="button" onClick={() => client.lock()}>
            {t.lock}
          </button>
          <p className="muted small">{t.lockHelp}</p>
          <button type="button" onClick={() => void client.logout()}>
            {t.logOut}
          </button>
          <p className="muted small">{t.logOutHelp}</p>
        </div>
      )}
    </div>
  );
}
