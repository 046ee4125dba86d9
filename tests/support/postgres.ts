/**
 * A throwaway PostgreSQL for tests: `initdb` in a temporary directory and `pg_ctl start` on
 * 127.0.0.1 and a free port, as the `postgres` user when running as root (PostgreSQL refuses to
 * run as root, and CI runs as root). Trust authentication on loopback only; `stop()` shuts it down
 * (immediate mode) and removes the directory. PostgreSQL comes from Debian's `postgresql` package,
 * which scripts/install_test_deps.sh installs.
 *
 * @module
 */

import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { chown, mkdtemp } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A running throwaway cluster. */
export interface TestPostgres {
  /** `postgres://kbin@127.0.0.1:PORT/postgres` (superuser `kbin`, trust auth). */
  readonly url: string;
  readonly port: number;
  /** A URL for database `name` on this cluster. */
  urlFor(name: string): string;
  /** Creates a fresh database and returns its URL. */
  createDatabase(name: string): string;
  /** Immediate shutdown (as a crash would), then start again on the same data directory. */
  restart(): void;
  /** Immediate shutdown; removes the directory. Synchronous, so it also works at process exit. */
  stop(): void;
}

/** The directory holding initdb and pg_ctl, or null when PostgreSQL is not installed. */
export function postgresBinDir(): string | null {
  const base = "/usr/lib/postgresql";
  if (!existsSync(base)) return null;
  const versions = readdirSync(base).filter((v) => existsSync(join(base, v, "bin", "initdb"))).sort((a, b) =>
    Number(b) - Number(a)
  );
  return versions.length > 0 ? join(base, versions[0]!, "bin") : null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts a throwaway PostgreSQL cluster.
 * @returns the cluster
 * @throws Error when PostgreSQL is not installed or does not start
 */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBinDir();
  if (bin === null) throw new Error("PostgreSQL is not installed (apt-get install postgresql)");
  const asRoot = process.getuid?.() === 0;
  const dir = await mkdtemp(join(tmpdir(), "kbin-pg-"));
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
    await chown(dir, uid, gid);
  }
  const as = (cmd: string, args: string[]) =>
    asRoot
      ? execFileSync("runuser", ["-u", "postgres", "--", join(bin, cmd), ...args], { stdio: "pipe" })
      : execFileSync(join(bin, cmd), args, { stdio: "pipe" });
  const data = join(dir, "data");
  as("initdb", ["-D", data, "-U", "kbin", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  const port = await freePort();
  const start = () =>
    as("pg_ctl", [
      "-D",
      data,
      "-o",
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200`,
      "-w",
      "-t",
      "30",
      "-l",
      join(dir, "log"),
      "start",
    ]);
  start();
  const urlFor = (name: string) => `postgres://kbin@127.0.0.1:${port}/${name}`;
  return {
    url: urlFor("postgres"),
    port,
    urlFor,
    createDatabase(name: string): string {
      execFileSync("psql", [
        "-h",
        "127.0.0.1",
        "-p",
        String(port),
        "-U",
        "kbin",
        "-d",
        "postgres",
        "-q",
        "-c",
        `CREATE DATABASE "${name}"`,
      ], {
        stdio: "pipe",
      });
      return urlFor(name);
    },
    restart(): void {
      as("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
      start();
    },
    stop(): void {
      try {
        as("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let shared: Promise<TestPostgres> | null = null;
let live: TestPostgres | null = null;

/** One throwaway cluster shared by the tests of this process (each uses databases of its own). */
export function sharedPostgres(): Promise<TestPostgres> {
  shared ??= startPostgres().then((c) => (live = c));
  return shared;
}

/** Stops the shared cluster, if one runs; the next {@link sharedPostgres} starts another. */
export function stopSharedPostgres(): void {
  live?.stop();
  live = null;
  shared = null;
}

// Bun runs every test file in one process: the cluster is stopped when it exits. (Deno runs each
// file apart; the suites call stopSharedPostgres() in a top-level after() hook for it.)
process.once("exit", stopSharedPostgres);
