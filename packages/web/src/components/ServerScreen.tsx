import type { ReactNode } from 'react';
import type { Words } from '../words.js';

/**
 * The frame of an administrator's screen of server state: its title, what it shows, a refresh
 * button and the last problem, then the list.
 */
export function ServerScreen(props: {
  id: string;
  title: string;
  intro: string;
  words: Words;
  problem: string | null;
  onRefresh: () => void;
  children: ReactNode;
}) {
  const { id, title, intro, words, problem, onRefresh, children } = props;
  return (
    <section aria-labelledby={`${id}-title`}>
      <h1 id={`${id}-title`}>{title}</h1>
      <p className="muted">{intro}</p>
      <button type="button" onClick={onRefresh}>
        {words.t.refresh}
      </button>
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
      {children}
    </section>
  );
}
