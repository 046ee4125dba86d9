/**
 * Start-up benchmark: spawns `kbin serve` on an empty data directory and measures, from spawn,
 * the time until it accepts a TCP connection and until it prints its ready line. Also reports
 * idle RSS. Usage: `bun scripts/bench/startup.ts [path/to/kbin] [runs]` (default: dist/kbin, 20).
 *
 * @module
 */

import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const bin = process.argv[2] ?? join(import.meta.dir, "../../dist/kbin");
const runs = Number(process.argv[3] ?? 20);

function tryConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const accept: number[] = [];
const ready: number[] = [];
let rssKiB = 0;
let failures = 0;
for (let i = 0; i < runs; i++) {
  const dir = await mkdtemp(join(tmpdir(), "kbin-startup-"));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const t0 = performance.now();
  const child = spawn(bin, ["serve", "--listen", `127.0.0.1:${port}`, "--data-dir", dir], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  let gone = false;
  child.once("exit", () => (gone = true));
  const readyAt = new Promise<number>((resolve) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d;
      if (out.includes("ready on")) resolve(performance.now() - t0);
    });
  });
  // Poll until the listener accepts; a broker that exits first (its random port was taken) is
  // retried on another port rather than polled for ever.
  while (!gone && !(await tryConnect(port))) { /* poll */ }
  if (gone) {
    await rm(dir, { recursive: true, force: true });
    if (++failures > 5) throw new Error(`kbin serve exited before accepting connections ${failures} times`);
    i--;
    continue;
  }
  accept.push(performance.now() - t0);
  ready.push(await readyAt);
  if (i === runs - 1) {
    const status = await readFile(`/proc/${child.pid}/status`, "utf8").catch(() => "");
    rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  }
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
  await rm(dir, { recursive: true, force: true });
}
console.log(`kbin serve start-up over ${runs} runs (${bin})`);
console.log(`  accepting connections: p50 ${pct(accept, 50).toFixed(1)} ms, p99 ${pct(accept, 99).toFixed(1)} ms`);
console.log(`  ready line printed:    p50 ${pct(ready, 50).toFixed(1)} ms, p99 ${pct(ready, 99).toFixed(1)} ms`);
console.log(`  idle RSS: ${(rssKiB / 1024).toFixed(1)} MiB`);
