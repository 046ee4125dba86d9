/**
 * The produce/consume benchmark suite: runs librdkafka (`rdkafka_bench`) against kbin and against
 * a do-nothing produce sink, measures the disk's append+fdatasync rate, start-up time and memory,
 * then prints a Markdown report on stdout and writes it into `docs/benchmarks.md` (between the
 * `bench:results` markers; the prose around them is kept). Progress goes to stderr. Not a test.
 *
 * Run it through `bash scripts/bench/run.sh [quick|full]`, which builds the load generator and
 * kbin first. Direct use: `bun scripts/bench/suite.ts quick|full` with
 *   KBIN_BENCH_TOOL  path to the compiled rdkafka_bench (default .cache/bench/rdkafka_bench)
 *   KBIN_BIN         kbin executable to benchmark (default dist/kbin)
 *   KBIN_BENCH_OUT   Markdown file to update (default docs/benchmarks.md; "-" for none)
 *
 * Everything listens on 127.0.0.1 with port 0; data lives in a fresh temp directory. In full mode
 * every throughput run is repeated and the median reported, with the range beside it.
 *
 * @module
 */

import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join, relative } from "node:path";
import { BenchLogs, cpuSeconds, machineInfo, sh } from "./proc.ts";

type Mode = "quick" | "full";

interface Profile {
  /** Seconds per produce run. */
  seconds: number;
  /** Runs per throughput measurement; the median is reported. */
  repeats: number;
  consumeBytes: number;
  e2eSeconds: number;
  startupRuns: number;
  diskSeconds: number;
  /** acks values also run against the sink (it answers acks=all like acks=1). */
  sinkAcks: string[];
}

const MIB = 1024 * 1024;
const PROFILES: Record<Mode, Profile> = {
  quick: {
    seconds: 3,
    repeats: 1,
    consumeBytes: 256 * MIB,
    e2eSeconds: 5,
    startupRuns: 10,
    diskSeconds: 2,
    sinkAcks: ["1"],
  },
  full: {
    seconds: 10,
    repeats: 3,
    consumeBytes: 1024 * MIB,
    e2eSeconds: 15,
    startupRuns: 20,
    diskSeconds: 5,
    sinkAcks: ["1", "all"],
  },
};
const PRODUCE_PARTITIONS = 4;
const GROUP_COMMIT_BATCH_BYTES = 16384;
const GROUP_COMMIT_PRODUCERS = [1, 4, 8];
const E2E_RATE = 10_000;
const E2E_SIZE = 1024;
const TARGET = {
  produce1KiBRatio: 0.5,
  produce100BRatio: 0.4,
  groupCommitRatio: 0.8,
  consumeMBps: 600,
  e2eP99Ms: 5,
  acceptMs: 50,
  idleRssMiB: 60,
};

const ROOT = join(import.meta.dir, "../..");
const mode: Mode = process.argv[2] === "full" ? "full" : "quick";
const profile = PROFILES[mode];
const CACHE = join(ROOT, ".cache/bench");
const TOOL = process.env.KBIN_BENCH_TOOL ?? join(CACHE, "rdkafka_bench");
const KBIN = process.env.KBIN_BIN ?? join(ROOT, "dist/kbin");
const OUT = process.env.KBIN_BENCH_OUT ?? join(ROOT, "docs/benchmarks.md");
const LOGS = join(CACHE, "logs");
const logs = new BenchLogs(LOGS);
const run = (cmd: string[], label: string, timeoutS: number) => logs.run(cmd, label, timeoutS);

interface ProduceResult {
  records: number;
  failed: number;
  mb_per_s: number;
  records_per_s: number;
  p50_ms: number;
  p99_ms: number;
  batch_bytes: number;
  batch_records: number;
  error: string;
}
interface ConsumeResult {
  records: number;
  bytes: number;
  seconds: number;
  mb_per_s: number;
  records_per_s: number;
  first_record_ms: number;
  error: string;
}
interface E2eResult {
  rate: number;
  sent: number;
  received: number;
  p50_ms: number;
  p99_ms: number;
  p999_ms: number;
  max_ms: number;
}
interface DiskResult {
  ops_per_s: number;
  mb_per_s: number;
  p50_ms: number;
  p99_ms: number;
}
/** A measurement, or why it could not be taken. */
type Outcome<T> = { ok: true; value: T } | { ok: false; reason: string };
/** The median of repeated runs, kbin's CPU use during it, and the range of the key figure. */
interface Measured<T> {
  outcome: Outcome<T>;
  /** Broker CPU seconds per wall second during the median run (1 = one core). */
  cpu?: number;
  /** Broker's largest RSS sample during the median run. */
  rssPeakKiB?: number;
  range?: [number, number];
}

const commands: string[] = [];

function progress(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}

/** Runs the load generator; its last stdout line is a JSON object. */
async function tool<T>(args: string[], label: string, timeoutS: number): Promise<Outcome<T>> {
  const shown = args.map((a) => a.startsWith(tmpdir()) ? a.replace(/^.*\//, "$TMP/") : a);
  const command = `$RDKAFKA_BENCH ${shown.join(" ")}`
    .replace(/-b 127\.0\.0\.1:\d+/, `-b $${label.split("-")[0]}`)
    .replace(/-t bench-\d+/, "-t bench-N");
  if (!commands.includes(command)) commands.push(command);
  try {
    const { code, stdout } = await run([TOOL, ...args], label, timeoutS);
    const line = stdout.trim().split("\n").findLast((l) => l.startsWith("{"));
    if (line === undefined) return { ok: false, reason: `no result (exit ${code}, see ${relative(ROOT, LOGS)})` };
    const value = JSON.parse(line) as T & { error?: string; failed?: number };
    if (code !== 0) {
      const why = value.error ? value.error : value.failed ? `${value.failed} failed` : `exit ${code}`;
      return { ok: false, reason: `${why} (see ${relative(ROOT, LOGS)})` };
    }
    return { ok: true, value };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}

/**
 * Runs a measurement `profile.repeats` times; returns the run with the median `key`, with the
 * range of `key` over the successful runs. When every run fails, returns the last failure.
 */
async function repeated<T>(
  once: () => Promise<Measured<T>>,
  key: (v: T) => number,
  times = profile.repeats,
): Promise<Measured<T>> {
  const runs: Measured<T>[] = [];
  for (let i = 0; i < times; i++) runs.push(await once());
  const good = runs.filter((r) => r.outcome.ok).sort((a, b) => keyOf(a) - keyOf(b));
  function keyOf(m: Measured<T>): number {
    return m.outcome.ok ? key(m.outcome.value) : 0;
  }
  if (good.length === 0) return runs[runs.length - 1]!;
  const median = good[Math.floor((good.length - 1) / 2)]!;
  return good.length > 1 ? { ...median, range: [keyOf(good[0]!), keyOf(good[good.length - 1]!)] } : median;
}

function rssKiB(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Runs `fn`; returns its outcome with the CPU per wall second and the peak RSS of `pid` meanwhile. */
async function withCpu<T>(pid: number, fn: () => Promise<Outcome<T>>): Promise<Measured<T>> {
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  sampler?.take();
  const outcome = await fn();
  const cpu = (cpuSeconds(pid) - cpu0) / ((performance.now() - t0) / 1000);
  return { outcome, cpu, ...(sampler ? { rssPeakKiB: Math.max(sampler.take(), rssKiB(pid)) } : {}) };
}

/** Samples a process's RSS every 100 ms: the largest sample so far, and since the last `take()`. */
class RssSampler {
  peakKiB = 0;
  #windowKiB = 0;
  #timer: ReturnType<typeof setInterval>;
  constructor(pid: number) {
    this.#timer = setInterval(() => {
      const kib = rssKiB(pid);
      this.peakKiB = Math.max(this.peakKiB, kib);
      this.#windowKiB = Math.max(this.#windowKiB, kib);
    }, 100);
  }
  /** The largest sample since the previous call. */
  take(): number {
    const kib = this.#windowKiB;
    this.#windowKiB = 0;
    return kib;
  }
  stop(): void {
    clearInterval(this.#timer);
  }
}

/** Samples kbin's RSS while kbin runs. */
let sampler: RssSampler | null = null;

// ---------- formatting ----------

const nf = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const pctf = (ratio: number) => `${nf(ratio * 100)} %`;
const ms = (n: number) => (n >= 100 ? nf(n) : n >= 10 ? nf(n, 1) : nf(n, 2));
const mib = (kib: number) => `${nf(kib / 1024, 1)} MiB`;
const met = (ok: boolean | null) => (ok === null ? "n/a" : ok ? "met" : "**missed**");
const sizeName = (size: number) => (size === 1024 ? "1 KiB" : `${size} B`);
function value<T>(m: Measured<T> | undefined): T | null {
  return m?.outcome.ok ? m.outcome.value : null;
}
function failure<T>(m: Measured<T> | undefined): string {
  if (m === undefined) return "not run";
  return m.outcome.ok ? "" : `failed: ${m.outcome.reason}`;
}
/** A figure with the range of repeated runs, e.g. "59.6 (52.1–71.0)". */
function figure<T>(m: Measured<T> | undefined, f: (v: T) => number, digits: number): string {
  const v = value(m);
  if (v === null) return failure(m);
  const range = m?.range ? ` (${nf(m.range[0], digits)}–${nf(m.range[1], digits)})` : "";
  return nf(f(v), digits) + range;
}
const cpuCell = (m: Measured<unknown> | undefined) =>
  (m?.cpu !== undefined ? `${nf(m.cpu * 100)} %` : "") +
  (m?.rssPeakKiB !== undefined ? `, ${nf(m.rssPeakKiB / 1024)} MiB` : "");

// ---------- the suite ----------

interface ProduceCase {
  size: number;
  acks: string;
  codec: string;
  kbin?: Measured<ProduceResult>;
  sink?: Measured<ProduceResult>;
}

async function main(): Promise<void> {
  await mkdir(LOGS, { recursive: true });
  for (const f of await Array.fromAsync(new Bun.Glob("*").scan(LOGS))) await rm(join(LOGS, f), { force: true });
  if (!existsSync(TOOL)) throw new Error(`Cannot find the load generator at ${TOOL}: run scripts/bench/run.sh`);
  if (!existsSync(KBIN)) throw new Error(`Cannot find kbin at ${KBIN}: run scripts/build.sh or set KBIN_BIN`);
  const started = new Date();
  const startedMs = performance.now();
  const load = loadavg().map((n) => n.toFixed(2)).join(" / ");
  const work = await mkdtemp(join(tmpdir(), "kbin-bench-"));
  const dataDir = join(work, "data");
  progress(`${mode} run; logs in ${relative(ROOT, LOGS)}, data in ${work}`);

  const machine = {
    ...(await machineInfo(work, TOOL)),
    kbinVersion: sh([KBIN, "--version"]),
    git: sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]) +
      (sh(["git", "-C", ROOT, "status", "--porcelain", "--", "src"]) ? " + uncommitted changes in src/" : ""),
  };

  const cases: ProduceCase[] = [];
  for (const size of [100, 1024]) {
    for (const acks of ["1", "all"]) for (const codec of ["none", "lz4"]) cases.push({ size, acks, codec });
  }
  const groupCommit: { producers: number; result?: Measured<ProduceResult> }[] = GROUP_COMMIT_PRODUCERS.map((
    producers,
  ) => ({ producers }));
  const disk: { before?: Measured<DiskResult>; after?: Measured<DiskResult>; pageCache?: Measured<DiskResult> } = {};
  let consume: Measured<ConsumeResult> | undefined;
  const e2e: { label: string; args: string[]; acks: string; result?: Measured<E2eResult> }[] = [
    { label: "linger.ms=0, max.in.flight=5", args: ["-l", "0", "-X", "max.in.flight=5"], acks: "1" },
    { label: "linger.ms=1, max.in.flight=5", args: ["-l", "1", "-X", "max.in.flight=5"], acks: "1" },
    { label: "librdkafka defaults (linger.ms=5)", args: ["-l", "5"], acks: "1" },
  ];
  if (mode === "full") {
    e2e.push({ label: "linger.ms=0, max.in.flight=5", args: ["-l", "0", "-X", "max.in.flight=5"], acks: "all" });
  }
  let startup: { acceptP50: number; acceptP99: number; readyP50: number; rssMiB: number } | string = "not run";
  const rss = { idleKiB: 0, peakKiB: 0, afterKiB: 0 };
  const diskRun = async (label: string, extra: string[]) => ({
    outcome: await tool<DiskResult>(
      ["disk", "-f", join(work, "disk-probe"), "-d", String(profile.diskSeconds), ...extra],
      label,
      profile.diskSeconds + 30,
    ),
  });

  try {
    progress("disk: page-cache append rate (1 MiB writes, no sync, 256 MiB)");
    disk.pageCache = await diskRun("disk-page-cache", ["-k", String(MIB), "-S", "-y", String(256 * MIB)]);

    // startup.ts picks random ports and has no deadline of its own: it can hang when a kbin it
    // spawned does not come up, so it gets a time limit and a second try.
    commands.push(`bun scripts/bench/startup.ts $KBIN_BIN ${profile.startupRuns}`);
    for (let attempt = 1; attempt <= 2 && typeof startup === "string"; attempt++) {
      progress(`start-up: ${profile.startupRuns} runs${attempt > 1 ? ", second try" : ""}`);
      const st = await run(
        [process.execPath, join(ROOT, "scripts/bench/startup.ts"), KBIN, String(profile.startupRuns)],
        "startup",
        60,
      ).catch((err: Error) => ({ code: -1, stdout: err.message }));
      const accept = /accepting connections: p50 ([\d.]+) ms, p99 ([\d.]+) ms/.exec(st.stdout);
      const ready = /ready line printed:\s+p50 ([\d.]+) ms/.exec(st.stdout);
      const idle = /idle RSS: ([\d.]+) MiB/.exec(st.stdout);
      startup = accept && ready && idle
        ? {
          acceptP50: Number(accept[1]),
          acceptP99: Number(accept[2]),
          readyP50: Number(ready[1]),
          rssMiB: Number(idle[1]),
        }
        : `failed: ${st.code === -1 ? st.stdout : `exit ${st.code}`}`;
    }

    // kbin and the sink run side by side, and their runs alternate, so drift in the machine's
    // load hits both sides of each ratio alike.
    progress("starting kbin and the sink");
    const kbin = await logs.startServer(
      [KBIN, "serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--log-level", "warn"],
      "kbin",
    );
    const sink = await logs.startServer(
      [process.execPath, join(ROOT, "scripts/bench/sink.ts"), "--partitions", String(PRODUCE_PARTITIONS)],
      "sink",
    );
    await Bun.sleep(500);
    rss.idleKiB = rssKiB(kbin.pid);
    sampler = new RssSampler(kbin.pid);
    let topicSeq = 0;
    /** Runs `fn` on a fresh kbin topic, deleted afterwards, measuring kbin's CPU. */
    const onTopic = async <T>(partitions: number, fn: (topic: string) => Promise<Outcome<T>>) => {
      const topic = `bench-${++topicSeq}`;
      const created = await run(
        [KBIN, "topic", "create", topic, "-p", String(partitions), "-b", kbin.addr],
        "topic-create",
        60,
      );
      if (created.code !== 0) {
        return { outcome: { ok: false, reason: `cannot create topic ${topic}` } } as Measured<T>;
      }
      const measured = await withCpu(kbin.pid, () => fn(topic));
      await run([KBIN, "topic", "delete", topic, "-b", kbin.addr], "topic-delete", 60);
      return measured;
    };
    const produceArgs = (c: ProduceCase, addr: string, topic: string) => [
      "produce",
      ...["-b", addr, "-t", topic, "-s", String(c.size), "-a", c.acks, "-z", c.codec],
      ...["-d", String(profile.seconds), "-p", String(PRODUCE_PARTITIONS)],
    ];
    const mbps = (r: ProduceResult) => r.mb_per_s;
    try {
      for (const c of cases) {
        const name = `${c.size} B, acks=${c.acks}, ${c.codec}`;
        const label = `${c.size}-${c.acks}-${c.codec}`;
        const sinkToo = profile.sinkAcks.includes(c.acks);
        const kbinRuns: Measured<ProduceResult>[] = [];
        const sinkRuns: Measured<ProduceResult>[] = [];
        for (let i = 0; i < profile.repeats; i++) {
          progress(`produce ${name}: kbin${profile.repeats > 1 ? ` (run ${i + 1}/${profile.repeats})` : ""}`);
          kbinRuns.push(
            await onTopic(
              PRODUCE_PARTITIONS,
              (topic) => tool(produceArgs(c, kbin.addr, topic), `KBIN-produce-${label}`, profile.seconds + 90),
            ),
          );
          if (sinkToo) {
            progress(`produce ${name}: sink`);
            sinkRuns.push({
              outcome: await tool(produceArgs(c, sink.addr, "sink"), `SINK-produce-${label}`, profile.seconds + 90),
            });
          }
        }
        let k = 0;
        let s = 0;
        c.kbin = await repeated(() => Promise.resolve(kbinRuns[k++]!), mbps);
        if (sinkToo) c.sink = await repeated(() => Promise.resolve(sinkRuns[s++]!), mbps);
      }

      // The disk's rate drifts on shared machines, so it is measured right before and after.
      progress("disk: 16 KiB append + fdatasync");
      disk.before = await diskRun("disk-before", ["-k", "16384"]);
      for (const g of groupCommit) {
        progress(`acks=all group commit: ${g.producers} producer(s)`);
        g.result = await repeated(
          () =>
            onTopic(1, (topic) =>
              tool(
                [
                  "produce",
                  ...["-b", kbin.addr, "-t", topic, "-s", "1024", "-a", "all"],
                  ...["-B", String(GROUP_COMMIT_BATCH_BYTES), "-P", String(g.producers), "-d", String(profile.seconds)],
                ],
                `KBIN-group-commit-${g.producers}`,
                profile.seconds + 90,
              )),
          (r) => r.records_per_s,
        );
      }
      progress("disk: 16 KiB append + fdatasync, again");
      disk.after = await diskRun("disk-after", ["-k", "16384"]);

      progress(`consume: writing a ${profile.consumeBytes / MIB} MiB backlog, then reading it`);
      const backlogTopic = `bench-${++topicSeq}`;
      await run(
        [KBIN, "topic", "create", backlogTopic, "-p", String(PRODUCE_PARTITIONS), "-b", kbin.addr],
        "topic-create",
        60,
      );
      const backlog = await tool<ProduceResult>(
        [
          "produce",
          ...["-b", kbin.addr, "-t", backlogTopic, "-s", "1024", "-a", "1"],
          ...["-n", String(profile.consumeBytes / 1024), "-p", String(PRODUCE_PARTITIONS)],
        ],
        "KBIN-backlog",
        600,
      );
      consume = backlog.ok
        ? await repeated(
          () =>
            withCpu(kbin.pid, () =>
              tool<ConsumeResult>(
                ["consume", "-b", kbin.addr, "-t", backlogTopic, "-y", String(profile.consumeBytes), "-d", "300"],
                "KBIN-consume",
                330,
              )),
          (v) => v.mb_per_s,
        )
        : { outcome: { ok: false, reason: `backlog not written: ${backlog.reason}` } };
      await run([KBIN, "topic", "delete", backlogTopic, "-b", kbin.addr], "topic-delete", 60);

      for (const e of e2e) {
        progress(`end to end at ${E2E_RATE}/s, acks=${e.acks}, ${e.label}`);
        e.result = await onTopic(1, (topic) =>
          tool(
            [
              "e2e",
              ...["-b", kbin.addr, "-t", topic, "-s", String(E2E_SIZE), "-a", e.acks, "-r", String(E2E_RATE)],
              ...["-d", String(profile.e2eSeconds), "-w", "1", ...e.args],
            ],
            "KBIN-e2e",
            profile.e2eSeconds + 60,
          ));
      }
      await Bun.sleep(1000);
      rss.afterKiB = rssKiB(kbin.pid);
    } finally {
      sampler.stop();
      rss.peakKiB = sampler.peakKiB;
      sampler = null;
      await sink.stop();
      await kbin.stop();
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }

  const report = render({
    machine,
    load,
    started,
    elapsedS: (performance.now() - startedMs) / 1000,
    cases,
    groupCommit,
    disk,
    consume,
    e2e,
    startup,
    rss,
  });
  console.log(report);
  await writeFile(join(CACHE, `results-${mode}.md`), report + "\n");
  await writeFile(
    join(CACHE, `results-${mode}.json`),
    JSON.stringify(
      { mode, started, machine, load, disk, startup, rss, cases, groupCommit, consume, e2e, commands },
      null,
      2,
    ) +
      "\n",
  );
  if (OUT !== "-") {
    await writeReport(OUT, report);
    // `deno fmt --check` in the test task covers Markdown: keep the file formatted.
    const deno = existsSync(join(ROOT, "node_modules/.bin/deno")) ? join(ROOT, "node_modules/.bin/deno") : "deno";
    let formatted = false;
    try {
      formatted = Bun.spawnSync([deno, "fmt", "--quiet", OUT], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
    } catch {
      // no deno on this machine
    }
    if (!formatted) progress(`could not run "deno fmt" on ${relative(ROOT, OUT)}; format it before committing`);
    progress(`wrote ${relative(ROOT, OUT)}`);
  }
}

interface Results {
  machine: Record<string, string | number>;
  load: string;
  started: Date;
  elapsedS: number;
  cases: ProduceCase[];
  groupCommit: { producers: number; result?: Measured<ProduceResult> }[];
  disk: { before?: Measured<DiskResult>; after?: Measured<DiskResult>; pageCache?: Measured<DiskResult> };
  consume: Measured<ConsumeResult> | undefined;
  e2e: { label: string; acks: string; result?: Measured<E2eResult> }[];
  startup: { acceptP50: number; acceptP99: number; readyP50: number; rssMiB: number } | string;
  rss: { idleKiB: number; peakKiB: number; afterKiB: number };
}

function render(r: Results): string {
  const { machine, cases, groupCommit, disk, consume, e2e, startup, rss } = r;
  const find = (size: number, acks: string, codec: string) =>
    cases.find((c) => c.size === size && c.acks === acks && c.codec === codec)!;
  /** The sink run to compare with: the same case, or its acks=1 twin (the sink ignores acks). */
  const sinkOf = (c: ProduceCase) => c.sink ?? find(c.size, "1", c.codec).sink;
  const ratio = (c: ProduceCase) => {
    const k = value(c.kbin);
    const s = value(sinkOf(c));
    return k && s && s.mb_per_s > 0 ? k.mb_per_s / s.mb_per_s : null;
  };
  const ratioTarget = (c: ProduceCase, goal: number): [string, boolean | null] => {
    const q = ratio(c);
    const k = value(c.kbin);
    const s = value(sinkOf(c));
    if (q === null || !k || !s) return ["not measured", null];
    return [`${pctf(q)} (${nf(k.mb_per_s, 1)} / ${nf(s.mb_per_s, 1)} MB/s)`, q >= goal];
  };
  const [p1kText, p1kOk] = ratioTarget(find(1024, "1", "none"), TARGET.produce1KiBRatio);
  const [p100Text, p100Ok] = ratioTarget(find(100, "1", "none"), TARGET.produce100BRatio);

  const diskRates = [value(disk.before), value(disk.after)].filter((d) => d !== null).map((d) => d.ops_per_s);
  const diskRate = diskRates.length > 0 ? diskRates.reduce((a, b) => a + b, 0) / diskRates.length : null;
  const gcRows = groupCommit.map((g) => {
    const v = value(g.result);
    const batchesPerS = v && v.batch_records > 0 ? v.records_per_s / v.batch_records : null;
    const vsDisk = batchesPerS !== null && diskRate ? batchesPerS / diskRate : null;
    return { g, v, batchesPerS, vsDisk };
  });
  const gcFirst = gcRows[0]?.vsDisk ?? null;
  const gcRates = gcRows.map((x) => x.v?.records_per_s ?? 0);
  const rising = gcRates.length > 1 && gcRates.every((v, i) => i === 0 || v > gcRates[i - 1]!);
  const gcOk = gcFirst === null ? null : gcFirst >= TARGET.groupCommitRatio && rising;
  const gcText = gcFirst === null
    ? "not measured"
    : `${nf(gcFirst, 2)}× the disk's rate with 1 producer; ${
      gcRows.map((x) => `${x.g.producers}: ${x.vsDisk === null ? "–" : `${nf(x.vsDisk, 2)}×`}`).join(", ")
    } (${rising ? "rising" : "not rising"})`;

  const consumeV = value(consume);
  const e2eHead = value(e2e[0]?.result);
  const startupV = typeof startup === "string" ? null : startup;
  const targets: [string, string, string, boolean | null][] = [
    ["Produce 1 KiB, acks=1, vs the sink", `≥ ${pctf(TARGET.produce1KiBRatio)}`, p1kText, p1kOk],
    ["Produce 100 B, acks=1, vs the sink", `≥ ${pctf(TARGET.produce100BRatio)}`, p100Text, p100Ok],
    [
      "acks=all with group commit vs 16 KiB append+fdatasync",
      `≥ ${TARGET.groupCommitRatio}×, rising with producers`,
      gcText,
      gcOk,
    ],
    [
      `Consume a ${profile.consumeBytes / MIB} MiB backlog${mode === "quick" ? " (full mode: 1 GiB)" : ""}`,
      `≥ ${TARGET.consumeMBps} MB/s`,
      consumeV ? `${nf(consumeV.mb_per_s)} MB/s` : failure(consume),
      consumeV ? consumeV.mb_per_s >= TARGET.consumeMBps : null,
    ],
    [
      `End-to-end p99 at ${nf(E2E_RATE)} records/s (${e2e[0]!.label})`,
      `≤ ${TARGET.e2eP99Ms} ms`,
      e2eHead ? `${ms(e2eHead.p99_ms)} ms (p50 ${ms(e2eHead.p50_ms)} ms)` : failure(e2e[0]?.result),
      e2eHead ? e2eHead.p99_ms <= TARGET.e2eP99Ms : null,
    ],
    [
      "kbin serve accepting connections after start (median)",
      `≤ ${TARGET.acceptMs} ms`,
      startupV ? `${ms(startupV.acceptP50)} ms (p99 ${ms(startupV.acceptP99)} ms)` : String(startup),
      startupV ? startupV.acceptP50 <= TARGET.acceptMs : null,
    ],
    [
      // Idle is the suite's reading 0.5 s after start; startup.ts reads at the first accept.
      "Idle RSS (0.5 s after start, no client yet)",
      `≤ ${TARGET.idleRssMiB} MiB`,
      `${mib(rss.idleKiB)}${startupV ? ` (${nf(startupV.rssMiB, 1)} MiB at the first accepted connection)` : ""}`,
      rss.idleKiB > 0 ? rss.idleKiB / 1024 <= TARGET.idleRssMiB : null,
    ],
  ];

  const repeatsNote = profile.repeats > 1
    ? ` Each figure is the median of ${profile.repeats} runs, with their range in parentheses.`
    : "";
  const L: string[] = [];
  L.push(`## Results: ${mode} run, ${r.started.toISOString().slice(0, 16).replace("T", " ")} UTC`);
  L.push("");
  L.push(
    `Machine: ${machine.cpus} × ${machine.cpuModel}, Linux ${machine.kernel}, ${
      nf(Number(machine.memGiB), 1)
    } GiB RAM, data on ${machine.fs}; load average at start ${r.load}. ${machine.kbinVersion} (git ${machine.git}), ` +
      `\`${relative(ROOT, KBIN)}\`; librdkafka ${machine.librdkafka}. The suite took ${nf(r.elapsedS)} s.`,
  );
  L.push("");
  L.push("### Targets");
  L.push("");
  L.push("| Target | Goal | Measured | |");
  L.push("|---|---|---|---|");
  for (const [name, goal, measured, ok] of targets) L.push(`| ${name} | ${goal} | ${measured} | ${met(ok)} |`);
  L.push("");
  L.push(
    `### Produce: 1 producer, ${PRODUCE_PARTITIONS} partitions, ${profile.seconds} s per run, librdkafka defaults ` +
      "(linger.ms=5, batch.size=1000000)",
  );
  L.push("");
  L.push(
    "| Record | acks | Codec | kbin MB/s | kbin records/s | p50 ms | p99 ms | kbin CPU, RSS | sink MB/s | sink records/s | kbin / sink |",
  );
  L.push("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|");
  for (const c of cases) {
    const k = value(c.kbin);
    const s = value(sinkOf(c));
    const q = ratio(c);
    const reused = c.sink === undefined && s !== null ? " ¹" : "";
    L.push(
      `| ${sizeName(c.size)} | ${c.acks} | ${c.codec} | ${figure(c.kbin, (v) => v.mb_per_s, 1)} | ${
        k ? nf(k.records_per_s) : ""
      } | ${k ? ms(k.p50_ms) : ""} | ${k ? ms(k.p99_ms) : ""} | ${cpuCell(c.kbin)} | ${
        figure(sinkOf(c), (v) => v.mb_per_s, 1)
      }${reused} | ${s ? nf(s.records_per_s) : ""} | ${q === null ? "" : pctf(q)} |`,
    );
  }
  L.push("");
  L.push(
    "MB = 2^20 bytes of record values. Latency is per record, from `produce()` to its delivery report, with up to " +
      "32 MiB queued in the client, so under saturation it is mostly queueing time. kbin CPU is the broker's " +
      `user+system time per wall second (100 % = one core of ${machine.cpus}).${repeatsNote}` +
      (profile.sinkAcks.includes("all") ? "" : " ¹ The sink answers acks=all like acks=1; its acks=1 run is reused."),
  );
  L.push("");
  L.push(
    `### acks=all with group commit: 1 KiB records, batch.size=${GROUP_COMMIT_BATCH_BYTES}, 1 partition, ${profile.seconds} s`,
  );
  L.push("");
  L.push("| Producers | MB/s | records/s | Avg batch | Batches/s | vs disk | kbin CPU, RSS | p50 ms | p99 ms |");
  L.push("|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
  for (const { g, v, batchesPerS, vsDisk } of gcRows) {
    L.push(
      `| ${g.producers} | ${v ? nf(v.mb_per_s, 1) : failure(g.result)} | ${
        figure(g.result, (x) => x.records_per_s, 0)
      } | ${v ? `${nf(v.batch_bytes)} B (${nf(v.batch_records, 1)} rec.)` : ""} | ${
        batchesPerS !== null ? nf(batchesPerS) : ""
      } | ${vsDisk !== null ? `${nf(vsDisk, 2)}×` : ""} | ${cpuCell(g.result)} | ${v ? ms(v.p50_ms) : ""} | ${
        v ? ms(v.p99_ms) : ""
      } |`,
    );
  }
  L.push("");
  const diskText = (m: Measured<DiskResult> | undefined) => {
    const d = value(m);
    return d
      ? `${nf(d.ops_per_s)}/s (${nf(d.mb_per_s, 1)} MB/s, p50 ${ms(d.p50_ms)} ms, p99 ${ms(d.p99_ms)} ms)`
      : failure(m);
  };
  L.push(
    `Disk: 16 KiB append + fdatasync to a growing file on the same filesystem, ${profile.diskSeconds} s right before ` +
      `these runs: ${diskText(disk.before)}; right after: ${diskText(disk.after)}. "vs disk" is produce batches ` +
      "acknowledged per second over the mean of the two. (Page-cache append rate without sync, 1 MiB writes: " +
      `${value(disk.pageCache) ? `${nf(value(disk.pageCache)!.mb_per_s)} MB/s` : failure(disk.pageCache)}.)`,
  );
  L.push("");
  L.push(
    `### Consume: ${
      profile.consumeBytes / MIB
    } MiB backlog of 1 KiB records, ${PRODUCE_PARTITIONS} partitions, from the beginning`,
  );
  L.push("");
  L.push("| MB/s | records/s | Time | First record after | kbin CPU, RSS |");
  L.push("|--:|--:|--:|--:|--:|");
  L.push(
    consumeV
      ? `| ${figure(consume, (v) => v.mb_per_s, 0)} | ${nf(consumeV.records_per_s)} | ${nf(consumeV.seconds, 2)} s | ${
        ms(consumeV.first_record_ms)
      } ms | ${cpuCell(consume)} |`
      : `| ${failure(consume)} | | | | |`,
  );
  L.push("");
  L.push(
    "The backlog was just written, so it is read from the page cache, as a consumer that keeps up would. Time " +
      "counts from the consumer's start (bootstrap and metadata included) to its last record.",
  );
  L.push("");
  L.push(
    `### End to end: ${E2E_SIZE} B records at ${
      nf(E2E_RATE)
    }/s, 1 partition, ${profile.e2eSeconds} s after 1 s of warm-up`,
  );
  L.push("");
  L.push("| Producer settings | acks | Rate | p50 ms | p99 ms | p99.9 ms | max ms | kbin CPU, RSS |");
  L.push("|---|---|--:|--:|--:|--:|--:|--:|");
  for (const e of e2e) {
    const v = value(e.result);
    L.push(
      v
        ? `| ${e.label} | ${e.acks} | ${nf(v.rate)}/s | ${ms(v.p50_ms)} | ${ms(v.p99_ms)} | ${ms(v.p999_ms)} | ${
          ms(v.max_ms)
        } | ${cpuCell(e.result)} |`
        : `| ${e.label} | ${e.acks} | ${failure(e.result)} | | | | | |`,
    );
  }
  L.push("");
  L.push("Latency is the consumer's receive time minus the send time embedded in the record (one process, one clock).");
  L.push("");
  L.push("### Start-up and memory");
  L.push("");
  L.push("| Measure | Value |");
  L.push("|---|--:|");
  if (startupV) {
    L.push(
      `| \`kbin serve\` accepting connections (${profile.startupRuns} runs, empty data dir) | p50 ${
        ms(startupV.acceptP50)
      } ms, p99 ${ms(startupV.acceptP99)} ms |`,
    );
    L.push(`| Ready line printed | p50 ${ms(startupV.readyP50)} ms |`);
    L.push(`| RSS just after start (startup.ts) | ${nf(startupV.rssMiB, 1)} MiB |`);
  } else {
    L.push(`| Start-up | ${startup} |`);
  }
  L.push(`| RSS idle, 0.5 s after start | ${mib(rss.idleKiB)} |`);
  L.push(`| RSS peak during the suite (sampled every 100 ms) | ${mib(rss.peakKiB)} |`);
  L.push(`| RSS 1 s after the last run | ${mib(rss.afterKiB)} |`);
  L.push("");
  L.push("### Commands");
  L.push("");
  L.push(
    `\`bash scripts/bench/run.sh ${mode}\` ran these, with \`$RDKAFKA_BENCH\` = \`.cache/bench/rdkafka_bench\`, ` +
      "`$KBIN` = `kbin serve --listen 127.0.0.1:0 --data-dir $TMP/data --log-level warn`, `$SINK` = " +
      `\`bun scripts/bench/sink.ts --partitions ${PRODUCE_PARTITIONS}\`; each kbin run on a fresh topic ` +
      "(`kbin topic create bench-N -p P`, deleted after the run):",
  );
  L.push("");
  L.push("```sh");
  for (const c of commands) L.push(c);
  L.push("```");
  return L.join("\n");
}

const BEGIN = "<!-- bench:results:begin (written by scripts/bench/run.sh; edit outside these markers) -->";
const END = "<!-- bench:results:end -->";

/** Replaces the results block of the Markdown file, keeping everything around it. */
async function writeReport(path: string, report: string): Promise<void> {
  const old = existsSync(path) ? await readFile(path, "utf8") : "# Benchmarks\n";
  const block = `${BEGIN}\n\n${report}\n\n${END}`;
  const at = old.indexOf(BEGIN);
  const end = old.indexOf(END);
  const text = at >= 0 && end > at
    ? old.slice(0, at) + block + old.slice(end + END.length)
    : `${old.trimEnd()}\n\n${block}\n`;
  await writeFile(path, text);
}

await main();
