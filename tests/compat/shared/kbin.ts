/**
 * Small helpers the real-client suites share: creating topics with kbin's CLI, running a driver
 * program that speaks JSON, and waiting on a condition with a deadline.
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrokerProcess, BUN, MAIN } from "../../support/broker_process.ts";
import { clientMissing } from "../../support/skips.ts";
import { fromWire, type ReadRecord, type WireRecord } from "./records.ts";

/** What {@link run} resolves with. */
export interface RunResult {
  code: number | null;
  /** The signal that ended the process, if one did. */
  signal: string | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to completion. Unlike `tests/support/broker_process.ts`'s `run`, output is
 * decoded once at the end, so a multi-byte UTF-8 character split across two pipe reads stays whole,
 * and a timeout fails with the output's tail only.
 */
export function run(
  cmd: string,
  args: string[],
  options: { input?: string | Uint8Array; env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, ...options.env },
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    const timeoutMs = options.timeoutMs ?? 60_000;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      const tail = (b: Buffer[]) => Buffer.concat(b).toString("utf8").slice(-1500);
      reject(new Error(`${cmd} ${args.join(" ")} timed out after ${timeoutMs} ms\n${tail(out)}\n${tail(err)}`));
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
    child.stdin.on("error", () => {}); // the child may exit without reading everything
    child.stdin.end(options.input ?? "");
  });
}

/** Creates a topic with `kbin topic create NAME -p N [-c k=v]…`; fails the test if the CLI fails. */
export async function createTopic(
  broker: BrokerProcess,
  name: string,
  options: { partitions?: number; configs?: Record<string, string> } = {},
): Promise<void> {
  const args = [MAIN, "topic", "create", name, "-p", String(options.partitions ?? 3), "-b", broker.bootstrap];
  for (const [k, v] of Object.entries(options.configs ?? {})) args.push("-c", `${k}=${v}`);
  const r = await run(BUN, args);
  assert.equal(r.code, 0, `kbin topic create ${name} exited with ${r.code}:\n${r.stderr}`);
}

/**
 * Runs a driver that reads one JSON document on stdin and prints one JSON document on stdout.
 * Fails with the driver's stderr (and the broker's log tail) when it exits non-zero or prints no JSON.
 * `KBIN_COMPAT_VERBOSE=1` prints the driver's stderr (its per-operation timings) every time.
 */
export async function runJsonDriver<T>(
  cmd: string,
  args: string[],
  input: unknown,
  options: { broker?: BrokerProcess; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<T> {
  const r = await run(cmd, args, {
    input: JSON.stringify(input),
    timeoutMs: options.timeoutMs ?? 60_000,
    ...(options.env ? { env: options.env } : {}),
  });
  if (process.env.KBIN_COMPAT_VERBOSE) console.error(`${cmd} ${args.join(" ")}:\n${r.stderr}`);
  const brokerTail = options.broker ? `\nbroker log (tail):\n${options.broker.log().slice(-3000)}` : "";
  assert.equal(r.code, 0, `${cmd} ${args.join(" ")} exited with ${r.code}:\n${r.stderr.slice(-6000)}${brokerTail}`);
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    assert.fail(`${cmd} printed no JSON:\n${r.stdout.slice(0, 2000)}\n${r.stderr.slice(-4000)}${brokerTail}`);
  }
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Debian's Python: the one interpreter that sees Debian's client packages (another python3
 * comes first on PATH here).
 */
export const PYTHON = "/usr/bin/python3";

/** The Debian package that provides each Python module the suites import. */
const PYTHON_PACKAGES: Record<string, string> = {
  confluent_kafka: "python3-confluent-kafka",
  kafka: "python3-kafka",
  snappy: "python3-snappy",
  lz4: "python3-lz4",
  zstandard: "python3-zstandard",
  prometheus_client: "python3-prometheus-client",
};

/**
 * Why {@link PYTHON} cannot import every one of `modules` (a skip reason), or false. Decided by
 * `clientMissing()` (tests/support/skips.ts): call it once, at the top level of a test file; under
 * `CI=true` a missing module fails the run.
 */
export function pythonMissing(...modules: string[]): string | false {
  if (spawnSync(PYTHON, ["-c", `import ${modules.join(", ")}`]).status === 0) return false;
  const failing = modules.filter((m) => spawnSync(PYTHON, ["-c", `import ${m}`]).status !== 0);
  const absent = failing.length > 0 ? failing : modules;
  const packages = absent.map((m) => PYTHON_PACKAGES[m] ?? m).join(", ");
  return clientMissing(
    packages,
    `${PYTHON} cannot import ${absent.join(", ")} (scripts/install_test_deps.sh installs ${packages})`,
  );
}

/**
 * Why kcat cannot run here (a skip reason), or false. Decided by `clientMissing()`
 * (tests/support/skips.ts): call it once, at the top level of a test file.
 */
export function kcatMissing(): string | false {
  return clientMissing(
    "kcat",
    spawnSync("kcat", ["-V"]).error ? "kcat is not installed (scripts/install_test_deps.sh installs it)" : false,
  );
}

/** confluent-kafka's JSON driver (`tests/compat/confluent_kafka/log_client.py`). */
const CONFLUENT_DRIVER = fileURLToPath(new URL("../confluent_kafka/log_client.py", import.meta.url));

/**
 * Runs operations through confluent-kafka's JSON driver (librdkafka), so a suite can check what
 * another client wrote or write what another client reads. Fails on any exception it reports.
 * @param ops the driver's operations (`produce`, `consume`, …; see log_client.py)
 * @returns one result per operation
 */
export async function runConfluent<T>(broker: BrokerProcess, ops: Record<string, unknown>[]): Promise<T[]> {
  const out = await runJsonDriver<{ results: (T & { exception?: string })[] }>(
    PYTHON,
    [CONFLUENT_DRIVER],
    { bootstrap: broker.bootstrap, ops },
    { broker },
  );
  for (const r of out.results) assert.equal(r.exception, undefined, String(r.exception));
  return out.results;
}

/**
 * Reads `partitions` of `topic` from the start with confluent-kafka. Fails on any error it reports.
 * @returns the records, sorted by partition and offset
 */
export async function readWithConfluent(
  broker: BrokerProcess,
  topic: string,
  partitions: number[],
): Promise<ReadRecord[]> {
  const [r] = await runConfluent<{ records: WireRecord[]; errors: unknown[] }>(broker, [
    { op: "consume", topic, partitions },
  ]);
  assert.deepEqual(r!.errors, []);
  return fromWire(r!.records).sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

/**
 * Follows a child's stdout of one JSON event per line: each parsed line goes to `onEvent`, a line
 * that is not JSON as `{ ev: "stdout", t, str }`. Calls `onChunk` after each chunk's lines.
 */
export function followJsonLines<E>(
  stdout: NodeJS.ReadableStream,
  onEvent: (event: E) => void,
  onChunk: () => void = () => {},
): void {
  let partial = "";
  stdout.on("data", (d: Buffer) => {
    partial += d.toString();
    const lines = partial.split("\n");
    partial = lines.pop()!;
    for (const line of lines) {
      if (line.trim() === "") continue;
      try {
        onEvent(JSON.parse(line) as E);
      } catch {
        onEvent({ ev: "stdout", t: Date.now(), str: line } as E);
      }
    }
    onChunk();
  });
}

/** Where Debian puts Go library sources (golang-*-dev packages). */
export const DEBIAN_GOPATH = "/usr/share/gocode";

/**
 * Why Go drivers cannot run here, or false: `go` missing, or the library's sources missing.
 * Decided by `clientMissing()` (tests/support/skips.ts): call it once, at the top level of a test
 * file; under `CI=true` a missing one fails the run.
 */
export function goMissing(library: string, debianPackage: string): string | false {
  if (spawnSync("go", ["version"]).error) {
    return clientMissing("golang-go", "go is not installed (scripts/install_test_deps.sh installs golang-go)");
  }
  if (!existsSync(join(DEBIAN_GOPATH, "src", library))) {
    return clientMissing(
      debianPackage,
      `${library} is not in ${DEBIAN_GOPATH} (scripts/install_test_deps.sh installs ${debianPackage})`,
    );
  }
  return false;
}

/**
 * Builds the Go program in `dir` (GOPATH mode against Debian's sources, GOPROXY=off so it never
 * reaches the network) once per version of its sources and of Go, and returns the binary's path.
 * Binaries and Go's build cache live under the temp dir, so later runs skip the build.
 */
export async function buildGoDriver(dir: string, name: string): Promise<string> {
  const hash = createHash("sha256").update(spawnSync("go", ["version"]).stdout);
  for (const f of readdirSync(dir).filter((f) => f.endsWith(".go")).sort()) {
    hash.update(f).update(readFileSync(join(dir, f)));
  }
  const cache = join(tmpdir(), "kbin-compat-cache");
  const bin = join(cache, `${name}-${hash.digest("hex").slice(0, 16)}`);
  if (existsSync(bin)) return bin;
  mkdirSync(cache, { recursive: true });
  const partial = `${bin}.${process.pid}.partial`;
  const r = await run("go", ["build", "-o", partial, "."], {
    cwd: dir,
    timeoutMs: 180_000,
    env: { GOPATH: DEBIAN_GOPATH, GO111MODULE: "off", GOFLAGS: "", GOPROXY: "off", GOCACHE: join(cache, "go-build") },
  });
  assert.equal(r.code, 0, `go build of ${dir} failed:\n${r.stderr}`);
  renameSync(partial, bin);
  return bin;
}

/**
 * Results of a JSON driver's plan by operation name: `set` stores them, `get` returns one and
 * fails the test when it is missing or the driver reported an exception for it.
 */
export class DriverResults {
  readonly #byName = new Map<string, unknown>();

  /** Stores results in the order of the named operations that produced them. */
  setAll(names: readonly string[], results: readonly unknown[]): void {
    names.forEach((name, i) => this.#byName.set(name, results[i]));
  }

  get<T>(name: string): T {
    const r = this.#byName.get(name) as T & { exception?: string };
    assert.ok(r, `no result for ${name}`);
    assert.equal(r.exception, undefined, `${name} failed: ${r.exception}`);
    return r;
  }
}

/** Awaits a promise that must reject and returns what it rejected with. */
export async function rejection(p: Promise<unknown>): Promise<Record<string, any>> {
  try {
    const value = await p;
    assert.fail(`expected a rejection, got ${JSON.stringify(value)}`);
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    return err as Record<string, any>;
  }
}
