/**
 * What the HTTP-plane benchmarks share: one `kbin serve --http` on a throwaway file: directory,
 * its Kafka port and HTTP URL once it is ready, and a stop that removes the directory.
 *
 * @module
 */

import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = new URL("../..", import.meta.url).pathname;

/** A running broker with its HTTP plane. */
export interface HttpBroker {
  /** The Kafka listener's port (127.0.0.1). */
  port: number;
  /** The HTTP plane's base URL. */
  url: string;
  /** Stops the broker (SIGTERM) and removes its data directory. */
  stop(): Promise<void>;
}

/**
 * Starts kbin (KBIN_BIN, or kbin from source on Bun) with `--http 127.0.0.1:0`.
 * @param name a name for the data directory
 * @returns the broker once its ready line and HTTP listener are logged
 */
export async function startHttpBroker(name: string): Promise<HttpBroker> {
  const kbin = process.env["KBIN_BIN"] ? [process.env["KBIN_BIN"]] : ["bun", join(ROOT, "src/runtime/bun/main.ts")];
  const dir = await mkdtemp(join(tmpdir(), `kbin-bench-${name}-`));
  const child = spawn(kbin[0]!, [
    ...kbin.slice(1),
    "serve",
    "--listen",
    "127.0.0.1:0",
    "--data-dir",
    dir,
    "--http",
    "127.0.0.1:0",
  ], { stdio: ["ignore", "pipe", "pipe"] });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    let stdout = "";
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout!.on("data", (d: Buffer) => {
        stdout += d.toString();
        const m = /ready on \S+:(\d+) /.exec(stdout);
        if (m) resolve(Number(m[1]));
      });
      child.once("exit", (code) => reject(new Error(`kbin exited with ${code}:\n${stderr}`)));
    });
    const url = /Listening http=(\S+)/.exec(stderr)?.[1];
    if (!url) throw new Error(`no HTTP listener in the log:\n${stderr}`);
    return { port, url, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
