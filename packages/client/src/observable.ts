import type { Observable } from './api.js';

/** A value with listeners: the smallest store that React's useSyncExternalStore can read. */
export class Store<T> implements Observable<T> {
  readonly #listeners = new Set<(value: T) => void>();

  constructor(private value: T) {}

  get(): T {
    return this.value;
  }

  set(value: T): void {
    this.value = value;
    for (const listener of this.#listeners) listener(value);
  }

  update(change: Partial<T>): void {
    this.set({ ...this.value, ...change });
  }

  subscribe(listener: (value: T) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
