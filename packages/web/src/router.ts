import { useEffect, useState } from 'react';

/** Routes are hash paths (#/records/<id>): the service worker serves one index.html for all. */
export type Route =
  | { name: 'home'; queue?: string }
  | { name: 'search' }
  | { name: 'record'; id: string }
  | { name: 'duplicates'; id: string }
  | { name: 'new'; recordType: string }
  | { name: 'draft'; id: string }
  | { name: 'act'; id: string; action: string }
  | { name: 'print'; id: string }
  | { name: 'verify' }
  | { name: 'consent'; id: string }
  | { name: 'deliveries' }
  | { name: 'adapters' };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  switch (parts[0]) {
    case 'queue':
      return parts[1] ? { name: 'home', queue: parts[1] } : { name: 'home' };
    case 'search':
      return { name: 'search' };
    case 'duplicates':
      if (parts[1]) return { name: 'duplicates', id: parts[1] };
      break;
    case 'verify':
      return { name: 'verify' };
    case 'consent':
      if (parts[1]) return { name: 'consent', id: parts[1] };
      break;
    case 'deliveries':
      return { name: 'deliveries' };
    case 'adapters':
      return { name: 'adapters' };
    case 'records':
      if (parts[1] && parts[2] === 'print') return { name: 'print', id: parts[1] };
      if (parts[1] && parts[2]) return { name: 'act', id: parts[1], action: parts[2] };
      if (parts[1]) return { name: 'record', id: parts[1] };
      break;
    case 'new':
      if (parts[1]) return { name: 'new', recordType: parts[1] };
      break;
    case 'drafts':
      if (parts[1]) return { name: 'draft', id: parts[1] };
      break;
  }
  return { name: 'home' };
}

/**
 * The server's links to pages of the app are paths (a consent's `portalUrl` is
 * `<publicUrl>/consent/<id>`, served index.html): the same page as a hash route, which the app
 * and its service worker know. Rewrites the address in place, before the first render.
 */
export function canonicalAddress(): void {
  const match = /^\/consent\/([^/]+)\/?$/.exec(window.location.pathname);
  if (match) window.history.replaceState(null, '', `/#/consent/${match[1]}`);
}

export function go(path: string): void {
  window.location.hash = path;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
