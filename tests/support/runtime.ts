/**
 * The runtime adapters of whichever runtime runs the tests (Bun or Deno), so one test file
 * exercises the real SQLite and file system adapters on both.
 *
 * @module
 */
import type { FileSystem, OpenDatabaseFn, Runtime } from "../../src/ports.ts";

/** "bun" under `bun test`, "deno" under `deno test`. */
export const runtimeName: "bun" | "deno" = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined"
  ? "bun"
  : "deno";

// Computed specifiers keep each runtime from resolving (or type-checking) the other's adapter.
const adapterDir = `../../src/runtime/${runtimeName}`;
const sqliteModule = (await import(`${adapterDir}/sqlite.ts`)) as { openDatabase: OpenDatabaseFn };
const fsModule = (await import(`${adapterDir}/fs.ts`)) as { openFileSystem: () => FileSystem };

/** The running runtime's SQLite adapter. */
export const openDatabase: OpenDatabaseFn = sqliteModule.openDatabase;

/** The running runtime's file system adapter. */
export const openFileSystem: () => FileSystem = fsModule.openFileSystem;

const netModule = (await import(`${adapterDir}/net.ts`)) as {
  connect: import("../../src/ports.ts").ConnectFn;
  listen: import("../../src/ports.ts").ListenFn;
};

/** The running runtime's outgoing TCP (and TLS) connector. */
export const connect: import("../../src/ports.ts").ConnectFn = netModule.connect;

/** The running runtime's TCP (and TLS) listener. */
export const listen: import("../../src/ports.ts").ListenFn = netModule.listen;

const pgModule = runtimeName === "bun"
  ? ((await import(`${adapterDir}/postgres.ts`)) as {
    connectPostgresBun: import("../../src/ports.ts").ConnectPostgresFn;
  })
    .connectPostgresBun
  : ((await import("../../src/runtime/shared/postgres.ts")) as {
    connectPostgres: import("../../src/ports.ts").ConnectPostgresFn;
  }).connectPostgres;

/** The running runtime's PostgreSQL driver (Bun.SQL on Bun, the `postgres` npm package on Deno). */
export const connectPostgres: import("../../src/ports.ts").ConnectPostgresFn = pgModule;
const pgConnect = pgModule;

/**
 * A runtime whose partition logs live on `fs` (an in-memory file system that fails on demand)
 * while metadata stays in SQLite: in memory, or in `dbPath` when it must survive a restart.
 */
export async function runtimeWithFs(fs: FileSystem, options: { dbPath?: string } = {}): Promise<Runtime> {
  const net = (await import(`${adapterDir}/net.ts`)) as Pick<Runtime, "listen">;
  return {
    name: runtimeName,
    listen: net.listen,
    connect,
    openDatabase: () => openDatabase(options.dbPath ?? ":memory:"),
    connectPostgres: pgConnect,
    fs,
    clock: { now: () => Date.now() },
    codecs: {},
  };
}
