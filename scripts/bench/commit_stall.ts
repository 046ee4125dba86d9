/**
 * Commit-stall benchmark: does OffsetCommit-heavy load (a group committing after every message)
 * stall the other connections? It starts `kbin serve` from a kbin tree as a child process, with a
 * fresh data directory on disk (file storage, so SQLite's fsyncs are real), and runs two phases of
 * `--seconds` each. A: one producer connection sends Produce v9 (acks=1, one ~100-byte record per
 * batch), one request at a time, and times every request. B: the same producer while
 * `--committers` other connections each send simple OffsetCommit v8 requests (generation -1, empty
 * member id, one group per connection, one partition) back to back, one in flight per connection.
 * The committers run in a worker thread, so their responses never delay the producer's timing.
 * The report (Markdown, on stdout) gives per phase the producer's request count, p50/p99/p99.9/max
 * latency, the commits per second and the errors, then the ratio of B's p99 to A's. A broker that
 * fsyncs each commit on its event loop shows a large ratio; one that commits asynchronously
 * should stay near 1. Progress goes to stderr.
 *
 * Usage: bun scripts/bench/commit_stall.ts [--kbin-root DIR] [--seconds N] [--committers N]
 *   --kbin-root DIR  the kbin tree whose broker is measured (default: this one), e.g. a worktree
 *                    of an older commit (`git worktree add /tmp/kbin-old REV` and a node_modules
 *                    symlink) for before/after numbers; the protocol codecs come from this tree
 *   --seconds N      length of each phase (default 10)
 *   --committers N   committing connections in phase B (default 4)
 * The data directory is made under TMPDIR (default /tmp): it must be on a real disk, not tmpfs.
 * Every request is capped at 10 s: a timed-out request counts as an error, its connection is
 * reopened, and its time (at least 10 s) stays in the latencies. Everything is on 127.0.0.1.
 * On a shared VM the numbers swing from run to run: alternate the two trees and compare.
 *
 * @module
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { PRODUCE_API } from "../../src/protocol/generated/00_produce.ts";
import { OFFSET_COMMIT_API } from "../../src/protocol/generated/08_offset_commit.ts";
import { CREATE_TOPICS_API } from "../../src/protocol/generated/19_create_topics.ts";
import type { ApiDescriptor } from "../../src/protocol/generated/api_keys.ts";
import { errorName } from "../../src/protocol/generated/errors.ts";
import { decodeResponseHeader, encodeRequestHeader } from "../../src/protocol/generated/headers.ts";
import { Reader } from "../../src/protocol/reader.ts";
import { buildBatch } from "../../src/protocol/records/records.ts";
import type { Input } from "../../src/protocol/types.ts";
import { Writer } from "../../src/protocol/writer.ts";

const REQUEST_TIMEOUT_MS = 10_000;
const PRODUCE_VERSION = 9;
const COMMIT_VERSION = 8;
const CREATE_TOPICS_VERSION = 5;
const PRODUCE_TOPIC = "bench-produce";
const COMMIT_TOPIC = "bench-commits";
const TOPIC_ALREADY_EXISTS = 36;
const VALUE = new Uint8Array(100).fill(0x61);

/** What the committer worker is given. */
interface CommitterSetup {
  port: number;
  committers: number;
}

/** What the committer worker reports when stopped. */
interface CommitterResult {
  commits: number;
  errors: number;
  errorNames: Record<string, number>;
  elapsedMs: number;
  latencies: Latencies;
}

/** A latency summary in milliseconds. */
interface Latencies {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

class RequestTimeout extends Error {}

/** One Kafka connection to 127.0.0.1 with one request in flight at a time. */
class KafkaConn {
  #socket: Socket;
  #buf: Buffer = Buffer.alloc(0);
  #nextCorrelationId = 1;
  #closed = false;
  #waiter: { resolve: (frame: Uint8Array) => void; reject: (err: Error) => void } | null = null;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on("data", (d: Buffer) => {
      this.#buf = this.#buf.length === 0 ? d : Buffer.concat([this.#buf, d]);
      this.#deliver();
    });
    socket.on("close", () => {
      this.#closed = true;
      this.#fail(new Error("connection closed by the broker"));
    });
    socket.on("error", (err) => this.#fail(err));
  }

  static open(port: number): Promise<KafkaConn> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new RequestTimeout(`Cannot connect to 127.0.0.1:${port}: no answer in ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      socket.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve(new KafkaConn(socket));
      });
    });
  }

  #deliver(): void {
    if (this.#waiter === null || this.#buf.length < 4) return;
    const size = this.#buf.readInt32BE(0);
    if (this.#buf.length < 4 + size) return;
    const frame = new Uint8Array(this.#buf.subarray(4, 4 + size));
    this.#buf = this.#buf.subarray(4 + size);
    const w = this.#waiter;
    this.#waiter = null;
    w.resolve(frame);
  }

  #fail(err: Error): void {
    const w = this.#waiter;
    this.#waiter = null;
    w?.reject(err);
  }

  /** Sends one request and decodes its response; rejects after REQUEST_TIMEOUT_MS (and closes). */
  async request<Req, Res>(api: ApiDescriptor<Req, Res>, version: number, body: Input<Req>): Promise<Res> {
    if (this.#closed) throw new Error("connection closed by the broker");
    const correlationId = this.#nextCorrelationId++;
    const w = new Writer(256);
    encodeRequestHeader(w, api.requestHeaderVersion(version), {
      requestApiKey: api.apiKey,
      requestApiVersion: version,
      correlationId,
      clientId: "commit-stall",
    });
    api.encodeRequest(w, version, body);
    const payload = w.toBytes();
    const framed = new Uint8Array(4 + payload.length);
    new DataView(framed.buffer).setInt32(0, payload.length);
    framed.set(payload, 4);
    const frame = await new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = null;
        this.close();
        reject(new RequestTimeout(`${api.name} v${version}: no response in ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      this.#waiter = {
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.#socket.write(framed);
      this.#deliver();
    });
    const r = new Reader(frame);
    const header = decodeResponseHeader(r, api.responseHeaderVersion(version));
    if (header.correlationId !== correlationId) {
      this.close();
      throw new Error(`${api.name}: correlation id ${header.correlationId}, expected ${correlationId}`);
    }
    return api.decodeResponse(r, version);
  }

  close(): void {
    this.#closed = true;
    this.#socket.destroy();
  }
}

/** Counts failures by name (Kafka error names, "TIMEOUT", "CONNECTION"). */
class ErrorCounter {
  total = 0;
  byName: Record<string, number> = {};
  add(name: string): void {
    this.total++;
    this.byName[name] = (this.byName[name] ?? 0) + 1;
  }
}

function summarize(ms: number[]): Latencies {
  const sorted = Float64Array.from(ms).sort();
  const at = (q: number) =>
    sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), p999: at(0.999), max: at(1) };
}

/**
 * Runs `send` on a connection back to back until `running()` is false, one request in flight,
 * reopening the connection after a timeout or a closed connection. Records each request's time.
 */
async function loop(
  port: number,
  running: () => boolean,
  send: (conn: KafkaConn, i: number) => Promise<number[]>,
  out: { latenciesMs: number[]; errors: ErrorCounter },
): Promise<void> {
  let conn: KafkaConn | null = null;
  for (let i = 0; running(); i++) {
    const started = performance.now();
    try {
      conn ??= await KafkaConn.open(port);
      const codes = await send(conn, i);
      out.latenciesMs.push(performance.now() - started);
      for (const code of codes) if (code !== 0) out.errors.add(errorName(code));
    } catch (err) {
      if (err instanceof RequestTimeout) out.latenciesMs.push(performance.now() - started);
      out.errors.add(err instanceof RequestTimeout ? "TIMEOUT" : "CONNECTION");
      conn?.close();
      conn = null;
      // A refused or reset connection fails at once: do not spin.
      if (!(err instanceof RequestTimeout)) await new Promise((r) => setTimeout(r, 100));
    }
  }
  conn?.close();
}

async function produce(conn: KafkaConn): Promise<number[]> {
  const res = await conn.request(PRODUCE_API, PRODUCE_VERSION, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 5000,
    topicData: [{ name: PRODUCE_TOPIC, partitionData: [{ index: 0, records: buildBatch([{ value: VALUE }]) }] }],
  });
  return res.responses.flatMap((t) => t.partitionResponses.map((p) => p.errorCode));
}

function commit(group: string) {
  return async (conn: KafkaConn, i: number): Promise<number[]> => {
    const res = await conn.request(OFFSET_COMMIT_API, COMMIT_VERSION, {
      groupId: group,
      generationIdOrMemberEpoch: -1,
      memberId: "",
      groupInstanceId: null,
      topics: [{
        name: COMMIT_TOPIC,
        partitions: [{
          partitionIndex: 0,
          committedOffset: BigInt(i + 1),
          committedLeaderEpoch: -1,
          committedMetadata: "",
        }],
      }],
    });
    return res.topics.flatMap((t) => t.partitions.map((p) => p.errorCode));
  };
}

/** Worker thread: the committers. "go" starts them, "stop" ends them and posts a CommitterResult. */
async function committerWorker(setup: CommitterSetup): Promise<void> {
  const port = parentPort!;
  let running = true;
  const out = { latenciesMs: [] as number[], errors: new ErrorCounter() };
  const go = new Promise<void>((resolve) =>
    port.on("message", (m: string) => {
      if (m === "go") resolve();
      if (m === "stop") running = false;
    })
  );
  port.postMessage("ready");
  await go;
  const started = performance.now();
  await Promise.all(
    Array.from(
      { length: setup.committers },
      (_, c) => loop(setup.port, () => running, commit(`bench-group-${c}`), out),
    ),
  );
  const result: CommitterResult = {
    commits: out.latenciesMs.length,
    errors: out.errors.total,
    errorNames: out.errors.byName,
    elapsedMs: performance.now() - started,
    latencies: summarize(out.latenciesMs),
  };
  port.postMessage(result);
  port.close();
}

/** A running broker child process. */
interface Broker {
  port: number;
  child: ChildProcess;
  log(): string;
  stop(): Promise<void>;
}

async function startBroker(root: string, dataDir: string): Promise<Broker> {
  const child = spawn(process.execPath, [
    join(root, "src/runtime/bun/main.ts"),
    "serve",
    "--data-dir",
    dataDir,
    "--listen",
    "127.0.0.1:0",
  ], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  // Keep only the end of the log, for error messages; the pipe must be drained in any case.
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`Cannot start the broker: not ready after 30 s\n${stderr}`)),
      30_000,
    );
    child.stdout!.on("data", (d: Buffer) => {
      stdout = (stdout + d.toString()).slice(-8000);
      const m = /ready on \S+:(\d+)/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`Cannot start the broker: it exited with ${child.exitCode ?? child.signalCode}\n${stderr}`));
    });
  });
  return {
    port,
    child,
    log: () => stderr,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function createTopics(port: number): Promise<void> {
  const conn = await KafkaConn.open(port);
  try {
    const res = await conn.request(CREATE_TOPICS_API, CREATE_TOPICS_VERSION, {
      topics: [PRODUCE_TOPIC, COMMIT_TOPIC].map((name) => ({
        name,
        numPartitions: 1,
        replicationFactor: -1,
        assignments: [],
        configs: [],
      })),
      timeoutMs: 10_000,
      validateOnly: false,
    });
    for (const t of res.topics) {
      if (t.errorCode !== 0 && t.errorCode !== TOPIC_ALREADY_EXISTS) {
        throw new Error(`Cannot create topic "${t.name}": ${errorName(t.errorCode)} ${t.errorMessage ?? ""}`);
      }
    }
  } finally {
    conn.close();
  }
}

/** Runs the producer for `seconds`; returns its latencies and errors. */
async function producePhase(port: number, seconds: number) {
  const out = { latenciesMs: [] as number[], errors: new ErrorCounter() };
  const end = performance.now() + seconds * 1000;
  const started = performance.now();
  await loop(port, () => performance.now() < end, produce, out);
  return { ...out, elapsedMs: performance.now() - started };
}

function gitRev(root: string): string {
  const rev = spawnSync("git", ["-C", root, "rev-parse", "--short", "HEAD"], { encoding: "utf8" });
  if (rev.status !== 0) return "unknown (not a git tree)";
  const dirty = spawnSync("git", ["-C", root, "status", "--porcelain", "--untracked-files=no", "--", "src"], {
    encoding: "utf8",
  });
  return rev.stdout.trim() + (dirty.stdout.trim() === "" ? "" : " + uncommitted changes in src/");
}

function ms(v: number): string {
  return Number.isNaN(v) ? "–" : v.toFixed(2);
}

function errorsCell(total: number, byName: Record<string, number>): string {
  if (total === 0) return "0";
  return `${total} (${Object.entries(byName).map(([k, v]) => `${k} ${v}`).join(", ")})`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      "kbin-root": { type: "string" },
      seconds: { type: "string", default: "10" },
      committers: { type: "string", default: "4" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log("Usage: bun scripts/bench/commit_stall.ts [--kbin-root DIR] [--seconds N] [--committers N]");
    return 0;
  }
  const root = resolve(values["kbin-root"] ?? fileURLToPath(new URL("../..", import.meta.url)));
  const seconds = Number(values.seconds);
  const committers = Number(values.committers);
  if (!(seconds > 0)) throw new RangeError(`Cannot run: --seconds must be > 0, got "${values.seconds}"`);
  if (!Number.isInteger(committers) || committers < 1) {
    throw new RangeError(`Cannot run: --committers must be an integer >= 1, got "${values.committers}"`);
  }
  if (!existsSync(join(root, "src/runtime/bun/main.ts"))) {
    throw new Error(`Cannot run: "${root}" is not a kbin tree (no src/runtime/bun/main.ts)`);
  }
  const rev = gitRev(root);
  const dataDir = await mkdtemp(join(tmpdir(), "kbin-commit-stall-"));
  let broker: Broker | null = null;
  const cleanUp = async () => {
    await broker?.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
  const onSignal = () => void cleanUp().finally(() => process.exit(130));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    console.error(`commit_stall: starting the broker from ${root} (data in ${dataDir})`);
    broker = await startBroker(root, dataDir);
    await createTopics(broker.port);

    // Warm-up, not measured: JIT, segment files, the first commits' SQLite pages.
    console.error("commit_stall: warming up (1 s)");
    const warm = { latenciesMs: [] as number[], errors: new ErrorCounter() };
    const warmEnd = performance.now() + 1000;
    await Promise.all([
      loop(broker.port, () => performance.now() < warmEnd, produce, warm),
      loop(broker.port, () => performance.now() < warmEnd, commit("bench-warm-up"), warm),
    ]);
    if (warm.errors.total > 0) {
      console.error(`commit_stall: warm-up errors: ${errorsCell(warm.errors.total, warm.errors.byName)}`);
    }

    console.error(`commit_stall: phase A, producer alone (${seconds} s)`);
    const a = await producePhase(broker.port, seconds);

    console.error(`commit_stall: phase B, producer and ${committers} committers (${seconds} s)`);
    const worker = new Worker(fileURLToPath(import.meta.url), {
      workerData: { port: broker.port, committers } satisfies CommitterSetup,
    });
    const messages: unknown[] = [];
    let wake: (() => void) | null = null;
    worker.on("message", (m: unknown) => {
      messages.push(m);
      wake?.();
    });
    worker.on("error", (err) => {
      messages.push(err);
      wake?.();
    });
    const next = async (): Promise<unknown> => {
      while (messages.length === 0) await new Promise<void>((r) => (wake = r));
      const m = messages.shift();
      if (m instanceof Error) throw m;
      return m;
    };
    if ((await next()) !== "ready") throw new Error("Cannot start the committers: unexpected worker message");
    worker.postMessage("go");
    await new Promise((r) => setTimeout(r, 250)); // let the committers reach a steady state
    const b = await producePhase(broker.port, seconds);
    worker.postMessage("stop");
    const c = (await next()) as CommitterResult;
    await worker.terminate();

    const sa = summarize(a.latenciesMs);
    const sb = summarize(b.latenciesMs);
    const lines = [
      `## Commit stall: producer latency with and without OffsetCommit load`,
      "",
      `kbin root: ${root}  `,
      `git rev: ${rev}  `,
      `Bun ${process.versions["bun"] ?? "?"}, ${seconds} s per phase, ${committers} committers, ` +
      `Produce v${PRODUCE_VERSION} acks=1 (one ${VALUE.length}-byte record), OffsetCommit v${COMMIT_VERSION}, ` +
      `data dir under ${tmpdir()}`,
      "",
      "| phase | producer requests | p50 ms | p99 ms | p99.9 ms | max ms | commits/s | errors |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
      `| A: producer alone | ${sa.count} | ${ms(sa.p50)} | ${ms(sa.p99)} | ${ms(sa.p999)} | ${ms(sa.max)} | 0 | ` +
      `${errorsCell(a.errors.total, a.errors.byName)} |`,
      `| B: producer + ${committers} committers | ${sb.count} | ${ms(sb.p50)} | ${ms(sb.p99)} | ${ms(sb.p999)} | ` +
      `${ms(sb.max)} | ${(c.commits / (c.elapsedMs / 1000)).toFixed(0)} | ` +
      `producer ${errorsCell(b.errors.total, b.errors.byName)}; commits ${errorsCell(c.errors, c.errorNames)} |`,
      "",
      `p99 ratio B/A: ${(sb.p99 / sa.p99).toFixed(2)}×  `,
      `OffsetCommit latency in B: p50 ${ms(c.latencies.p50)} ms, p99 ${ms(c.latencies.p99)} ms, ` +
      `max ${ms(c.latencies.max)} ms (${c.commits} commits)`,
    ];
    console.log(lines.join("\n"));
    const failed = a.errors.total + b.errors.total + c.errors;
    if (failed > 0) {
      console.error(`commit_stall: ${failed} failed requests; the broker's log ends with:\n${broker.log()}`);
    }
    return failed > 0 ? 1 : 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await cleanUp();
  }
}

if (isMainThread) {
  try {
    process.exitCode = await main();
  } catch (err) {
    console.error(`commit_stall: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
} else {
  await committerWorker(workerData as CommitterSetup);
}
