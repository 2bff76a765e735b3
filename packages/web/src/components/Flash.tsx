import { useState } from 'react';
import { recentFlash } from '../flash.js';
import { useT } from '../i18n/index.js';

/** The message the previous screen left (see flash.ts), until the person closes it. */
export function Flash() {
  const t = useT();
  const [message, setMessage] = useState(recentFlash);
  if (!message) return null;
  return (
    <p className="notice flash" role="status">
      {message}{' '}
      <button type="button" className="link-button" onClick={() => setMessage(null)}>
        {t.close}
      </button>
    </p>
  );
}
