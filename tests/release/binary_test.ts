/**
 * The compiled kbin executable. The host binary is built once, by scripts/build.sh into a temp
 * dir, and every test here gets its path from `kbinBinary()`.
 *
 * Building takes a few seconds and ~100 MB of disk; set KBIN_SKIP_BINARY=1 to skip.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startBrokerProcess } from "../support/broker_process.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SKIP = process.env.KBIN_SKIP_BINARY === "1" ? "KBIN_SKIP_BINARY=1, so the kbin executable is not built" : false;
const BUILD_TIMEOUT_MS = 180_000;

if (SKIP) console.warn(`tests/release/binary_test.ts: skipped: ${SKIP}`);

type RunResult = { code: number | null; stdout: string; stderr: string };

function run(command: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

let outDir: string | undefined;
let built: Promise<string> | undefined;

/** Builds the host executable on first call; later calls return the same path. */
function kbinBinary(): Promise<string> {
  built ??= (async () => {
    outDir = await mkdtemp(join(tmpdir(), "kbin-binary-"));
    const result = await run("bash", [join(ROOT, "scripts", "build.sh")], {
      cwd: ROOT,
      env: { KBIN_OUT_DIR: outDir, KBIN_TARGET: "" },
    });
    assert.equal(result.code, 0, `scripts/build.sh failed:\n${result.stdout}${result.stderr}`);
    return join(outDir, process.platform === "win32" ? "kbin.exe" : "kbin");
  })();
  return built;
}

after(async () => {
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

test("kbin --version prints the package.json version", { skip: SKIP, timeout: BUILD_TIMEOUT_MS }, async () => {
  const { version } = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as { version: string };
  const kbin = await kbinBinary();
  const result = await run(kbin, ["--version"]);
  assert.equal(result.code, 0, `kbin --version failed:\n${result.stderr}`);
  assert.equal(result.stdout.trim(), `kbin ${version}`);
});

test(
  "the kbin executable serves a Metadata round trip, keeps topics across a restart and stops on SIGTERM",
  { skip: SKIP, timeout: BUILD_TIMEOUT_MS },
  async () => {
    const kbin = await kbinBinary();
    const dataDir = await mkdtemp(join(tmpdir(), "kbin-binary-data-"));
    try {
      {
        await using broker = await startBrokerProcess({ command: [kbin], dataDir });
        const created = await run(kbin, ["topic", "create", "orders", "-p", "3", "-b", broker.bootstrap]);
        assert.equal(created.code, 0, created.stderr);
        const md = await run("kcat", ["-L", "-J", "-b", broker.bootstrap]);
        assert.equal(md.code, 0, md.stderr);
        const meta = JSON.parse(md.stdout) as {
          brokers: { id: number }[];
          topics: { topic: string; partitions: unknown[] }[];
        };
        assert.deepEqual(meta.brokers.map((b) => b.id), [1]);
        assert.deepEqual(meta.topics.map((t) => [t.topic, t.partitions.length]), [["orders", 3]]);
        assert.equal(await broker.stop("SIGTERM"), 0);
      }
      await using again = await startBrokerProcess({ command: [kbin], dataDir });
      const listed = await run(kbin, ["topic", "list", "-b", again.bootstrap]);
      assert.equal(listed.stdout, "orders\n");
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  },
);
