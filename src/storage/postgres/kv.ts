/**
 * The key-value log (offsets, group state, documents) of the `postgres:` engine: a table of
 * keys (JSON arrays, see kv_state.ts) and values (stored as JSON strings, as text cannot hold NUL), loaded into memory at open, written with group commit (the writes queued
 * while one transaction is in flight go together in the next), resolved in issue order.
 *
 * @module
 */

import type { PgClient } from "../../ports.ts";
import { StorageError } from "../engine.ts";
import type { KvLog } from "../kv_state.ts";

type Op = readonly [key: string, value: string | null];

interface Pending {
  ops: readonly Op[];
  resolve: () => void;
  reject: (err: Error) => void;
}

/** Key-value state in `kbin_state`. */
export class PgKv implements KvLog {
  readonly #pg: PgClient;
  readonly #map = new Map<string, string>();
  #queue: Pending[] = [];
  #draining: Promise<void> | null = null;

  private constructor(pg: PgClient) {
    this.#pg = pg;
  }

  /** Loads every key. */
  static async open(pg: PgClient): Promise<PgKv> {
    const kv = new PgKv(pg);
    for (const row of await pg.query("SELECT key, value FROM kbin_state")) {
      kv.#map.set(String(row["key"]), JSON.parse(String(row["value"])) as string);
    }
    return kv;
  }

  get(key: string): string | undefined {
    return this.#map.get(key);
  }

  entries(prefix = ""): [string, string][] {
    return [...this.#map].filter(([k]) => k.startsWith(prefix));
  }

  write(ops: readonly Op[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ ops, resolve, reject });
      this.#draining ??= this.#drain();
    });
  }

  async #drain(): Promise<void> {
    try {
      await undefined;
      while (this.#queue.length > 0) {
        const group = this.#queue;
        this.#queue = [];
        // The last value of each key in the group wins, as applying them in order would.
        const last = new Map<string, string | null>();
        for (const p of group) for (const [k, v] of p.ops) last.set(k, v);
        try {
          if (last.size > 0) {
            const puts = [...last].filter(([, v]) => v !== null) as [string, string][];
            const dels = [...last].filter(([, v]) => v === null).map(([k]) => k);
            await this.#pg.transaction(async (tx) => {
              if (puts.length > 0) {
                await tx.query(
                  `INSERT INTO kbin_state (key, value) SELECT * FROM unnest($1::text[], $2::text[])
                   ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
                  // Values as JSON strings: text cannot hold NUL, JSON escapes it (keys are JSON already).
                  [pgArray(puts.map(([k]) => k)), pgArray(puts.map(([, v]) => JSON.stringify(v)))],
                );
              }
              if (dels.length > 0) {
                await tx.query("DELETE FROM kbin_state WHERE key = ANY($1::text[])", [pgArray(dels)]);
              }
            });
          }
        } catch (err) {
          const failure = new StorageError(`Cannot store state in PostgreSQL: ${(err as Error).message}`, {
            cause: err,
          });
          for (const p of group) p.reject(failure);
          continue;
        }
        for (const [k, v] of last) {
          if (v === null) this.#map.delete(k);
          else this.#map.set(k, v);
        }
        for (const p of group) p.resolve();
      }
    } finally {
      this.#draining = null;
    }
  }

  /** Waits for the writes in flight. */
  async flush(): Promise<void> {
    while (this.#draining) await this.#draining;
  }
}

/** Strings as a PostgreSQL text[] literal. */
export function pgArray(items: readonly string[]): string {
  return `{${items.map((s) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`).join(",")}}`;
}
