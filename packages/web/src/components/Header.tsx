import type { MouseEvent } from 'react';
import { go } from '../router.js';
import { SyncIndicator } from './SyncIndicator.js';
import { UserMenu } from './UserMenu.js';

/** On every screen: home, search, the person's menu and the sync indicator. */
export function Header() {
  return (
    <header className="header">
      <a className="skip" href="#main" onClick={(e) => skipToMain(e)}>
        Skip to content
      </a>
      <div className="header-row">
        <a className="brand" href="#/">
          Registra
        </a>
        <nav className="header-nav" aria-label="Main">
          <button type="button" onClick={() => go('/search')}>
            Search
          </button>
          <button type="button" onClick={() => go('/verify')}>
            Verify
          </button>
          <UserMenu />
        </nav>
      </div>
      <SyncIndicator />
    </header>
  );
}

/** The hash is the router's: move the focus to the main content without changing it. */
function skipToMain(event: MouseEvent) {
  event.preventDefault();
  const main = document.getElementById('main');
  main?.setAttribute('tabindex', '-1');
  main?.focus();
}
