/**
 * Before/after comparison: runs the same librdkafka (`rdkafka_bench`) workloads against two kbin
 * executables, a baseline build of an older git revision ("before") and the current build
 * ("after"), and prints a Markdown table of medians, ranges and after/before changes on stdout.
 * The report is also written to `.cache/bench/compare-REV.md` (raw runs in `compare-REV.json`).
 * Progress goes to stderr; each command's log is in `.cache/bench/compare-logs/`. Not a test.
 *
 * Run it through `bash scripts/bench/run.sh compare [REV]`, which builds both executables first.
 * Direct use: `bun scripts/bench/compare.ts` with
 *   KBIN_BASE_BIN             the baseline kbin (required)
 *   KBIN_BASE_REV             its git revision, for the report and the file name (default "base")
 *   KBIN_BIN                  the kbin to compare with it (default .cache/bench/dist/kbin)
 *   KBIN_BENCH_TOOL           the compiled rdkafka_bench (default .cache/bench/rdkafka_bench)
 *   KBIN_COMPARE_SECONDS      seconds per produce run and per end-to-end run (default 10)
 *   KBIN_COMPARE_REPEATS      runs per case and side; the median is reported (default 3)
 *   KBIN_COMPARE_CONSUME_MIB  size of the consume backlog in MiB (default 256)
 *
 * Both brokers run at the same time, each on 127.0.0.1 port 0 with its own fresh data directory
 * (file: storage), and the runs alternate before, after, before, after, … so that drift in the
 * machine's load hits both sides alike. Slow results never fail the script; runs that cannot be
 * taken (a broker does not start, the load generator fails or times out) make it exit 1 after
 * the report.
 *
 * @module
 */

import { existsSync, readdirSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join, relative } from "node:path";
import { BenchLogs, cpuSeconds, type MachineInfo, machineInfo, sh } from "./proc.ts";

const MIB = 1024 * 1024;
const ROOT = join(import.meta.dir, "../..");
const CACHE = join(ROOT, ".cache/bench");
const LOGS = join(CACHE, "compare-logs");
const logs = new BenchLogs(LOGS);
const run = (cmd: string[], label: string, timeoutS: number) => logs.run(cmd, label, timeoutS);
const TOOL = process.env.KBIN_BENCH_TOOL ?? join(CACHE, "rdkafka_bench");
const BEFORE_BIN = process.env.KBIN_BASE_BIN ?? "";
const AFTER_BIN = process.env.KBIN_BIN ?? join(CACHE, "dist/kbin");
const BASE_REV = process.env.KBIN_BASE_REV ?? "base";
const SECONDS = envInt("KBIN_COMPARE_SECONDS", 10);
const REPEATS = envInt("KBIN_COMPARE_REPEATS", 3);
const CONSUME_MIB = envInt("KBIN_COMPARE_CONSUME_MIB", 256);
const PRODUCE_PARTITIONS = 4;
const RECORD_SIZES = [100, 1024];
const ACKS = ["1", "all"];
const E2E_RATE = 10_000;
const E2E_SIZE = 1024;
/** A change of at most this fraction either way counts as "within" (noise on a shared VM). */
const WITHIN = 0.05;

const SIDES = ["before", "after"] as const;
type Side = (typeof SIDES)[number];

/** One run's figures (keys such as `mb_per_s`, `p99_ms`, `cpu`), or why it could not be taken. */
type Run = { ok: true; values: Record<string, number> } | { ok: false; reason: string };

/** A row of the main table: one figure of one case. */
interface Row {
  label: string;
  key: string;
  unit: string;
  lowerIsBetter: boolean;
  format: (n: number) => string;
}

interface Case {
  title: string;
  rows: Row[];
  /** What the details table shows per side: records/s (or the paced rate) and broker CPU. */
  detailKey: string;
  runs: Record<Side, Run[]>;
}

interface Broker {
  side: Side;
  bin: string;
  pid: number;
  addr: string;
  stop(): Promise<void>;
}

let topicSeq = 0;

function envInt(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;
  const n = Number(text);
  if (Number.isInteger(n) && n >= 1) return n;
  process.stderr.write(`compare: Cannot use ${name}="${text}": expected an integer >= 1\n`);
  process.exit(2);
}

function progress(text: string): void {
  process.stderr.write(`compare: ${text}\n`);
}

/** Runs the load generator; its last stdout line is a JSON object of numbers (and `error`). */
async function tool(args: string[], label: string, timeoutS: number): Promise<Run> {
  const where = relative(ROOT, LOGS);
  try {
    const { code, stdout } = await run([TOOL, ...args], label, timeoutS);
    const line = stdout.trim().split("\n").findLast((l) => l.startsWith("{"));
    if (line === undefined) return { ok: false, reason: `no result (exit ${code}, see ${where})` };
    const parsed = JSON.parse(line) as Record<string, unknown>;
    if (code !== 0) {
      const why = parsed.error ? String(parsed.error) : parsed.failed ? `${parsed.failed} failed` : `exit ${code}`;
      return { ok: false, reason: `${why} (see ${where})` };
    }
    const values: Record<string, number> = {};
    for (const [k, v] of Object.entries(parsed)) if (typeof v === "number") values[k] = v;
    return { ok: true, values };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}

/** Starts `kbin serve` and waits (10 s at most) for its "ready on HOST:PORT" line. */
async function startBroker(side: Side, bin: string, dataDir: string): Promise<Broker> {
  const server = await logs.startServer(
    [bin, "serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--log-level", "warn"],
    `${side}-kbin-serve`,
  );
  return { side, bin, ...server };
}

/** Runs `fn`, adding the broker's CPU seconds per wall second meanwhile as `cpu`. */
async function withCpu(pid: number, fn: () => Promise<Run>): Promise<Run> {
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  const r = await fn();
  const cpu = (cpuSeconds(pid) - cpu0) / ((performance.now() - t0) / 1000);
  return r.ok ? { ok: true, values: { ...r.values, cpu } } : r;
}

/**
 * Adds `stream_mb_per_s` to a consume run: the rate from the first record to the last. The
 * consumer's start-up is a large and erratic part of reading a backlog of a few hundred MiB: in
 * about half the runs librdkafka 2.0 idles for fetch.wait.max.ms (500 ms) or a multiple of it
 * between its Metadata response and its first ListOffsets request, with either build.
 */
function withStreamRate(r: Run): Run {
  if (!r.ok) return r;
  const { bytes, seconds, first_record_ms: firstMs } = r.values;
  if (bytes === undefined || seconds === undefined || firstMs === undefined) return r;
  const streamS = seconds - firstMs / 1000;
  return streamS > 0 ? { ok: true, values: { ...r.values, stream_mb_per_s: bytes / MIB / streamS } } : r;
}

async function createTopic(b: Broker, topic: string, partitions: number): Promise<boolean> {
  const cmd = [b.bin, "topic", "create", topic, "-p", String(partitions), "-b", b.addr];
  return await run(cmd, `${b.side}-topic-create`, 60).then((r) => r.code === 0, () => false);
}

/** Deletes a topic; a failure only costs disk space in the temp directory, so it is reported and passed over. */
async function deleteTopic(b: Broker, topic: string): Promise<void> {
  const cmd = [b.bin, "topic", "delete", topic, "-b", b.addr];
  const ok = await run(cmd, `${b.side}-topic-delete`, 60).then((r) => r.code === 0, () => false);
  if (!ok) progress(`could not delete topic "${topic}" on ${b.side} (see ${relative(ROOT, LOGS)})`);
}

/** Runs `fn` on a fresh topic of the broker, deleted afterwards, measuring the broker's CPU. */
async function onTopic(b: Broker, partitions: number, fn: (topic: string) => Promise<Run>): Promise<Run> {
  const topic = `bench-${++topicSeq}`;
  if (!(await createTopic(b, topic, partitions))) return { ok: false, reason: `cannot create topic "${topic}"` };
  const r = await withCpu(b.pid, () => fn(topic));
  await deleteTopic(b, topic);
  return r;
}

// ---------- statistics and formatting ----------

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Median and range of one figure over the successful runs, or null when none succeeded. */
function summary(runs: Run[], key: string): { median: number; min: number; max: number; n: number } | null {
  const xs = runs.flatMap((r) => (r.ok && r.values[key] !== undefined ? [r.values[key]] : []));
  if (xs.length === 0) return null;
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

const nf = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ms = (n: number) => (n >= 100 ? nf(n) : n >= 10 ? nf(n, 1) : nf(n, 2));
const mbps = (n: number) => nf(n, 1);
const pct = (fraction: number) => nf(fraction * 100, Math.abs(fraction) >= 0.1 ? 0 : 1);
const sizeName = (size: number) => (size === 1024 ? "1 KiB" : `${size} B`);

function cell(runs: Run[], key: string, format: (n: number) => string): string {
  const s = summary(runs, key);
  if (s === null) {
    const failed = runs.findLast((r) => !r.ok);
    return failed && !failed.ok ? `failed: ${failed.reason}` : "not run";
  }
  return s.n > 1 ? `${format(s.median)} (${format(s.min)}–${format(s.max)})` : format(s.median);
}

/** The change column and the verdict of one row. */
function verdict(c: Case, row: Row): { change: string; verdict: string; ranges: string } {
  const before = summary(c.runs.before, row.key);
  const after = summary(c.runs.after, row.key);
  if (before === null || after === null || before.median <= 0) return { change: "", verdict: "n/a", ranges: "" };
  const change = after.median / before.median - 1;
  const sign = change > 0 ? "+" : change < 0 ? "−" : "±";
  const worse = row.lowerIsBetter ? change > 0 : change < 0;
  const text = Math.abs(change) <= WITHIN
    ? `within ${nf(WITHIN * 100)} %`
    : `${worse ? "slower" : "faster"} by ${pct(Math.abs(change))} %`;
  const ranges = before.n > 1 && after.n > 1
    ? Math.max(before.min, after.min) <= Math.min(before.max, after.max) ? "overlap" : "apart"
    : "";
  return { change: `${sign}${pct(Math.abs(change))} %`, verdict: text, ranges };
}

// ---------- the comparison ----------

async function main(): Promise<number> {
  if (BEFORE_BIN === "") throw new Error("Cannot compare: set KBIN_BASE_BIN (run.sh compare does)");
  const needed: [string, string][] = [
    ["the load generator", TOOL],
    ["the before kbin", BEFORE_BIN],
    ["the after kbin", AFTER_BIN],
  ];
  for (const [what, path] of needed) {
    if (!existsSync(path)) throw new Error(`Cannot find ${what} at "${path}": run scripts/bench/run.sh compare`);
  }
  await mkdir(LOGS, { recursive: true });
  for (const f of readdirSync(LOGS)) await rm(join(LOGS, f), { force: true });
  const started = new Date();
  const startedMs = performance.now();
  const loadStart = loadavg();
  const work = await mkdtemp(join(tmpdir(), "kbin-compare-"));
  progress(
    `${REPEATS} run(s) per case and side, ${SECONDS} s per produce and end-to-end run, ${CONSUME_MIB} MiB backlog; ` +
      `logs in ${relative(ROOT, LOGS)}, data in ${work}`,
  );

  const machine = {
    ...(await machineInfo(work, TOOL)),
  };
  const dirty = sh(["git", "-C", ROOT, "status", "--porcelain", "--", "src", "package.json"]) !== "";
  const revs = {
    before: sh(["git", "-C", ROOT, "log", "-1", "--format=%h", BASE_REV]) || BASE_REV,
    beforeSubject: sh(["git", "-C", ROOT, "log", "-1", "--format=%s", BASE_REV]),
    after: sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]),
    afterDirty: dirty,
    beforeVersion: sh([BEFORE_BIN, "--version"]),
    afterVersion: sh([AFTER_BIN, "--version"]),
  };

  const produceCases: (Case & { size: number; acks: string })[] = [];
  for (const size of RECORD_SIZES) {
    for (const acks of ACKS) {
      produceCases.push({
        size,
        acks,
        title: `Produce ${sizeName(size)}, acks=${acks}`,
        rows: [{ label: "MB/s", key: "mb_per_s", unit: "MB/s", lowerIsBetter: false, format: mbps }],
        detailKey: "records_per_s",
        runs: { before: [], after: [] },
      });
    }
  }
  const consumeCase: Case = {
    title: `Consume a ${CONSUME_MIB} MiB backlog of 1 KiB records`,
    rows: [
      { label: "MB/s", key: "mb_per_s", unit: "MB/s", lowerIsBetter: false, format: mbps },
      {
        label: "MB/s after the first record",
        key: "stream_mb_per_s",
        unit: "MB/s",
        lowerIsBetter: false,
        format: mbps,
      },
      { label: "first record, ms", key: "first_record_ms", unit: "ms", lowerIsBetter: true, format: ms },
    ],
    detailKey: "records_per_s",
    runs: { before: [], after: [] },
  };
  const e2eCase: Case = {
    title: `End to end, ${nf(E2E_RATE)}/s of ${sizeName(E2E_SIZE)}, linger.ms=0`,
    rows: [
      { label: "p50 ms", key: "p50_ms", unit: "ms", lowerIsBetter: true, format: ms },
      { label: "p99 ms", key: "p99_ms", unit: "ms", lowerIsBetter: true, format: ms },
    ],
    detailKey: "rate",
    runs: { before: [], after: [] },
  };
  const cases: Case[] = [...produceCases, consumeCase, e2eCase];

  const brokers: Broker[] = [];
  // Ctrl-C: the brokers get the signal too (same process group); the data must not stay behind.
  const onSignal = () => {
    for (const b of brokers) {
      try {
        process.kill(b.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    rmSync(work, { recursive: true, force: true });
    process.exit(130);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const runNote = (i: number) => (REPEATS > 1 ? ` (run ${i + 1}/${REPEATS})` : "");

  try {
    progress("starting both kbins");
    brokers.push(await startBroker("before", BEFORE_BIN, join(work, "before")));
    brokers.push(await startBroker("after", AFTER_BIN, join(work, "after")));
    await Bun.sleep(500);

    for (const c of produceCases) {
      for (let i = 0; i < REPEATS; i++) {
        for (const b of brokers) {
          progress(`${c.title}: ${b.side}${runNote(i)}`);
          c.runs[b.side].push(
            await onTopic(b, PRODUCE_PARTITIONS, (topic) =>
              tool(
                [
                  "produce",
                  ...["-b", b.addr, "-t", topic, "-s", String(c.size), "-a", c.acks, "-z", "none"],
                  ...["-d", String(SECONDS), "-p", String(PRODUCE_PARTITIONS)],
                ],
                `${b.side}-produce-${c.size}-${c.acks}`,
                SECONDS + 90,
              )),
          );
        }
      }
    }

    // One backlog per broker, written before any is read, then the reads alternate.
    const backlog: Partial<Record<Side, { topic: string; failure?: string }>> = {};
    for (const b of brokers) {
      progress(`Consume: writing a ${CONSUME_MIB} MiB backlog to ${b.side}`);
      const topic = `bench-${++topicSeq}`;
      if (!(await createTopic(b, topic, PRODUCE_PARTITIONS))) {
        backlog[b.side] = { topic, failure: `cannot create topic "${topic}"` };
        continue;
      }
      const written = await tool(
        [
          "produce",
          ...["-b", b.addr, "-t", topic, "-s", "1024", "-a", "1"],
          ...["-n", String(CONSUME_MIB * 1024), "-p", String(PRODUCE_PARTITIONS)],
        ],
        `${b.side}-backlog`,
        600,
      );
      backlog[b.side] = written.ok ? { topic } : { topic, failure: `backlog not written: ${written.reason}` };
    }
    for (let i = 0; i < REPEATS; i++) {
      for (const b of brokers) {
        const bl = backlog[b.side]!;
        if (bl.failure !== undefined) {
          consumeCase.runs[b.side].push({ ok: false, reason: bl.failure });
          continue;
        }
        progress(`Consume: ${b.side}${runNote(i)}`);
        consumeCase.runs[b.side].push(
          withStreamRate(
            await withCpu(b.pid, () =>
              tool(
                ["consume", "-b", b.addr, "-t", bl.topic, "-y", String(CONSUME_MIB * MIB), "-d", "300"],
                `${b.side}-consume`,
                330,
              )),
          ),
        );
      }
    }
    for (const b of brokers) await deleteTopic(b, backlog[b.side]!.topic);

    for (let i = 0; i < REPEATS; i++) {
      for (const b of brokers) {
        progress(`End to end: ${b.side}${runNote(i)}`);
        e2eCase.runs[b.side].push(
          await onTopic(b, 1, (topic) =>
            tool(
              [
                "e2e",
                ...["-b", b.addr, "-t", topic, "-s", String(E2E_SIZE), "-a", "1", "-r", String(E2E_RATE)],
                ...["-d", String(SECONDS), "-w", "1", "-l", "0", "-X", "max.in.flight=5"],
              ],
              `${b.side}-e2e`,
              SECONDS + 60,
            )),
        );
      }
    }
  } finally {
    for (const b of brokers) await b.stop();
    await rm(work, { recursive: true, force: true });
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }

  const failedRuns = cases.flatMap((c) => SIDES.flatMap((s) => c.runs[s])).filter((r) => !r.ok).length;
  const report = render({
    cases,
    machine,
    revs,
    started,
    elapsedS: (performance.now() - startedMs) / 1000,
    loadStart,
    loadEnd: loadavg(),
    failedRuns,
  });
  console.log(report);
  const name = `compare-${BASE_REV.replace(/[^\w.-]/g, "_")}`;
  await writeFile(join(CACHE, `${name}.md`), report + "\n");
  await writeFile(
    join(CACHE, `${name}.json`),
    JSON.stringify(
      {
        started,
        machine,
        revs,
        settings: { seconds: SECONDS, repeats: REPEATS, consumeMiB: CONSUME_MIB },
        bins: { before: BEFORE_BIN, after: AFTER_BIN },
        cases: cases.map((c) => ({ title: c.title, runs: c.runs })),
      },
      null,
      2,
    ) + "\n",
  );
  progress(`wrote ${relative(ROOT, join(CACHE, `${name}.md`))} and ${name}.json`);
  if (failedRuns > 0) progress(`${failedRuns} run(s) could not be taken: see the report and ${relative(ROOT, LOGS)}`);
  return failedRuns > 0 ? 1 : 0;
}

interface Report {
  cases: Case[];
  machine: MachineInfo;
  revs: {
    before: string;
    beforeSubject: string;
    after: string;
    afterDirty: boolean;
    beforeVersion: string;
    afterVersion: string;
  };
  started: Date;
  elapsedS: number;
  loadStart: number[];
  loadEnd: number[];
  failedRuns: number;
}

function render(r: Report): string {
  const { machine: m, revs } = r;
  const load = (l: number[]) => l.map((n) => n.toFixed(2)).join(" / ");
  const subject = revs.beforeSubject.length > 100 ? `${revs.beforeSubject.slice(0, 97)}…` : revs.beforeSubject;
  const afterName = `${revs.after}${revs.afterDirty ? " + uncommitted changes" : ""}`;
  const L: string[] = [];
  L.push(
    `## kbin before/after: ${revs.before} → ${afterName}, ${
      r.started.toISOString().slice(0, 16).replace("T", " ")
    } UTC`,
  );
  L.push("");
  L.push(
    `Before: git ${revs.before} ("${subject}"), ${revs.beforeVersion}, \`${relative(ROOT, BEFORE_BIN)}\`. ` +
      `After: git ${afterName}, ${revs.afterVersion}, \`${relative(ROOT, AFTER_BIN)}\`.`,
  );
  L.push("");
  L.push(
    `Machine: ${m.cpus} × ${m.cpuModel}, Linux ${m.kernel}, ${nf(m.memGiB, 1)} GiB RAM, data on ${m.fs}; ` +
      `librdkafka ${m.librdkafka}. Load average ${load(r.loadStart)} at the start, ${load(r.loadEnd)} at the end. ` +
      `${REPEATS} run${REPEATS > 1 ? "s" : ""} per case and side, alternating before/after; ${SECONDS} s per ` +
      `produce and end-to-end run; the comparison took ${nf(r.elapsedS)} s.`,
  );
  L.push("");
  // With one run per side there are no ranges to compare.
  const withRanges = REPEATS > 1;
  L.push(`| Case | Figure | Before | After | After / before | Verdict |${withRanges ? " Ranges |" : ""}`);
  L.push(`|---|---|--:|--:|--:|---|${withRanges ? "---|" : ""}`);
  for (const c of r.cases) {
    for (const row of c.rows) {
      const v = verdict(c, row);
      L.push(
        `| ${c.title} | ${row.label} | ${cell(c.runs.before, row.key, row.format)} | ${
          cell(c.runs.after, row.key, row.format)
        } | ${v.change} | ${v.verdict} |${withRanges ? ` ${v.ranges} |` : ""}`,
      );
    }
  }
  L.push("");
  L.push(
    (REPEATS > 1 ? `Medians of ${REPEATS} runs, their range in parentheses. ` : "") +
      `MB = 2^20 bytes of record values; throughput: higher is better; latency: lower is better. "within ` +
      `${nf(WITHIN * 100)} %" means the medians differ by at most that much either way` +
      (REPEATS > 1 ? `; "overlap" means the two sides' ranges overlap, so the difference may be noise.` : "."),
  );
  L.push("");
  L.push("| Case | Records/s before | Records/s after | kbin CPU before | kbin CPU after |");
  L.push("|---|--:|--:|--:|--:|");
  const cpuf = (n: number) => `${nf(n * 100)} %`;
  for (const c of r.cases) {
    L.push(
      `| ${c.title} | ${cell(c.runs.before, c.detailKey, (n) => nf(n))} | ${
        cell(c.runs.after, c.detailKey, (n) => nf(n))
      } | ${cell(c.runs.before, "cpu", cpuf)} | ${cell(c.runs.after, "cpu", cpuf)} |`,
    );
  }
  L.push("");
  L.push(
    `Produce: 1 librdkafka producer, ${PRODUCE_PARTITIONS} partitions, codec none, librdkafka defaults (linger.ms=5), ` +
      "a fresh topic per run. Consume: one backlog per broker, written once, read from offset 0 (from the page cache). " +
      "End to end: 1 producer and 1 consumer in one process, 1 partition, acks=1, linger.ms=0, max.in.flight=5, " +
      "latencies after 1 s of warm-up; records/s is the paced rate. kbin CPU is the broker's " +
      `user+system time per wall second (100 % = one core of ${m.cpus}).`,
  );
  if (r.failedRuns > 0) {
    L.push("");
    L.push(`**${r.failedRuns} run(s) could not be taken**; logs in \`${relative(ROOT, LOGS)}\`.`);
  }
  return L.join("\n");
}

try {
  process.exitCode = await main();
} catch (err) {
  process.stderr.write(`compare: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
