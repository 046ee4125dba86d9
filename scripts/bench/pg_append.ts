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
import { connectPostgresBun } from "../../src/runtime/bun/postgres.ts";
import { connectPostgres } from "../../src/runtime/shared/postgres.ts";
import { DEFAULT_LOG_CONFIG } from "../../src/storage/engine.ts";
import { openPostgresStorage } from "../../src/storage/postgres/engine.ts";
import { startPostgres } from "../../tests/support/postgres.ts";
import { batch, BATCH_BYTES, ceiling as ceilingFor, type Load, loops as loopsFor } from "./pg_ceiling.ts";

const ceiling = (pg: PgClient, load: Load) => ceilingFor(pg, load, SECONDS);
const loops = (inFlight: number, op: (worker: number) => Promise<number>) => loopsFor(inFlight, op, SECONDS);

const SECONDS = Number(process.argv[2] ?? 5);

const LOADS: Load[] = [
  { name: "1 in flight, 1 partition", inFlight: 1, partitions: 1 },
  { name: "32 in flight, 1 partition", inFlight: 32, partitions: 1 },
  { name: "32 in flight, 4 partitions", inFlight: 32, partitions: 4 },
];
const DRIVERS: [string, ConnectPostgresFn][] = [["postgres (npm)", connectPostgres], ["Bun.SQL", connectPostgresBun]];

async function kbin(pg: PgClient, load: Load, run: number): Promise<number> {
  const storage = await openPostgresStorage({
    pg,
    connectSession: () => Promise.reject(new Error("the benchmark never joins a cluster")),
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
