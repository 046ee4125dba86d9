/**
 * PostgreSQL's own append ceiling on this machine: batch rows written straight with a driver, in
 * the statements the `postgres:` engine writes (one statement that moves a counter row and inserts
 * the batch rows with their bytes), one in flight per partition taking what queued meanwhile. No
 * kbin code. Shared by pg_append.ts and scale_out.ts.
 *
 * @module
 */

import type { PgClient } from "../../src/ports.ts";
import { buildBatch } from "../../src/protocol/records/records.ts";

/** Bytes of one batch of {@link batch}. */
export const BATCH_BYTES = 16 * 1024;
/** Batches per transaction at most (as the engine groups them). */
const GROUP = 64;

/** A load: batches in flight over partitions. */
export interface Load {
  name: string;
  inFlight: number;
  partitions: number;
}

/** A 16 KiB batch of 16 records of 1 KiB (uncompressed). */
export function batch(): Uint8Array {
  const value = new Uint8Array(1000).fill(97);
  return buildBatch(Array.from({ length: 16 }, () => ({ value })));
}

/** Runs `inFlight` loops of `op` for `seconds`; returns operations per second. */
export async function loops(
  inFlight: number,
  op: (worker: number) => Promise<number>,
  seconds: number,
): Promise<number> {
  const until = performance.now() + seconds * 1000;
  let done = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inFlight }, async (_, w) => {
    while (performance.now() < until) {
      // Not `done += await op(w)`: that reads `done` before the await and loses the other loops' counts.
      const n = await op(w);
      done += n;
    }
  }));
  return done / ((performance.now() - t0) / 1000);
}

/**
 * The ceiling: each worker's batches go straight to PostgreSQL, grouped as the engine groups them.
 * @returns batches per second
 */
export async function ceiling(pg: PgClient, load: Load, seconds: number): Promise<number> {
  await pg.query("DROP TABLE IF EXISTS bench_counter, bench_batch");
  await pg.query("CREATE TABLE bench_counter (p integer PRIMARY KEY, next bigint NOT NULL)");
  await pg.query(
    "CREATE TABLE bench_batch (p integer, base bigint, last bigint, bytes bytea, PRIMARY KEY (p, last))",
  );
  await pg.query("ALTER TABLE bench_batch ALTER COLUMN bytes SET STORAGE EXTERNAL");
  for (let p = 0; p < load.partitions; p++) await pg.query("INSERT INTO bench_counter VALUES ($1, 0)", [p]);
  const bytes = batch();
  // Per partition: one transaction in flight, taking every batch queued meanwhile (up to GROUP).
  const queues = Array.from(
    { length: load.partitions },
    () => ({ waiting: [] as (() => void)[], busy: false, next: 0 }),
  );
  const flush = async (p: number) => {
    const q = queues[p]!;
    if (q.busy) return;
    q.busy = true;
    while (q.waiting.length > 0) {
      const group = q.waiting.splice(0, GROUP);
      const params: (number | Uint8Array)[] = [p];
      const rows = group.map((_, i) => {
        params.push(q.next + i * 16, q.next + i * 16 + 15, bytes);
        const at = params.length - 3;
        return `($1::int4, $${at + 1}::int8, $${at + 2}::int8, $${at + 3}::bytea)`;
      });
      const n = params.length;
      params.push(q.next + group.length * 16, q.next);
      // One statement: move the counter and insert the rows, as the engine does.
      await pg.query(
        `WITH moved AS (UPDATE bench_counter SET next = $${n + 1} WHERE p = $1 AND next = $${n + 2} RETURNING 1)
         INSERT INTO bench_batch (p, base, last, bytes) SELECT v.* FROM moved, (VALUES ${rows.join(", ")}) AS v`,
        params,
      );
      q.next += group.length * 16;
      for (const done of group) done();
    }
    q.busy = false;
  };
  return await loops(load.inFlight, (w) =>
    new Promise<number>((resolve) => {
      const p = w % load.partitions;
      queues[p]!.waiting.push(() => resolve(1));
      void flush(p);
    }), seconds);
}
