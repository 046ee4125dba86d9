/**
 * Transactions benchmark (a benchmark, not a test): transactional produce throughput at 100
 * records per transaction as a ratio to idempotent produce of the same records, in the same run,
 * through the same client against the same broker.
 *
 * Client: @platformatic/kafka in this process. Both sides send each group of 100 records (1 KiB
 * values, 25 to each of 4 partitions) as one Produce request with acks=all and wait for its
 * answer before the next group, so the requests differ only by the transaction: the
 * transactional side adds AddPartitionsToTxn before its Produce and EndTxn(commit) after it (the
 * broker stores the Prepare state, writes and syncs a COMMIT marker to each of the 4 partitions
 * and stores the Complete state before it answers). The ratio is the transaction's cost per 100
 * records. librdkafka was not used here: its transactional API is reachable from this repository
 * only through node-rdkafka under Node, and its idempotent producer pipelines batches across
 * groups, so its ratio would mostly measure pipelining rather than the coordinator.
 *
 * The two sides alternate (idempotent, transactional, …), REPEATS runs of SECONDS each, each on
 * its own topic of the one broker; medians are reported.
 *
 * Usage: bun scripts/bench/transactions.ts [SECONDS] [REPEATS]
 *        (or: bash scripts/bench/run.sh transactions [SECONDS] [REPEATS]; default 5 s, 2 runs per side)
 * Environment: KBIN_BIN, the kbin executable (default: `bun src/runtime/bun/main.ts`, from source);
 * KBIN_BENCH_STORAGE, a storage URL instead of a fresh `file:` temp dir (e.g. a postgres:// URL).
 * Prints a Markdown table on stdout, progress on stderr, the broker's log under .cache/bench/logs/.
 *
 * @module
 */

import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Admin, Producer } from "@platformatic/kafka";
import { BenchLogs } from "./proc.ts";

const SECONDS = Number(process.argv[2] ?? 5);
const REPEATS = Number(process.argv[3] ?? 2);
const PER_TXN = 100;
const PARTITIONS = 4;
const VALUE_BYTES = 1024;
const ROOT = new URL("../..", import.meta.url).pathname;
const log = (s: string) => process.stderr.write(`transactions: ${s}\n`);

interface Run {
  side: "idempotent" | "transactional";
  groups: number;
  seconds: number;
  latenciesMs: number[];
}

const value = Buffer.alloc(VALUE_BYTES, 97);
const messages = (topic: string, group: number) =>
  Array.from({ length: PER_TXN }, (_, i) => ({
    topic,
    partition: i % PARTITIONS,
    key: Buffer.from(`k${group}-${i}`),
    value,
  }));

async function runSide(bootstrap: string, side: Run["side"], topic: string, id: string): Promise<Run> {
  const producer = new Producer({
    clientId: `bench-${side}`,
    bootstrapBrokers: [bootstrap],
    idempotent: true,
    acks: -1,
    ...(side === "transactional" ? { transactionalId: id } : {}),
  });
  const latenciesMs: number[] = [];
  try {
    // Warm-up: connections, metadata, the producer id (and the transactional id's first epoch).
    for (let g = 0; g < 20; g++) await sendGroup(producer, side, topic, g);
    const started = performance.now();
    const end = started + SECONDS * 1000;
    let groups = 0;
    while (performance.now() < end) {
      const t0 = performance.now();
      await sendGroup(producer, side, topic, groups);
      latenciesMs.push(performance.now() - t0);
      groups++;
    }
    return { side, groups, seconds: (performance.now() - started) / 1000, latenciesMs };
  } finally {
    await producer.close();
  }
}

async function sendGroup(producer: Producer, side: Run["side"], topic: string, group: number): Promise<void> {
  if (side === "idempotent") {
    await producer.send({ messages: messages(topic, group) });
    return;
  }
  const tx = await producer.beginTransaction();
  await tx.send({ messages: messages(topic, group) });
  await tx.commit();
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const cache = join(ROOT, ".cache/bench/logs");
await mkdir(cache, { recursive: true });
const logs = new BenchLogs(await mkdtemp(join(cache, "transactions-")));
const dataDir = await mkdtemp(join(process.env["TMPDIR"] ?? tmpdir(), "kbin-bench-txn-"));
const storage = process.env["KBIN_BENCH_STORAGE"] ?? `file:${dataDir}`;
const kbin = process.env["KBIN_BIN"] ? [process.env["KBIN_BIN"]] : ["bun", join(ROOT, "src/runtime/bun/main.ts")];
const server = await logs.startServer(
  [...kbin, "serve", "--listen", "127.0.0.1:0", "--storage", storage, "--log-level", "warn"],
  "kbin",
);
log(`broker ${server.addr} on ${storage.replace(/\/\/[^@]*@/, "//")}, logs in ${logs.dir}`);
const runs: Run[] = [];
try {
  const admin = new Admin({ clientId: "bench-admin", bootstrapBrokers: [server.addr] });
  try {
    for (let r = 0; r < REPEATS; r++) {
      for (const side of ["idempotent", "transactional"] as const) {
        const topic = `bench-${side}-${r}`;
        await admin.createTopics({ topics: [topic], partitions: PARTITIONS, replicas: 1 });
        const run = await runSide(server.addr, side, topic, `bench-txn-${r}`);
        log(`${side} run ${r + 1}: ${run.groups} groups of ${PER_TXN} in ${run.seconds.toFixed(1)} s`);
        runs.push(run);
      }
    }
  } finally {
    await admin.close();
  }
} finally {
  await server.stop();
  await rm(dataDir, { recursive: true, force: true });
}

const MB = 1e6;
function summary(side: Run["side"]) {
  const mine = runs.filter((r) => r.side === side);
  const perSecond = mine.map((r) => r.groups / r.seconds);
  const all = mine.flatMap((r) => r.latenciesMs).sort((a, b) => a - b);
  const groups = median(perSecond);
  return {
    groups,
    records: groups * PER_TXN,
    mbps: (groups * PER_TXN * VALUE_BYTES) / MB,
    p50: quantile(all, 0.5),
    p99: quantile(all, 0.99),
    runs: perSecond.map((x) => x.toFixed(0)).join(", "),
  };
}
const idem = summary("idempotent");
const txn = summary("transactional");
// Each transactional run against the idempotent run just before it (the machine's load drifts between runs).
const pairs = runs.filter((r) => r.side === "transactional").map((t, i) => {
  const before = runs.filter((r) => r.side === "idempotent")[i]!;
  return (t.groups / t.seconds) / (before.groups / before.seconds);
});
const row = (name: string, s: ReturnType<typeof summary>, unit: string) =>
  `| ${name} | ${s.groups.toFixed(0)} ${unit}/s (runs: ${s.runs}) | ${s.records.toFixed(0)} | ${s.mbps.toFixed(1)} | ${
    s.p50.toFixed(2)
  } | ${s.p99.toFixed(2)} |`;
console.log(
  [
    `Transactions: ${PER_TXN} records of ${VALUE_BYTES} B per group (${
      PER_TXN / PARTITIONS
    } to each of ${PARTITIONS} partitions), ` +
    `acks=all, one group in flight, @platformatic/kafka, ${REPEATS} × ${SECONDS} s per side, medians`,
    "",
    "| side | groups/s | records/s | MB/s | p50 ms | p99 ms |",
    "| ---- | -------- | --------- | ---- | ------ | ------ |",
    row("idempotent (one Produce per group)", idem, "groups"),
    row("transactional (one transaction per group)", txn, "transactions"),
    "",
    `Ratio transactional / idempotent (MB/s, median of each run over the idempotent run before it): ${
      median(pairs).toFixed(2)
    } (runs: ${pairs.map((x) => x.toFixed(2)).join(", ")}); p50 latency ${(txn.p50 / idem.p50).toFixed(2)}×`,
  ].join("\n"),
);
