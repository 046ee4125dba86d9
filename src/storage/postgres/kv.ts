/**
 * The key-value log (offsets, group state, documents) of the `postgres:` engine: a table of
 * keys (JSON arrays, see kv_state.ts) and values (stored as JSON strings, as text cannot hold
 * NUL), loaded into memory at open and again by {@link PgKv.refresh} (a broker taking over
 * coordinator shards reads what the previous coordinator wrote), written with group commit (the
 * writes queued while one transaction is in flight go together in the next), resolved in issue
 * order.
 *
 * Writes may carry a fence: the coordinator shard they belong to and the epoch at which this
 * broker leads it. The transaction locks those shard rows (FOR SHARE, so a leadership change waits
 * for it) and drops the writes whose shard moved, which fail with NOT_COORDINATOR; the others
 * commit.
 *
 * @module
 */

import type { PgClient } from "../../ports.ts";
import { ErrorCode } from "../../protocol/generated/errors.ts";
import { StorageError } from "../engine.ts";
import type { KvLog } from "../kv_state.ts";

type Op = readonly [key: string, value: string | null];

/** The shard a write belongs to, and who must lead it at which epoch for the write to land. */
export interface KvFence {
  shard: number;
  epoch: number;
  node: number;
}

interface Pending {
  ops: readonly Op[];
  fence: KvFence | null;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** Key-value state in `kbin_state`. */
export class PgKv implements KvLog {
  readonly #pg: PgClient;
  readonly #fenceOf: (key: string) => KvFence | null;
  readonly #map = new Map<string, string>();
  #queue: Pending[] = [];
  #draining: Promise<void> | null = null;

  private constructor(pg: PgClient, fenceOf: (key: string) => KvFence | null) {
    this.#pg = pg;
    this.#fenceOf = fenceOf;
  }

  /**
   * Loads every key.
   * @param pg the client
   * @param fenceOf the fence of a write to a key (null: unfenced)
   */
  static async open(pg: PgClient, fenceOf: (key: string) => KvFence | null = () => null): Promise<PgKv> {
    const kv = new PgKv(pg, fenceOf);
    await kv.refresh();
    return kv;
  }

  /** Reads every key again (after the writes in flight), replacing what memory holds. */
  async refresh(): Promise<void> {
    await this.flush();
    const rows = await this.#pg.query("SELECT key, value FROM kbin_state");
    this.#map.clear();
    for (const row of rows) this.#map.set(String(row["key"]), JSON.parse(String(row["value"])) as string);
  }

  get(key: string): string | undefined {
    return this.#map.get(key);
  }

  entries(prefix = ""): [string, string][] {
    return [...this.#map].filter(([k]) => k.startsWith(prefix));
  }

  write(ops: readonly Op[]): Promise<void> {
    // Writes of one call go to one group (one shard): the first fenced key decides.
    let fence: KvFence | null = null;
    for (const [k] of ops) if ((fence = this.#fenceOf(k))) break;
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ ops, fence, resolve, reject });
      this.#draining ??= this.#drain();
    });
  }

  async #drain(): Promise<void> {
    try {
      await undefined;
      while (this.#queue.length > 0) {
        const queued = this.#queue;
        this.#queue = [];
        let group = queued;
        let fenced: Pending[] = [];
        let last = new Map<string, string | null>();
        try {
          await this.#pg.transaction(async (tx) => {
            const shards = [...new Set(queued.flatMap((p) => (p.fence ? [p.fence.shard] : [])))];
            if (shards.length > 0) {
              const held = new Map<number, { epoch: number; node: number }>();
              for (
                const r of await tx.query(
                  "SELECT shard, epoch, leader_node FROM kbin_shard WHERE shard = ANY($1::int[]) FOR SHARE",
                  [`{${shards.join(",")}}`],
                )
              ) held.set(Number(r["shard"]), { epoch: Number(r["epoch"]), node: Number(r["leader_node"]) });
              const valid = (f: KvFence | null) => {
                if (f === null) return true;
                const h = held.get(f.shard);
                return h !== undefined && h.epoch === f.epoch && h.node === f.node;
              };
              group = queued.filter((p) => valid(p.fence));
              fenced = queued.filter((p) => !valid(p.fence));
            }
            // The last value of each key in the group wins, as applying them in order would.
            last = new Map<string, string | null>();
            for (const p of group) for (const [k, v] of p.ops) last.set(k, v);
            if (last.size > 0) {
              const puts = [...last].filter(([, v]) => v !== null) as [string, string][];
              const dels = [...last].filter(([, v]) => v === null).map(([k]) => k);
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
            }
          });
        } catch (err) {
          const failure = new StorageError(`Cannot store state in PostgreSQL: ${(err as Error).message}`, {
            cause: err,
          });
          for (const p of queued) p.reject(failure);
          continue;
        }
        for (const p of fenced) {
          p.reject(
            new StorageError(
              `Cannot store group state: coordinator shard ${p.fence!.shard} moved to another broker`,
              { errorCode: ErrorCode.NOT_COORDINATOR },
            ),
          );
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
