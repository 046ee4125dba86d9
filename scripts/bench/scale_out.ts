/**
 * Scale-out on PostgreSQL as librdkafka sees it: produce and consume MB/s through 1, 2 and 3
 * brokers on one PostgreSQL, beside one broker on the `file:` engine and beside PostgreSQL's own
 * ceiling on this machine (pg_ceiling.ts: the same bytes inserted as batch rows straight from a
 * driver), with the CPU each side used and each broker's peak RSS (a postgres: broker keeps no
 * log in memory). A benchmark, not a test: scripts/test.sh never runs it.
 *
 * Usage: bash scripts/bench/run.sh scale-out   (builds kbin and the load generator first), or
 *        KBIN_BIN=… KBIN_BENCH_TOOL=… bun scripts/bench/scale_out.ts [SECONDS per run, default 8]
 *
 * Per case, repeated (KBIN_SCALE_OUT_REPEATS, default 3; medians and ranges reported):
 * `rdkafka_bench produce` with 4 producer instances, 1 KiB records, acks=all, 6 partitions,
 * bootstrapped from every broker (so each partition's batches go to its leader); a backlog of
 * 128 MiB read back by `rdkafka_bench consume`; `rdkafka_bench e2e` at 2,000 records/s (a
 * consumer at the tail, where the tail cache serves it). The one-broker PostgreSQL case runs
 * with the tail cache off too (`kbin.postgres.tail.cache.bytes=0`), its before/after. Prints a
 * Markdown table.
 *
 * @module
 */

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectPostgresBun } from "../../src/runtime/bun/postgres.ts";
import { startPostgres } from "../../tests/support/postgres.ts";
import { BATCH_BYTES, ceiling } from "./pg_ceiling.ts";
import { BenchLogs, childrenOf, cpuSeconds, machineInfo, type Server } from "./proc.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const CACHE = join(ROOT, ".cache/bench");
const KBIN = process.env.KBIN_BIN ?? join(CACHE, "dist/kbin");
const TOOL = process.env.KBIN_BENCH_TOOL ?? join(CACHE, "rdkafka_bench");
const SECONDS = Number(process.argv[2] ?? 8);
const PARTITIONS = 6;
const PRODUCERS = 4;
const BACKLOG = 128 * 1024 * 1024;
const REPEATS = Number(process.env.KBIN_SCALE_OUT_REPEATS ?? 3);
const E2E_RATE = 2000;
const logs = new BenchLogs(join(CACHE, "logs-scale-out"));

interface ProduceResult {
  mb_per_s: number;
  records_per_s: number;
  p50_ms: number;
  p99_ms: number;
  failed: number;
}
interface ConsumeResult {
  mb_per_s: number;
}
interface E2eResult {
  p50_ms: number;
  p99_ms: number;
}

function progress(text: string): void {
  process.stderr.write(`scale-out: ${text}\n`);
}

/** The PostgreSQL server listening on `port`: its postmaster and every process it forked. */
function postgresPids(port: number): number[] {
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const args = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
      if (args[0]!.endsWith("/postgres") && args.join(" ").includes(`-p ${port}`)) {
        return [Number(name), ...childrenOf(Number(name))];
      }
    } catch {
      // gone meanwhile
    }
  }
  return [];
}

function rssKiB(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

async function tool<T>(args: string[], label: string, timeoutS: number): Promise<T> {
  const { code, stdout } = await logs.run([TOOL, ...args], label, timeoutS);
  const line = stdout.trim().split("\n").findLast((l) => l.startsWith("{"));
  if (code !== 0 || line === undefined) throw new Error(`${label} failed (exit ${code}, logs in ${logs.dir})`);
  return JSON.parse(line) as T;
}

/** CPU seconds used by `pids` while `fn` runs, per wall second, and the largest RSS sampled. */
async function measured<T>(pids: () => number[], fn: () => Promise<T>) {
  const before = new Map(pids().map((p) => [p, cpuSeconds(p)]));
  let peak = 0;
  const timer = setInterval(() => {
    for (const p of pids()) peak = Math.max(peak, rssKiB(p));
  }, 100);
  const t0 = performance.now();
  const value = await fn();
  const wall = (performance.now() - t0) / 1000;
  clearInterval(timer);
  let cpu = 0;
  for (const p of pids()) cpu += cpuSeconds(p) - (before.get(p) ?? 0);
  return { value, cpu: cpu / wall, peakKiB: peak };
}

/** One run's figures. */
interface Run {
  produce: number;
  consume: number;
  e2eP50: number;
  e2eP99: number;
  kbinCpu: number;
  pgCpu: number;
  rssMiB: number;
}

interface Row {
  name: string;
  runs: Run[];
}

async function runCase(
  name: string,
  storage: () => string[],
  brokers: number,
  pgPort: number | null,
  extra: string[] = [],
): Promise<Run> {
  progress(`${name}: starting ${brokers} broker(s)`);
  const servers: Server[] = [];
  const args = storage();
  for (let n = 1; n <= brokers; n++) {
    servers.push(
      await logs.startServer(
        [KBIN, "serve", "--listen", "127.0.0.1:0", ...args, "--set", `node.id=${n}`, "--log-level", "warn", ...extra],
        `kbin-${name.replace(/\W+/g, "-")}-${n}`,
      ),
    );
  }
  try {
    const bootstrap = servers.map((s) => s.addr).join(",");
    // Let every broker see every other before placing partitions.
    await Bun.sleep(1500);
    const create = async (topic: string) => {
      const r = await logs.run(
        [KBIN, "topic", "create", topic, "-p", String(PARTITIONS), "-b", servers[0]!.addr],
        "topic",
        60,
      );
      if (r.code !== 0) throw new Error(`cannot create ${topic}`);
      await Bun.sleep(1000);
    };
    const kbinPids = () => servers.map((s) => s.pid);
    const pgPids = () => (pgPort === null ? [] : postgresPids(pgPort));
    await create("bench-produce");
    progress(`${name}: produce ${SECONDS} s, ${PRODUCERS} producers, 1 KiB, acks=all`);
    const pgBefore = new Map(pgPids().map((p) => [p, cpuSeconds(p)]));
    const produce = await measured(kbinPids, () =>
      tool<ProduceResult>(
        [
          "produce",
          ...["-b", bootstrap, "-t", "bench-produce", "-s", "1024", "-a", "all"],
          ...["-P", String(PRODUCERS), "-d", String(SECONDS), "-p", String(PARTITIONS)],
        ],
        "produce",
        SECONDS + 120,
      ));
    let pgCpu = 0;
    for (const p of pgPids()) pgCpu += cpuSeconds(p) - (pgBefore.get(p) ?? 0);
    pgCpu /= SECONDS;
    await create("bench-backlog");
    progress(`${name}: a ${BACKLOG / 1024 / 1024} MiB backlog, then consume it`);
    await tool<ProduceResult>(
      [
        "produce",
        ...["-b", bootstrap, "-t", "bench-backlog", "-s", "1024", "-a", "1"],
        ...["-n", String(BACKLOG / 1024), "-p", String(PARTITIONS)],
      ],
      "backlog",
      600,
    );
    const consume = await measured(kbinPids, () =>
      tool<ConsumeResult>(
        ["consume", "-b", bootstrap, "-t", "bench-backlog", "-y", String(BACKLOG), "-d", "300"],
        "consume",
        330,
      ));
    await create("bench-e2e");
    progress(`${name}: end to end at ${E2E_RATE} records/s`);
    const e2e = await measured(kbinPids, () =>
      tool<E2eResult>(
        [
          "e2e",
          ...["-b", bootstrap, "-t", "bench-e2e", "-s", "1024", "-a", "all", "-r", String(E2E_RATE)],
          ...["-d", "6", "-w", "1"],
        ],
        "e2e",
        90,
      ));
    return {
      produce: produce.value.mb_per_s,
      consume: consume.value.mb_per_s,
      e2eP50: e2e.value.p50_ms,
      e2eP99: e2e.value.p99_ms,
      kbinCpu: produce.cpu,
      pgCpu,
      rssMiB: Math.max(produce.peakKiB, consume.peakKiB, e2e.peakKiB) / 1024,
    };
  } finally {
    for (const s of servers) await s.stop();
  }
}

/** The median of a figure over runs, with its range when there are several. */
function median(runs: Run[], f: (r: Run) => number, digits: number): string {
  const v = runs.map(f).sort((a, b) => a - b);
  const fmt = (n: number) =>
    n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  const m = v[(v.length - 1) >> 1]!;
  return v.length > 1 ? `${fmt(m)} (${fmt(v[0]!)}–${fmt(v[v.length - 1]!)})` : fmt(m);
}

if (!existsSync(TOOL) || !existsSync(KBIN)) {
  throw new Error(`Cannot find ${!existsSync(TOOL) ? TOOL : KBIN}: run "bash scripts/bench/run.sh scale-out"`);
}
// Fresh logs: startServer reads a log for the ready line, which an old run's file would already hold.
await rm(logs.dir, { recursive: true, force: true });
await mkdir(logs.dir, { recursive: true });
const work = await mkdtemp(join(tmpdir(), "kbin-scale-out-"));
const pg = await startPostgres();
const rows: Row[] = [];
const ceilings: number[] = [];
let db = 0;
try {
  const machine = await machineInfo(work, TOOL);
  const cases: { name: string; storage: () => string[]; brokers: number; pg: boolean; extra?: string[] }[] = [
    { name: "file: 1 broker", storage: () => ["--data-dir", join(work, `file-${++db}`)], brokers: 1, pg: false },
    {
      name: "postgres: 1 broker, tail cache off",
      storage: () => ["--storage", pg.createDatabase(`bench_${++db}`)],
      brokers: 1,
      pg: true,
      extra: ["--set", "kbin.postgres.tail.cache.bytes=0"],
    },
    ...[1, 2, 3].map((n) => ({
      name: `postgres: ${n} broker${n > 1 ? "s" : ""}`,
      storage: () => ["--storage", pg.createDatabase(`bench_${++db}`)],
      brokers: n,
      pg: true,
    })),
  ];
  for (const c of cases) rows.push({ name: c.name, runs: [] });
  // Runs alternate between cases, so that drift in the machine's load hits every case alike.
  for (let r = 0; r < REPEATS; r++) {
    progress(`PostgreSQL's ceiling, run ${r + 1}: 16 KiB batch rows, one transaction in flight per partition`);
    const direct = await connectPostgresBun(pg.createDatabase(`bench_ceiling_${r}`));
    const perSecond = await ceiling(direct, { name: "ceiling", inFlight: 32, partitions: PARTITIONS }, SECONDS);
    await direct.close();
    ceilings.push((perSecond * BATCH_BYTES) / 1024 / 1024);
    for (const [i, c] of cases.entries()) {
      rows[i]!.runs.push(await runCase(c.name, c.storage, c.brokers, c.pg ? pg.port : null, c.extra ?? []));
    }
  }
  const f = (n: number, d = 0) => n.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
  const sortedCeilings = [...ceilings].sort((a, b) => a - b);
  const ceilingMiB = sortedCeilings[(sortedCeilings.length - 1) >> 1]!;
  console.log(
    `Scale-out on PostgreSQL (${machine.cpus} × ${machine.cpuModel}, Linux ${machine.kernel}; PostgreSQL 15 on ` +
      `127.0.0.1, synchronous commit; librdkafka ${machine.librdkafka}; \`bash scripts/bench/run.sh scale-out ${SECONDS}\`, ` +
      `${REPEATS} runs per case, alternating; medians, ranges in parentheses)\n`,
  );
  console.log(
    `PostgreSQL's own ceiling on this machine (16 KiB batch rows from Bun.SQL, 32 in flight over ${PARTITIONS} ` +
      `partitions, no kbin code): ${f(ceilingMiB, 1)} MiB/s (${f(sortedCeilings[0]!, 1)}–${
        f(sortedCeilings[sortedCeilings.length - 1]!, 1)
      }).\n`,
  );
  console.log(
    "| storage | produce MB/s (1 KiB, acks=all, 4 producers) | produce / PG ceiling | consume MB/s (128 MiB backlog) | " +
      "end to end p50 / p99 ms (2,000/s) | kbin CPU while producing (cores) | PostgreSQL CPU (cores) | peak RSS per broker |",
  );
  console.log("|---|--:|--:|--:|--:|--:|--:|--:|");
  for (const r of rows) {
    const isPg = r.name.startsWith("postgres");
    const produce = r.runs.map((x) => x.produce).sort((a, b) => a - b);
    console.log(
      `| ${r.name} | ${median(r.runs, (x) => x.produce, 1)} | ${
        isPg ? f(produce[(produce.length - 1) >> 1]! / ceilingMiB, 2) : "—"
      } | ${median(r.runs, (x) => x.consume, 1)} | ${median(r.runs, (x) => x.e2eP50, 1)} / ${
        median(r.runs, (x) => x.e2eP99, 1)
      } | ${median(r.runs, (x) => x.kbinCpu, 2)} | ${isPg ? median(r.runs, (x) => x.pgCpu, 2) : "—"} | ${
        f(Math.max(...r.runs.map((x) => x.rssMiB)), 0)
      } MiB |`,
    );
  }
} finally {
  pg.stop();
  await rm(work, { recursive: true, force: true });
}
