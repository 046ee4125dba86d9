/**
 * Long-running fuzzer for every decoder kbin runs on untrusted bytes: the generated request,
 * response and header codecs at every version, record batches, legacy message sets, the
 * decompressors and frame splitting (targets in `tests/hostile/fuzz/`). The suite runs a fixed
 * budget of the same cases (`tests/hostile/decoder_fuzz_test.ts`); this runs for as long as
 * asked, with a random seed unless given one.
 *
 *     bun scripts/fuzz.ts [--seconds 60] [--seed S] [--api KEY] [--case-ms 1000] [--hang-ms 15000]
 *     bun scripts/fuzz.ts --seed S --replay 'Produce v9 request#12#340'
 *
 * `--api` takes an API key (0: the Produce codecs, record batches and message sets) or a group
 * name ("Metadata", "lz4", "Records", "MessageSet", "RequestHeader", "Frames"). Cases run in a
 * worker thread, watched by this one: a case that never returns is reported as a hang with its
 * input. Prints cases per second per group and overall; on a failure prints the seed, target
 * (API key and version), round, case and the input's hex, and exits 1.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import {
  AllocationGuard,
  allTargets,
  checkCase,
  failureOf,
  formatFailure,
  type FuzzFailure,
  loadNativeCodecs,
  runRound,
  type Target,
  toHex,
} from "../tests/hostile/fuzz/mod.ts";

interface Settings {
  seconds: number;
  seed: number;
  api: string | null;
  caseMs: number;
  hangMs: number;
}

/** Heartbeat slots shared with the worker. */
const BEAT = 0;
const TARGET = 1;
const ROUND = 2;
const CASE = 3;

type Stats = Record<string, { cases: number; ms: number }>;
type WorkerMessage =
  | { kind: "stats"; stats: Stats; done: boolean }
  | { kind: "failure"; failure: FuzzFailure; stats: Stats };

function selectTargets(targets: Target[], api: string | null): Target[] {
  if (api === null) return targets;
  const key = /^\d+$/.test(api) ? Number(api) : null;
  const name = api.toLowerCase();
  const picked = targets.filter((t) =>
    key !== null ? t.apiKey === key : t.group.toLowerCase() === name || t.group.toLowerCase() === `${name} response`
  );
  if (picked.length === 0) throw new RangeError(`Cannot fuzz --api "${api}": no target matches`);
  return picked;
}

async function loadTargets(api: string | null): Promise<Target[]> {
  return selectTargets(allTargets({ native: await loadNativeCodecs() }), api);
}

// ---------------------------------------------------------------------------------------------
// Worker: runs rounds until the deadline, beating the heart before every case.

async function work(settings: Settings, shared: Int32Array): Promise<void> {
  const targets = await loadTargets(settings.api);
  const guard = new AllocationGuard();
  guard.install();
  const stats: Stats = {};
  const deadline = performance.now() + settings.seconds * 1000;
  let lastReport = performance.now();
  // Each pass runs every target; the produce path and served versions get more rounds per pass.
  for (let pass = 0; performance.now() < deadline; pass++) {
    for (let t = 0; t < targets.length && performance.now() < deadline; t++) {
      const target = targets[t]!;
      const weight = target.weight ?? 1;
      for (let k = 0; k < weight; k++) {
        const round = pass * weight + k;
        Atomics.store(shared, TARGET, t);
        Atomics.store(shared, ROUND, round);
        const start = performance.now();
        const result = runRound(target, {
          seed: settings.seed,
          round,
          caseTimeMs: settings.caseMs,
          guard,
          onCase: (i) => {
            Atomics.store(shared, CASE, i);
            Atomics.add(shared, BEAT, 1);
          },
        });
        const s = (stats[target.group] ??= { cases: 0, ms: 0 });
        s.cases += result.cases;
        s.ms += performance.now() - start;
        if (result.failure) {
          parentPort!.postMessage({ kind: "failure", failure: result.failure, stats } satisfies WorkerMessage);
          return;
        }
      }
      if (performance.now() - lastReport > 1000) {
        lastReport = performance.now();
        parentPort!.postMessage({ kind: "stats", stats, done: false } satisfies WorkerMessage);
      }
    }
  }
  parentPort!.postMessage({ kind: "stats", stats, done: true } satisfies WorkerMessage);
}

// ---------------------------------------------------------------------------------------------
// Main thread: starts the worker, watches its heartbeat, prints.

function printStats(stats: Stats, elapsedMs: number): void {
  const rows = Object.entries(stats).sort((a, b) => b[1].cases - a[1].cases);
  let cases = 0;
  let busyMs = 0;
  console.log(`${"group".padEnd(36)} ${"cases".padStart(10)} ${"cases/s".padStart(10)}`);
  for (const [group, s] of rows) {
    cases += s.cases;
    busyMs += s.ms;
    const rate = s.ms > 0 ? Math.round((s.cases / s.ms) * 1000) : 0;
    console.log(`${group.padEnd(36)} ${String(s.cases).padStart(10)} ${String(rate).padStart(10)}`);
  }
  const overall = Math.round((cases / Math.max(elapsedMs, 1)) * 1000);
  console.log(
    `${"overall".padEnd(36)} ${String(cases).padStart(10)} ${String(overall).padStart(10)}` +
      ` (${(elapsedMs / 1000).toFixed(1)} s wall, ${(busyMs / 1000).toFixed(1)} s in rounds)`,
  );
}

async function replay(settings: Settings, spec: string): Promise<number> {
  const [id, roundText, caseText] = spec.split("#");
  const targets = await loadTargets(null);
  const target = targets.find((t) => t.id === id);
  if (!target || roundText === undefined || caseText === undefined) {
    console.error(`Cannot replay "${spec}": expected '<target id>#<round>#<case>' with a known target id`);
    return 2;
  }
  const round = Number(roundText);
  const index = Number(caseText);
  const cases = target.round(settings.seed, round);
  const c = cases[index];
  if (c === undefined) {
    console.error(`Cannot replay "${spec}": round ${round} has ${cases.length} cases`);
    return 2;
  }
  console.log(`${target.id}, seed ${settings.seed}, round ${round}, case ${index} (${c.strategy})`);
  console.log(`input (${c.bytes.length} bytes): ${toHex(c.bytes)}`);
  const guard = new AllocationGuard();
  guard.install();
  const reason = checkCase(target, c, { caseTimeMs: settings.caseMs, guard });
  guard.uninstall();
  console.log(reason === null ? "passes" : `fails: ${reason}`);
  return reason === null ? 0 : 1;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seconds: { type: "string", default: "60" },
      seed: { type: "string" },
      api: { type: "string" },
      replay: { type: "string" },
      "case-ms": { type: "string", default: "1000" },
      "hang-ms": { type: "string", default: "15000" },
    },
  });
  const settings: Settings = {
    seconds: Number(values.seconds),
    seed: values.seed === undefined ? Math.floor(Math.random() * 2 ** 32) : Number(values.seed) >>> 0,
    api: values.api ?? null,
    caseMs: Number(values["case-ms"]),
    hangMs: Number(values["hang-ms"]),
  };
  if (values.replay !== undefined) return await replay(settings, values.replay);
  const targets = await loadTargets(settings.api);
  console.log(
    `Fuzzing ${targets.length} targets for ${settings.seconds} s with seed ${settings.seed}` +
      (settings.api ? ` (--api ${settings.api})` : ""),
  );
  const shared = new Int32Array(new SharedArrayBuffer(16));
  const started = performance.now();
  const worker = new Worker(new URL(import.meta.url), { workerData: { settings, shared } });
  return await new Promise<number>((resolve) => {
    let stats: Stats = {};
    let lastBeat = -1;
    let lastChange = performance.now();
    let lastPrint = performance.now();
    const finish = (code: number) => {
      clearInterval(watch);
      worker.terminate();
      printStats(stats, performance.now() - started);
      resolve(code);
    };
    const watch = setInterval(() => {
      const beat = Atomics.load(shared, BEAT);
      if (beat !== lastBeat) {
        lastBeat = beat;
        lastChange = performance.now();
      } else if (performance.now() - lastChange > settings.hangMs) {
        const target = targets[Atomics.load(shared, TARGET)]!;
        const round = Atomics.load(shared, ROUND);
        const index = Atomics.load(shared, CASE);
        const c = target.round(settings.seed, round)[index] ?? null;
        const reason = `hang: no progress for ${settings.hangMs} ms`;
        console.error(formatFailure(failureOf(target, { seed: settings.seed, round, index, reason, case: c })));
        finish(1);
      }
      if (performance.now() - lastPrint > 10_000) {
        lastPrint = performance.now();
        const cases = Object.values(stats).reduce((n, s) => n + s.cases, 0);
        console.log(`  ${((performance.now() - started) / 1000).toFixed(0)} s: ${cases} cases`);
      }
    }, 250);
    worker.on("message", (m: WorkerMessage) => {
      stats = m.stats;
      if (m.kind === "failure") {
        console.error(formatFailure(m.failure));
        finish(1);
      } else if (m.done) finish(0);
    });
    worker.on("error", (e) => {
      console.error(`Fuzz worker failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      finish(1);
    });
  });
}

if (isMainThread) {
  process.exit(await main());
} else {
  const { settings, shared } = workerData as { settings: Settings; shared: Int32Array };
  await work(settings, shared);
}
