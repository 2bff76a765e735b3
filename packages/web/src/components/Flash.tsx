import { useState } from 'react';
import { recentFlash } from '../flash.js';

/** The message the previous screen left (see flash.ts), until the person closes it. */
export function Flash() {
  const [message, setMessage] = useState(recentFlash);
  if (!message) return null;
  return (
    <p className="notice flash" role="status">
      {message}{' '}
      <button type="button" className="link-button" onClick={() => setMessage(null)}>
        Close
      </button>
    </p>
  );
}
