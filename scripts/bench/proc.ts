/**
 * Process helpers the benchmark scripts share (suite.ts, compare.ts): running a command with a
 * deadline and a numbered log file, starting a server and waiting for its address, children and
 * CPU time of a process from /proc.
 *
 * @module
 */

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { cpus, release, totalmem } from "node:os";
import { join } from "node:path";

/** Output of a command; "" when it cannot run. */
export function sh(cmd: string[]): string {
  try {
    const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "ignore" });
    return r.stdout.toString().trim();
  } catch {
    return "";
  }
}

/** Direct children of a process (so a timed-out helper does not leave its own children behind). */
export function childrenOf(parent: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === parent) out.push(Number(name));
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

/** User + system CPU seconds of a process (clock ticks of 1/100 s, as on every Linux we run). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** A server process that announced its address. */
export interface Server {
  pid: number;
  addr: string;
  stop(): Promise<void>;
}

/** Numbered log files under one directory, and the commands and servers that write them. */
export class BenchLogs {
  readonly dir: string;
  #seq = 0;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** The next numbered log file for `label`. */
  next(label: string): string {
    return join(this.dir, `${String(++this.#seq).padStart(3, "0")}-${label}.log`);
  }

  /** Runs a command to completion within `timeoutS`; its stderr goes to a numbered log file. */
  async run(cmd: string[], label: string, timeoutS: number): Promise<{ code: number; stdout: string }> {
    const log = this.next(label);
    const child = Bun.spawn(cmd, { stdout: "pipe", stderr: Bun.file(log) });
    const timer = setTimeout(() => {
      for (const pid of childrenOf(child.pid)) process.kill(pid, "SIGKILL");
      child.kill("SIGKILL");
    }, timeoutS * 1000);
    const stdout = await new Response(child.stdout).text();
    const code = await child.exited;
    clearTimeout(timer);
    if (child.signalCode === "SIGKILL") throw new Error(`"${label}" did not finish within ${timeoutS} s (log: ${log})`);
    return { code, stdout };
  }

  /** Starts a server whose stdout announces "… on 127.0.0.1:PORT"; waits for that line (10 s at most). */
  async startServer(cmd: string[], label: string): Promise<Server> {
    const log = this.next(label);
    const child = Bun.spawn(cmd, { stdout: Bun.file(log), stderr: Bun.file(`${log}.err`) });
    const deadline = performance.now() + 10_000;
    for (;;) {
      const text = existsSync(log) ? await readFile(log, "utf8") : "";
      const m = / on (127\.0\.0\.1:\d+)/.exec(text);
      if (m) {
        return {
          pid: child.pid,
          addr: m[1]!,
          async stop() {
            child.kill("SIGTERM");
            const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
            await child.exited;
            clearTimeout(killer);
          },
        };
      }
      if (child.exitCode !== null || performance.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`Cannot start ${label}: no "ready on" line (log: ${log})`);
      }
      await Bun.sleep(5);
    }
  }
}

/** The machine a benchmark ran on. */
export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  kernel: string;
  memGiB: number;
  /** The device and file system holding the benchmark's data. */
  fs: string;
  /** The load generator's librdkafka version. */
  librdkafka: string;
}

/** The machine a benchmark ran on: CPUs, kernel, memory, the file system of `work`, the load generator's librdkafka. */
export async function machineInfo(work: string, tool: string): Promise<MachineInfo> {
  return {
    cpus: cpus().length,
    cpuModel: /model name\s*:\s*(.+)/.exec(await readFile("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? "unknown",
    kernel: release(),
    memGiB: totalmem() / 1024 ** 3,
    fs: sh(["df", "--output=source,fstype", work]).split("\n")[1]?.trim().replace(/\s+/, " (") + ")",
    librdkafka: sh([tool, "version"]),
  };
}
