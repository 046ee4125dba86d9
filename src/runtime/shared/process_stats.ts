/**
 * Memory and CPU of this process through `node:process`, which Bun and Deno both implement.
 *
 * @module
 */

import process from "node:process";
import type { ProcessStats } from "../../ports.ts";

/** What the process uses now (`process_*` metrics). */
export function processStats(): ProcessStats {
  const memory = process.memoryUsage();
  const cpu = process.cpuUsage();
  return {
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    cpuUserSeconds: cpu.user / 1e6,
    cpuSystemSeconds: cpu.system / 1e6,
  };
}
