/**
 * The compiled kbin executable for the release tests, built once per test process by
 * `scripts/build.sh` into a temp dir (removed when the process exits). `bun test` loads every test
 * file into one process, so `tests/release/binary_test.ts` and `tests/release/runtimes_test.ts`
 * share one build.
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { permanentSkip } from "./skips.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The skip option of tests that need the executable: set KBIN_SKIP_BINARY=1 to skip them. */
export const BINARY_SKIP = permanentSkip("binary-not-built", process.env.KBIN_SKIP_BINARY === "1");

/** How long the first test that asks for the executable may take, build included. */
export const BUILD_TIMEOUT_MS = 180_000;

let built: Promise<string> | undefined;

/**
 * Builds the host executable on the first call; later calls return the same path.
 * @returns the path of the executable
 */
export function kbinBinary(): Promise<string> {
  built ??= (async () => {
    const outDir = mkdtempSync(join(tmpdir(), "kbin-binary-"));
    process.once("exit", () => rmSync(outDir, { recursive: true, force: true }));
    const child = spawn("bash", [join(ROOT, "scripts", "build.sh")], {
      cwd: ROOT,
      env: { ...process.env, KBIN_OUT_DIR: outDir, KBIN_TARGET: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once("error", reject);
      child.once("close", resolve);
    });
    assert.equal(code, 0, `scripts/build.sh failed:\n${output}`);
    return join(outDir, process.platform === "win32" ? "kbin.exe" : "kbin");
  })();
  return built;
}
