/**
 * The compiled kbin executable: its version, a Metadata round trip, topics kept across a restart
 * and a graceful stop. The host binary is built once, by scripts/build.sh into a temp dir
 * (`tests/support/kbin_binary.ts`, shared with runtimes_test.ts).
 *
 * Building takes a few seconds and ~100 MB of disk; set KBIN_SKIP_BINARY=1 to skip.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startBrokerProcess } from "../support/broker_process.ts";
import { BINARY_SKIP as SKIP, BUILD_TIMEOUT_MS, kbinBinary } from "../support/kbin_binary.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

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
