import { useEffect, useState } from 'react';
import { useClient } from '../hooks/index.js';

/**
 * An object URL of a file's bytes, from the device (offline too) or downloaded with the person's
 * token: files are read with a bearer token, so an <img src> of the API could not show them.
 * Revoked when the component lets go of it. `missing` when neither the device nor the server has
 * them now.
 */
export function useFileUrl(sha256: string | undefined): { url: string | null; missing: boolean } {
  const client = useClient();
  const [state, setState] = useState<{ url: string | null; missing: boolean }>({
    url: null,
    missing: false,
  });
  useEffect(() => {
    if (!sha256) return;
    let alive = true;
    let url: string | null = null;
    client.files.read(sha256).then(
      (blob) => {
        if (!alive) return;
        url = blob ? URL.createObjectURL(blob) : null;
        setState({ url, missing: !blob });
      },
      () => alive && setState({ url: null, missing: true }),
    );
    return () => {
      alive = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [client, sha256]);
  return state;
}
