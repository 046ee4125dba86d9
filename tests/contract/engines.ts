/**
 * The engines the contract suite runs against, each behind the same harness: open a fresh empty
 * storage, restart it (persistent engines), crash it (engines that promise something across a
 * crash). Every `*_test.ts` here loops over {@link ENGINES}; a new engine is done when the suite
 * passes with it added to this list.
 *
 * - `memory:`: nothing survives, so no restart or crash cases.
 * - `file:` on a real temporary directory: clean restarts.
 * - `file:` on the in-memory file system that simulates power loss (`MemoryFs.crash()`: every
 *   file falls back to what was last synced), with SQLite in a real file: crash cases.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../src/broker/logger.ts";
import { createCodecs } from "../../src/protocol/compression/mod.ts";
import { DEFAULT_LOG_CONFIG, type LogConfig, type Storage, type StorageOptions } from "../../src/storage/engine.ts";
import { type MemoryFs, memoryFs } from "../../src/storage/memory/memory_fs.ts";
import { openStorage } from "../../src/storage/open.ts";
import { connectPostgres, openDatabase, openFileSystem } from "../support/runtime.ts";
import { postgresBinDir, sharedPostgres } from "../support/postgres.ts";

const codecs = createCodecs();

/** A clock tests can move. */
export const clock = {
  ms: 1_700_000_000_000,
  now(): number {
    return this.ms;
  },
};

/** Per-test log settings (small segments make rolls happen in tests). */
export const logSettings: { current: LogConfig } = { current: DEFAULT_LOG_CONFIG };

function options(): StorageOptions & { connectPostgres: typeof connectPostgres } {
  return {
    connectPostgres,
    clock,
    logger: silentLogger,
    decompress: (codec, data) => codecs.decompress(codec, data),
    compress: (codec, data) => codecs.compress(codec, data),
    logConfig: () => logSettings.current,
  };
}

/** One engine under test. */
export interface EngineUnderTest {
  storage: Storage;
  /** Clean shutdown, then open again (persistent engines). */
  restart(): Promise<Storage>;
  /** Power loss without a shutdown, then open again (engines with `crashes`). */
  crash(): Promise<Storage>;
  /** Closes and removes everything. */
  dispose(): Promise<void>;
  /** Opens one more storage on the same data, as another broker would (engines `sharedByNodes`). */
  openAnother?(): Promise<Storage>;
  /** The database URL (postgres:), for tests that change rows behind a broker's back. */
  url?: string;
}

/** How to run one engine. */
export interface EngineHarness {
  name: string;
  persistent: boolean;
  crashes: boolean;
  /** Whether several brokers (node ids) share one storage (postgres:), rather than one owning it (file:). */
  sharedByNodes: boolean;
  create(): Promise<EngineUnderTest>;
}

const memory: EngineHarness = {
  name: "memory:",
  persistent: false,
  crashes: false,
  sharedByNodes: false,
  async create() {
    const storage = await openStorage("memory:", { ...options(), fs: openFileSystem(), openDatabase });
    return {
      storage,
      restart: () => Promise.reject(new Error("memory: does not restart")),
      crash: () => Promise.reject(new Error("memory: does not crash")),
      dispose: () => storage.close(),
    };
  },
};

const fileOnDisk: EngineHarness = {
  name: "file: (disk)",
  persistent: true,
  crashes: false,
  sharedByNodes: false,
  async create() {
    const dir = await mkdtemp(join(tmpdir(), "kbin-contract-"));
    const open = () => openStorage(`file:${dir}/data`, { ...options(), fs: openFileSystem(), openDatabase });
    return restartable(await open(), open, dir, () => {
      throw new Error("file: (disk) crashes are tested on the simulated file system");
    });
  },
};

const fileWithCrashes: EngineHarness = {
  name: "file: (simulated power loss)",
  persistent: true,
  crashes: true,
  sharedByNodes: false,
  async create() {
    const dir = await mkdtemp(join(tmpdir(), "kbin-contract-"));
    const fs: MemoryFs = memoryFs();
    // SQLite (topics, producer ids) in a real file; logs and the state journal on `fs`.
    const db = join(dir, "metadata.db");
    const open = () => openStorage("file:/data", { ...options(), fs, openDatabase: () => openDatabase(db) });
    // On a crash the old instance is abandoned as a killed process would be (its files are reset under it).
    return restartable(await open(), open, dir, () => fs.crash());
  },
};

/** A persistent engine under test: restart closes and reopens; crash loses what was not synced and reopens. */
async function restartable(
  first: Storage,
  open: () => Promise<Storage>,
  dir: string,
  powerLoss: () => void,
): Promise<EngineUnderTest> {
  const t: EngineUnderTest = {
    storage: first,
    async restart() {
      await t.storage.close();
      t.storage = await open();
      return t.storage;
    },
    async crash() {
      powerLoss();
      t.storage = await open();
      return t.storage;
    },
    async dispose() {
      await t.storage.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return t;
}

// One throwaway PostgreSQL (tests/support/postgres.ts) for every postgres: engine under test, each
// with a database of its own. Every test file that uses ENGINES stops it in an after() hook.
let databases = 0;

const postgresEngine: EngineHarness = {
  name: "postgres:",
  persistent: true,
  crashes: true,
  sharedByNodes: true,
  async create() {
    const pg = await sharedPostgres();
    const url = pg.createDatabase(`kbin_contract_${process.pid}_${++databases}`);
    // Short leases, so that the cluster cases run in test time.
    const open = () =>
      openStorage(url, {
        ...options(),
        fs: openFileSystem(),
        openDatabase,
        cluster: { leaseMs: 1500, heartbeatMs: 100 },
      });
    const abandoned: Storage[] = [];
    const others: Storage[] = [];
    const t: EngineUnderTest = {
      storage: await open(),
      url,
      async openAnother() {
        const s = await open();
        others.push(s);
        return s;
      },
      async restart() {
        await t.storage.close();
        t.storage = await open();
        return t.storage;
      },
      async crash() {
        // A broker killed mid-work: its connections stay until they are closed below, and what it
        // had not committed is gone; PostgreSQL keeps every commit.
        abandoned.push(t.storage);
        t.storage = await open();
        return t.storage;
      },
      async dispose() {
        await t.storage.close();
        for (const s of [...abandoned, ...others]) await s.close().catch(() => {});
      },
    };
    return t;
  },
};

/** Every engine the suite runs against (postgres: where PostgreSQL is installed, and always in CI). */
export const ENGINES: readonly EngineHarness[] = [
  memory,
  fileOnDisk,
  fileWithCrashes,
  ...(postgresBinDir() !== null || process.env["CI"] === "true" ? [postgresEngine] : []),
];

/**
 * Runs `fn` with a fresh engine and disposes of it afterwards.
 * @param harness the engine
 * @param fn the test body
 */
export async function withEngine(harness: EngineHarness, fn: (e: EngineUnderTest) => Promise<void>): Promise<void> {
  const e = await harness.create();
  try {
    await fn(e);
  } finally {
    await e.dispose();
    logSettings.current = DEFAULT_LOG_CONFIG;
  }
}
