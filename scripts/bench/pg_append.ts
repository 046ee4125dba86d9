/**
 * The postgres: engine's append path against PostgreSQL's own ceiling, per driver. A benchmark,
 * not a test. Starts a throwaway PostgreSQL (tests/support/postgres.ts: Debian's postgresql,
 * 127.0.0.1, a free port; synchronous_commit on, as the engine needs), then for each driver
 * (`postgres` npm package, `Bun.SQL`) and each load measures, in one run:
 *
 * - ceiling: the same transactions written directly with the driver (move a counter row, insert
 *   the batch rows with their bytes), no kbin code: what this PostgreSQL and driver can do;
 * - kbin: `PgPartition.append` through the storage interface, waiting for each batch's commit
 *   (the engine coalesces what queues meanwhile, as it does under load).
 *
 * Loads: one 16 KiB batch in flight at a time; 32 in flight on one partition; 32 in flight over 4
 * partitions. Reports batches/s and MiB/s of each, and kbin / ceiling. Usage:
 *   bun scripts/bench/pg_append.ts [SECONDS per run, default 5]
 *
 * @module
 */

import { silentLogger } from "../../src/broker/logger.ts";
import type { ConnectPostgresFn, PgClient } from "../../src/ports.ts";
import { buildBatch } from "../../src/protocol/records/records.ts";
import { connectPostgresBun } from "../../src/runtime/bun/postgres.ts";
import { connectPostgres } from "../../src/runtime/shared/postgres.ts";
import { DEFAULT_LOG_CONFIG } from "../../src/storage/engine.ts";
import { openPostgresStorage } from "../../src/storage/postgres/engine.ts";
import { startPostgres } from "../../tests/support/postgres.ts";

const SECONDS = Number(process.argv[2] ?? 5);
const BATCH_BYTES = 16 * 1024;
const GROUP = 64;

interface Load {
  name: string;
  inFlight: number;
  partitions: number;
}
const LOADS: Load[] = [
  { name: "1 in flight, 1 partition", inFlight: 1, partitions: 1 },
  { name: "32 in flight, 1 partition", inFlight: 32, partitions: 1 },
  { name: "32 in flight, 4 partitions", inFlight: 32, partitions: 4 },
];
const DRIVERS: [string, ConnectPostgresFn][] = [["postgres (npm)", connectPostgres], ["Bun.SQL", connectPostgresBun]];

/** A 16 KiB batch of 16 records of 1 KiB (uncompressed). */
function batch(): Uint8Array {
  const value = new Uint8Array(1000).fill(97);
  return buildBatch(Array.from({ length: 16 }, () => ({ value })));
}

/** Runs `inFlight` loops of `op` for SECONDS; returns operations per second. */
async function loops(inFlight: number, op: (worker: number) => Promise<number>): Promise<number> {
  const until = performance.now() + SECONDS * 1000;
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

/** The ceiling: each worker's batches go straight to PostgreSQL, grouped as the engine groups them. */
async function ceiling(pg: PgClient, load: Load): Promise<number> {
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
        return `($1, $${at + 1}::int8, $${at + 2}::int8, $${at + 3}::bytea)`;
      });
      await pg.transaction(async (tx) => {
        await tx.query("UPDATE bench_counter SET next = $2 WHERE p = $1 AND next = $3", [
          p,
          q.next + group.length * 16,
          q.next,
        ]);
        await tx.query(`INSERT INTO bench_batch (p, base, last, bytes) VALUES ${rows.join(", ")}`, params);
      });
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
    }));
}

async function kbin(pg: PgClient, load: Load, run: number): Promise<number> {
  const storage = await openPostgresStorage({
    pg,
    clock: { now: () => Date.now() },
    logger: silentLogger,
    decompress: (_c, d) => d,
    logConfig: () => DEFAULT_LOG_CONFIG,
  });
  try {
    const t = await storage.topics.create({ name: `bench-${run}`, partitions: load.partitions });
    if (!t.ok) throw new Error(t.message);
    const parts = await Promise.all(
      Array.from(
        { length: load.partitions },
        (_, partition) => storage.partition({ topicName: `bench-${run}`, topicId: t.value.id, partition }),
      ),
    );
    const bytes = batch();
    return await loops(load.inFlight, async (w) => {
      const r = await parts[w % load.partitions]!.append(bytes);
      if (r.kind !== "appended") throw new Error(`not appended: ${JSON.stringify(r)}`);
      await r.written;
      return 1;
    });
  } finally {
    await storage.close();
  }
}

const pg = await startPostgres();
const rows: string[] = [];
try {
  let run = 0;
  for (const [driver, connect] of DRIVERS) {
    for (const load of LOADS) {
      const db = pg.createDatabase(`bench_${++run}`);
      const direct = await connect(db);
      const c = await ceiling(direct, load);
      await direct.close();
      const k = await kbin(await connect(db), load, run);
      const mib = (n: number) => ((n * BATCH_BYTES) / 1024 / 1024).toFixed(1);
      rows.push(
        `| ${driver} | ${load.name} | ${Math.round(c)} (${mib(c)}) | ${Math.round(k)} (${mib(k)}) | ${
          (k / c).toFixed(2)
        } |`,
      );
      console.error(rows[rows.length - 1]);
    }
  }
} finally {
  pg.stop();
}
console.log(`PostgreSQL append, ${SECONDS} s per run, 16 KiB batches (16 records of 1 KiB), synchronous commit\n`);
console.log("| driver | load | ceiling: batches/s (MiB/s) | kbin: batches/s (MiB/s) | kbin / ceiling |");
console.log("|---|---|--:|--:|--:|");
for (const r of rows) console.log(r);
