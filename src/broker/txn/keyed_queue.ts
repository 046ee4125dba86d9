/**
 * Runs work one key at a time: each call for a key starts after the previous one for that key
 * settled. Keys do not wait for each other.
 *
 * @module
 */

/** Serialises work per key. */
export class KeyedQueue {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    const next = prev.catch(() => {}).then(fn);
    this.#tails.set(key, next);
    next.finally(() => {
      if (this.#tails.get(key) === next) this.#tails.delete(key);
    }).catch(() => {});
    return next;
  }
}
