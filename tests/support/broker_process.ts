/**
 * Starts `kbin serve` as a child process for end-to-end tests and waits for its ready line.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { postgresBinDir, sharedPostgres } from "./postgres.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
/** The Bun binary installed by npm. */
export const BUN = join(ROOT, "node_modules/.bin/bun");
/** The CLI entry point run from source. */
export const MAIN = join(ROOT, "src/runtime/bun/main.ts");
/** The embedded broker (mod.ts's `startBroker()`, on `memory:`) as a child process. */
export const EMBEDDED = join(ROOT, "tests/support/embedded_broker.ts");

/** A broker running in a child process. */
export interface BrokerProcess {
  readonly bootstrap: string;
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly child: ChildProcess;
  /** Everything written to stderr so far (the broker's log). */
  log(): string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Stops the broker (if running) and removes the data directory unless it was given. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options for {@link startBrokerProcess}. */
export interface BrokerProcessOptions {
  /** Extra `kbin serve` arguments. */
  args?: string[];
  /** Use this data directory (kept afterwards); default a fresh temp dir (removed). */
  dataDir?: string;
  /**
   * A storage URL (`kbin serve --storage URL`) instead of `--data-dir`; the test owns what it
   * names. See {@link PERSISTENT_ENGINES}.
   */
  storage?: string;
  /** Command to run instead of `bun src/runtime/bun/main.ts` (e.g. the compiled binary). */
  command?: string[];
  /** Working directory of the broker process (default: this process's). */
  cwd?: string;
  timeoutMs?: number;
}

/**
 * With `KBIN_VERSION_COVERAGE=FILE` set (scripts/version_coverage.ts sets it), every broker started
 * here is stopped gracefully and appends one JSON line to FILE: the test file that started it and
 * the API versions it served (its "Requests served by API and version" log line).
 */
const COVERAGE_FILE = process.env["KBIN_VERSION_COVERAGE"];

/** The test file that called into this module (for coverage lines). */
function callerTestFile(): string {
  const frames = (new Error().stack ?? "").split("\n");
  for (const f of frames) {
    const m = /(tests\/(?:compat|release|unit)\/[^:)\s]+_test\.ts)/.exec(f);
    if (m) return m[1]!;
  }
  return "unknown";
}

function recordCoverage(testFile: string, log: string): void {
  if (!COVERAGE_FILE) return;
  const m = /Requests served by API and version versions="?([^"\n]*)"?/.exec(log);
  if (!m) return;
  appendFileSync(COVERAGE_FILE, JSON.stringify({ testFile, versions: m[1]!.split(",") }) + "\n");
}

/** A persistent storage engine the restart and kill -9 tests run on, once each. */
export interface PersistentEngine {
  name: string;
  /** The storage URL that keeps a broker's data in (or under the name of) `dir`. */
  url(dir: string): Promise<string>;
}

const databases = new Map<string, string>();

/** A database of the shared throwaway PostgreSQL (tests/support/postgres.ts) named after `dir`. */
async function postgresUrl(dir: string): Promise<string> {
  const pg = await sharedPostgres();
  const key = `${pg.port}:${dir}`;
  let url = databases.get(key);
  if (url === undefined) {
    url = pg.createDatabase(`kbin_${basename(dir).replace(/[^A-Za-z0-9_]/g, "_")}`);
    databases.set(key, url);
  }
  return url;
}

/** Every persistent engine: the kill -9 and restart tests of real clients run on each. */
export const PERSISTENT_ENGINES: readonly PersistentEngine[] = [
  { name: "file", url: (dir) => Promise.resolve(`file:${dir}`) },
  ...(postgresBinDir() !== null || process.env["CI"] === "true" ? [{ name: "postgres", url: postgresUrl }] : []),
];

/**
 * Starts a broker and resolves once it prints its ready line: `kbin serve --listen 127.0.0.1:0`
 * when the test gives a data dir, storage URL or command; otherwise the embedded broker
 * (`startBroker()` from mod.ts, on its default `memory:` storage) in a child process.
 */
export async function startBrokerProcess(options: BrokerProcessOptions = {}): Promise<BrokerProcess> {
  const testFile = COVERAGE_FILE ? callerTestFile() : "";
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "kbin-test-")));
  // A broker that keeps nothing across the test is the embedded one, on memory:.
  const embedded = options.command === undefined && options.dataDir === undefined && options.storage === undefined;
  const [cmd, ...pre] = options.command ?? [BUN, MAIN];
  const child = spawn(
    cmd!,
    embedded ? [EMBEDDED, ...(options.args ?? [])] : [
      ...pre,
      "serve",
      "--listen",
      "127.0.0.1:0",
      ...(options.storage === undefined ? ["--data-dir", dataDir] : ["--storage", options.storage]),
      ...(options.args ?? []),
    ],
    {
      stdio: ["ignore", "pipe", "pipe"],
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    },
  );
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code) => {
      recordCoverage(testFile, stderr);
      resolve(code);
    })
  );
  const ready = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`broker not ready after ${options.timeoutMs ?? 15000} ms:\n${stderr}`)),
      options.timeoutMs ?? 15000,
    );
    child.stdout!.on("data", (d: Buffer) => {
      stdout += d.toString();
      const m = /ready on (\S+):(\d+) \(advertised (\S+),/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`broker exited with ${code} before it was ready:\n${stderr}`));
    });
  });
  let stopped: Promise<number | null> | null = null;
  const stop = (signal: NodeJS.Signals = "SIGTERM") => {
    if (child.exitCode !== null || child.signalCode !== null) return exited;
    stopped ??= (child.kill(signal), exited);
    return stopped;
  };
  return {
    bootstrap: ready[3]!,
    host: ready[1]!,
    port: Number(ready[2]),
    dataDir,
    child,
    log: () => stderr,
    stop,
    async [Symbol.asyncDispose]() {
      if (child.exitCode === null && child.signalCode === null) {
        // Measuring coverage: a graceful stop, so the broker logs what it served.
        child.kill(COVERAGE_FILE ? "SIGTERM" : "SIGKILL");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
      if (ownDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs a command to completion and returns its exit code and output. */
export function run(
  cmd: string,
  args: string[],
  options: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...options.env } });
    // Decode once at the end: a multi-byte character may be split across two pipe reads.
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    const text = (b: Buffer[]) => Buffer.concat(b).toString("utf8");
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(
          `${cmd} ${args.join(" ")} timed out after ${options.timeoutMs ?? 60000} ms\n${text(out)}\n${text(err)}`,
        ),
      );
    }, options.timeoutMs ?? 60000);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: text(out), stderr: text(err) });
    });
    child.stdin.end(options.input ?? "");
  });
}
