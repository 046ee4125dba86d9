import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { FileHandle, FileSystem, Logger } from "../../../src/ports.ts";
import { StorageError } from "../../../src/storage/engine.ts";
import {
  STATE_SNAPSHOT_NAME,
  StateJournal,
  stateJournalName,
  type StateOp,
} from "../../../src/storage/file/state_journal.ts";
import { memoryFs, MemoryFsError } from "../../../src/storage/memory/memory_fs.ts";
import { openFileSystem } from "../../support/runtime.ts";

const DIR = "/data/__state";
const JOURNAL0 = `${DIR}/${stateJournalName(0)}`;
const HEADER_BYTES = 8;
const FRAME_BYTES = 8;

interface LogLine {
  level: keyof Logger;
  message: string;
  fields: Record<string, unknown> | undefined;
}

function recordingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: keyof Logger) => (message: string, fields?: Record<string, unknown>) => {
    lines.push({ level, message, fields });
  };
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

function open(fs: FileSystem, options: { logger?: Logger; compactBytes?: number } = {}): Promise<StateJournal> {
  return StateJournal.open({
    fs,
    dir: DIR,
    logger: options.logger ?? recordingLogger(),
    ...(options.compactBytes === undefined ? {} : { compactBytes: options.compactBytes }),
  });
}

function sorted(entries: [string, string][]): [string, string][] {
  return [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function snapshotOf(journal: StateJournal): [string, string][] {
  return sorted(journal.entries());
}

/** Size of the framed record that `write(ops)` appends. */
function recordBytes(ops: readonly StateOp[]): number {
  return FRAME_BYTES + new TextEncoder().encode(JSON.stringify(ops)).length;
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

type Around = <T>(op: string, path: string, run: () => Promise<T>) => Promise<T>;

/** Wraps every operation of `base` (file system and its handles) in `around`. */
function interceptFs(base: FileSystem, around: Around): FileSystem {
  function wrap(path: string, h: FileHandle): FileHandle {
    return {
      read: (position, length) => around("read", path, () => h.read(position, length)),
      write: (data, position) => around("write", path, () => h.write(data, position)),
      writev: (chunks, position) => around("writev", path, () => h.writev(chunks, position)),
      datasync: () => around("datasync", path, () => h.datasync()),
      truncate: (length) => around("truncate", path, () => h.truncate(length)),
      size: () => around("size", path, () => h.size()),
      close: () => around("close", path, () => h.close()),
    };
  }
  return {
    mkdir: (path) => around("mkdir", path, () => base.mkdir(path)),
    open: (path, options) => around("open", path, async () => wrap(path, await base.open(path, options))),
    readFile: (path) => around("readFile", path, () => base.readFile(path)),
    writeFileAtomic: (path, data) => around("writeFileAtomic", path, () => base.writeFileAtomic(path, data)),
    readdir: (path) => around("readdir", path, () => base.readdir(path)),
    remove: (path, options) => around("remove", path, () => base.remove(path, options)),
    rename: (from, to) => around("rename", from, () => base.rename(from, to)),
    exists: (path) => around("exists", path, () => base.exists(path)),
    syncDir: (path) => around("syncDir", path, () => base.syncDir(path)),
    statfs: (path) => around("statfs", path, () => base.statfs(path)),
  };
}

/** Counts datasyncs; while `gate` is set, a datasync waits for it after signalling `entered`. */
function syncCountingFs(base: FileSystem) {
  const state = {
    datasyncs: 0,
    gate: null as Promise<void> | null,
    entered: null as (() => void) | null,
  };
  const fs = interceptFs(base, async (op, _path, run) => {
    if (op === "datasync") {
      state.datasyncs++;
      const gate = state.gate;
      if (gate !== null) {
        state.entered?.();
        await gate;
      }
    }
    return await run();
  });
  return { fs, state };
}

async function fileSize(fs: FileSystem, path: string): Promise<number> {
  const data = await fs.readFile(path);
  assert.ok(data !== null, `${path} exists`);
  return data.length;
}

async function journalNames(fs: FileSystem): Promise<string[]> {
  return (await fs.readdir(DIR)).filter((n) => n.endsWith(".journal"));
}

describe("StateJournal", () => {
  test("StateJournal.write() puts and deletes keys that get(), entries() and size see, and a reopen sees the same", async () => {
    const fs = memoryFs();
    const journal = await open(fs);
    assert.equal(journal.size, 0);
    assert.equal(journal.get("a"), undefined);
    await journal.write([["offset/g1/t/0", "10"], ["offset/g1/t/1", "11"], ["offset/g2/t/0", "20"], [
      "group/g1",
      "{}",
    ]]);
    await journal.write([["offset/g1/t/1", "12"], ["group/g1", null], ["missing", null]]);
    assert.equal(journal.get("offset/g1/t/1"), "12");
    assert.equal(journal.get("group/g1"), undefined);
    assert.equal(journal.size, 3);
    assert.deepEqual(sorted(journal.entries("offset/g1/")), [["offset/g1/t/0", "10"], ["offset/g1/t/1", "12"]]);
    assert.deepEqual(journal.entries("nothing/"), []);
    assert.equal(journal.entries().length, 3);
    const before = snapshotOf(journal);
    await journal.close();

    const again = await open(fs);
    assert.deepEqual(snapshotOf(again), before);
    assert.equal(again.size, 3);
    await again.close();
  });

  test("StateJournal keeps arbitrary keys and large values", async () => {
    const fs = memoryFs();
    const journal = await open(fs);
    const big = "v".repeat(1024 * 1024) + "é€😀";
    const keys = ["", "a\u0000b", "\u0000", "ключ", "😀", "lone \ud800 surrogate", '"quoted"\\', "\n\t"];
    await journal.write(keys.map((k, i): StateOp => [k, `value ${i}`]));
    await journal.write([["big", big]]);
    await journal.close();
    const again = await open(fs);
    for (const [i, k] of keys.entries()) assert.equal(again.get(k), `value ${i}`, JSON.stringify(k));
    assert.equal(again.get("big"), big);
    assert.deepEqual(sorted(again.entries("a\u0000")), [["a\u0000b", "value 1"]]);
    await again.close();
  });

  test("StateJournal.write() with no ops resolves at once when idle, and after earlier writes otherwise", async () => {
    const journal = await open(memoryFs());
    await journal.write([]);
    const order: string[] = [];
    const done = [
      journal.write([["a", "1"]]).then(() => order.push("a")),
      journal.write([]).then(() => order.push("empty")),
      journal.write([["b", "2"]]).then(() => order.push("b")),
      journal.write([]).then(() => order.push("empty2")),
    ];
    await Promise.all(done);
    assert.deepEqual(order, ["a", "empty", "b", "empty2"]);
    await journal.close();
  });

  test("StateJournal.write() groups concurrent writes into few datasyncs and resolves them in call order", async () => {
    const { fs, state } = syncCountingFs(memoryFs());
    const journal = await open(fs);
    const syncsBefore = state.datasyncs;
    const order: number[] = [];
    const writes = Array.from({ length: 100 }, (_, i) => journal.write([[`k${i}`, `v${i}`]]).then(() => order.push(i)));
    await Promise.all(writes);
    const syncs = state.datasyncs - syncsBefore;
    assert.ok(syncs >= 1 && syncs < 100, `expected fewer datasyncs than writes, got ${syncs}`);
    assert.ok(syncs <= 2, `expected one group, got ${syncs} datasyncs`);
    assert.deepEqual(order, Array.from({ length: 100 }, (_, i) => i));
    assert.equal(journal.size, 100);
    await journal.close();
  });

  test("StateJournal.write() queues writes behind a datasync in flight and commits them as one group", async () => {
    const { fs, state } = syncCountingFs(memoryFs());
    const journal = await open(fs);
    const gate = deferred();
    const entered = deferred();
    state.gate = gate.promise;
    state.entered = entered.resolve;
    const syncsBefore = state.datasyncs;
    const order: number[] = [];
    const first = journal.write([["k", "first"]]).then(() => order.push(0));
    await entered.promise;
    // The first record is written but not yet durable: readers must not see it.
    assert.equal(journal.get("k"), undefined);
    state.gate = null;
    const rest = Array.from(
      { length: 50 },
      (_, i) => journal.write([["k", `v${i + 1}`]]).then(() => order.push(i + 1)),
    );
    gate.resolve();
    await Promise.all([first, ...rest]);
    assert.equal(state.datasyncs - syncsBefore, 2);
    assert.deepEqual(order, Array.from({ length: 51 }, (_, i) => i));
    assert.equal(journal.get("k"), "v50");
    await journal.close();
  });

  test("StateJournal.open() after a crash keeps every write that resolved", async () => {
    const fs = memoryFs();
    const journal = await open(fs);
    await journal.write([["a", "1"]]);
    await Promise.all([journal.write([["b", "2"]]), journal.write([["c", "3"], ["a", null]])]);
    const expected = snapshotOf(journal);
    fs.crash();
    const again = await open(fs);
    assert.deepEqual(snapshotOf(again), expected);
    await again.close();
  });

  test("StateJournal.open() truncates a torn tail and keeps the records before it", async () => {
    const fs = memoryFs();
    const journal = await open(fs);
    const ops: StateOp[][] = [[["a", "1"]], [["b", "2"]], [["c", "3"]]];
    for (const o of ops) await journal.write(o);
    await journal.close();
    const full = await fileSize(fs, JOURNAL0);
    assert.equal(full, HEADER_BYTES + ops.reduce((n, o) => n + recordBytes(o), 0));
    fs.tearTail(JOURNAL0, 3);

    const logger = recordingLogger();
    const again = await open(fs, { logger });
    assert.deepEqual(snapshotOf(again), [["a", "1"], ["b", "2"]]);
    const valid = full - recordBytes(ops[2]!);
    const warning = logger.lines.find((l) => l.level === "warn");
    assert.ok(warning, "a warning is logged");
    assert.equal(warning.fields?.validBytes, valid);
    assert.equal(warning.fields?.droppedBytes, recordBytes(ops[2]!) - 3);
    assert.equal(await fileSize(fs, JOURNAL0), valid);

    // The truncation is durable and new records follow the valid ones.
    await again.write([["d", "4"]]);
    fs.crash();
    const third = await open(fs);
    assert.deepEqual(snapshotOf(third), [["a", "1"], ["b", "2"], ["d", "4"]]);
    await third.close();
  });

  test("StateJournal.open() detects a corrupted byte in the last record by its CRC", async () => {
    const fs = memoryFs();
    const journal = await open(fs);
    await journal.write([["a", "1"]]);
    await journal.write([["b", "2"]]);
    await journal.close();
    const size = await fileSize(fs, JOURNAL0);
    const f = await fs.open(JOURNAL0);
    const [last] = await f.read(size - 3, 1);
    await f.write(Uint8Array.of(last! ^ 0x20), size - 3);
    await f.datasync();
    await f.close();

    const logger = recordingLogger();
    const again = await open(fs, { logger });
    assert.deepEqual(snapshotOf(again), [["a", "1"]]);
    const warning = logger.lines.find((l) => l.level === "warn");
    assert.equal(warning?.fields?.reason, "CRC mismatch");
    assert.equal(await fileSize(fs, JOURNAL0), HEADER_BYTES + recordBytes([["a", "1"]]));
    await again.close();
  });

  test("StateJournal.open() treats a zero-filled tail as torn", async () => {
    const fs = memoryFs();
    const journal = await open(fs);
    await journal.write([["a", "1"]]);
    await journal.close();
    const size = await fileSize(fs, JOURNAL0);
    const f = await fs.open(JOURNAL0);
    await f.write(new Uint8Array(64), size);
    await f.datasync();
    await f.close();
    const again = await open(fs);
    assert.deepEqual(snapshotOf(again), [["a", "1"]]);
    assert.equal(await fileSize(fs, JOURNAL0), size);
    await again.close();
  });

  test("StateJournal compacts many overwrites of few keys into a snapshot and a smaller journal", async () => {
    const fs = memoryFs();
    const journal = await open(fs, { compactBytes: 1024 });
    let peak = 0;
    for (let i = 0; i < 300; i++) {
      await journal.write([[`key${i % 4}`, `value-${i}`], ["counter", String(i)]]);
      await journal.write([]); // and any compaction it started
      const [name] = await journalNames(fs);
      peak = Math.max(peak, await fileSize(fs, `${DIR}/${name}`));
    }
    const names = await journalNames(fs);
    assert.equal(names.length, 1);
    assert.notEqual(names[0], stateJournalName(0), "the generation moved on");
    assert.ok(await fs.exists(`${DIR}/${STATE_SNAPSHOT_NAME}`));
    // Without compaction the journal would hold 300 records (~13 KiB).
    assert.ok(peak <= 1024 + 64, `journal stayed near the threshold, peaked at ${peak} bytes`);
    const expected = snapshotOf(journal);
    assert.deepEqual(expected, [
      ["counter", "299"],
      ["key0", "value-296"],
      ["key1", "value-297"],
      ["key2", "value-298"],
      ["key3", "value-299"],
    ]);
    await journal.close();
    const again = await open(fs, { compactBytes: 1024 });
    assert.deepEqual(snapshotOf(again), expected);
    await again.close();
  });

  test("StateJournal lets the journal grow to twice the live data before compacting", async () => {
    const fs = memoryFs();
    const journal = await open(fs, { compactBytes: 100 });
    const value = "x".repeat(1000);
    // ~2 KiB of live data: the journal passes compactBytes long before 2 × live data.
    await journal.write([["big", value]]);
    await journal.write([["other", value]]);
    await journal.write([["small", "1"]]);
    assert.ok((await fileSize(fs, JOURNAL0)) > 2000);
    assert.deepEqual(await journalNames(fs), [stateJournalName(0)]);
    await journal.write([["big", `${value}1`]]);
    assert.deepEqual(await journalNames(fs), [stateJournalName(0)]);
    await journal.write([["big", `${value}2`]]);
    await journal.write([]); // the compaction that followed that write has finished
    assert.deepEqual(await journalNames(fs), [stateJournalName(1)], "past 2 × live data");
    assert.equal(await fileSize(fs, `${DIR}/${stateJournalName(1)}`), HEADER_BYTES);
    await journal.close();
  });

  test("StateJournal.open() removes stale journals and snapshot temporaries but nothing else", async () => {
    const fs = memoryFs();
    const journal = await open(fs);
    await journal.write([["a", "1"]]);
    await journal.close();
    for (const name of [stateJournalName(9), `${STATE_SNAPSHOT_NAME}.tmp-1234`, "unrelated.txt"]) {
      await fs.writeFileAtomic(`${DIR}/${name}`, Uint8Array.of(1, 2, 3));
    }
    const again = await open(fs);
    assert.deepEqual(await fs.readdir(DIR), [stateJournalName(0), "unrelated.txt"]);
    assert.equal(again.get("a"), "1");
    await again.close();
  });

  test("StateJournal.open() rejects a corrupt snapshot and a snapshot whose journal is missing", async () => {
    const fs = memoryFs();
    const journal = await open(fs, { compactBytes: 64 });
    for (let i = 0; i < 10; i++) await journal.write([["k", String(i)]]);
    await journal.close();
    const [name] = await journalNames(fs);
    assert.notEqual(name, stateJournalName(0));

    const snapshot = (await fs.readFile(`${DIR}/${STATE_SNAPSHOT_NAME}`))!;
    const bad = snapshot.slice();
    bad[bad.length - 2]! ^= 1;
    await fs.writeFileAtomic(`${DIR}/${STATE_SNAPSHOT_NAME}`, bad);
    await assert.rejects(open(fs), (err: unknown) => err instanceof StorageError && /CRC mismatch/.test(err.message));

    await fs.writeFileAtomic(`${DIR}/${STATE_SNAPSHOT_NAME}`, snapshot);
    await fs.remove(`${DIR}/${name}`);
    await assert.rejects(open(fs), (err: unknown) => err instanceof StorageError && /is missing/.test(err.message));
  });

  test("StateJournal.open() rejects journals left without the snapshot that named them", async () => {
    const fs = memoryFs();
    const journal = await open(fs, { compactBytes: 64 });
    for (let i = 0; i < 10; i++) await journal.write([["k", String(i)]]);
    await journal.close();
    await fs.remove(`${DIR}/${STATE_SNAPSHOT_NAME}`);
    await assert.rejects(
      open(fs),
      (err: unknown) => err instanceof StorageError && /state\.snapshot" is missing/.test(err.message),
    );
  });

  test("StateJournal survives a crash at every step of writing and compacting", async () => {
    const compactBytes = 160;
    const writes: StateOp[][] = Array.from(
      { length: 24 },
      (_, i) => i % 7 === 6 ? [[`k${i % 3}`, null]] : [[`k${i % 3}`, `value-${i}-${"x".repeat(i % 5)}`]],
    );
    const apply = (model: Map<string, string>, ops: readonly StateOp[]) => {
      for (const [k, v] of ops) v === null ? model.delete(k) : model.set(k, v);
    };
    const crashedOps = new Set<string>();
    let compactions = 0;
    let runs = 0;
    for (const mode of ["before", "after"] as const) {
      for (let n = 1;; n++) {
        const mem = memoryFs();
        let count = 0;
        let dead = false;
        let snapshots = 0;
        const fs = interceptFs(mem, async (op, _path, run) => {
          const i = ++count;
          const die = (): never => {
            crashedOps.add(op);
            mem.crash();
            dead = true;
            throw new MemoryFsError("EIO", `simulated power loss at ${op}`);
          };
          if (dead) throw new MemoryFsError("EIO", "the process is gone");
          if (mode === "before" && i === n) die();
          const result = await run();
          if (op === "writeFileAtomic") snapshots++;
          if (mode === "after" && i === n) die();
          return result;
        });

        const model = new Map<string, string>();
        let unresolved: StateOp[] | null = null;
        let journal: StateJournal | null = null;
        try {
          journal = await open(fs, { compactBytes });
        } catch {
          assert.ok(dead, "open fails only through the crash");
        }
        if (journal !== null) {
          for (const ops of writes) {
            try {
              await journal.write(ops);
            } catch {
              unresolved = ops;
              break;
            }
            apply(model, ops);
          }
        }
        if (!dead) {
          // Past the last operation: every step has had its crash.
          compactions = snapshots;
          await journal?.close();
          break;
        }
        runs++;
        await journal?.close();

        const again = await open(mem, { compactBytes });
        const got = snapshotOf(again);
        const old = sorted([...model]);
        const withUnresolved = new Map(model);
        if (unresolved !== null) apply(withUnresolved, unresolved);
        const candidates = [old, sorted([...withUnresolved])];
        assert.ok(
          candidates.some((c) => JSON.stringify(c) === JSON.stringify(got)),
          `crash ${mode} op ${n}: loaded ${JSON.stringify(got)}, expected ${JSON.stringify(candidates)}`,
        );
        // The recovered journal keeps working across another restart.
        await again.write([["after", String(n)]]);
        mem.crash();
        const third = await open(mem, { compactBytes });
        assert.deepEqual(snapshotOf(third), sorted([...got, ["after", String(n)]]), `crash ${mode} op ${n}`);
        assert.equal((await journalNames(mem)).length, 1);
        await third.close();
      }
    }
    assert.ok(compactions >= 2, `the workload compacts (${compactions} snapshots)`);
    assert.ok(runs > 50, `crashed ${runs} times`);
    for (const op of ["open", "truncate", "write", "datasync", "syncDir", "writeFileAtomic", "remove"]) {
      assert.ok(crashedOps.has(op), `crashed at a ${op}`);
    }
  });

  test("StateJournal fails and rejects writes when the snapshot of a compaction cannot be written", async () => {
    const mem = memoryFs();
    let failSnapshot = false;
    const fs = interceptFs(mem, async (op, _path, run) => {
      if (op === "writeFileAtomic" && failSnapshot) throw new MemoryFsError("EIO", "injected snapshot failure");
      return await run();
    });
    const journal = await open(fs, { compactBytes: 200 });
    const model = new Map<string, string>();
    failSnapshot = true;
    let rejected: unknown = null;
    for (let i = 0; i < 50 && rejected === null; i++) {
      try {
        await journal.write([[`k${i % 2}`, `v${i}`]]);
        model.set(`k${i % 2}`, `v${i}`);
      } catch (err) {
        rejected = err;
      }
    }
    assert.ok(rejected instanceof StorageError);
    assert.equal(journal.failure, rejected);
    assert.match(rejected.message, /compaction/);
    await assert.rejects(journal.write([["x", "1"]]), (err: unknown) => err === rejected);
    await journal.close();
    const again = await open(mem, { compactBytes: 200 });
    assert.deepEqual(snapshotOf(again), sorted([...model]));
    await again.close();
  });

  test("StateJournal.write() rejects when a datasync fails, and so do pending and later writes", async () => {
    const fs = memoryFs();
    const logger = recordingLogger();
    const journal = await StateJournal.open({ fs, dir: DIR, logger });
    await journal.write([["a", "1"]]);
    fs.failNextFsync();
    const failed = journal.write([["a", "2"]]);
    const queued = journal.write([["b", "3"]]);
    const empty = journal.write([]);
    await assert.rejects(failed, (err: unknown) => {
      assert.ok(err instanceof StorageError);
      assert.match(err.message, /^State journal in "\/data\/__state" failed during datasync: EIO/);
      return true;
    });
    await assert.rejects(queued, (err: unknown) => err === journal.failure);
    await assert.rejects(empty, (err: unknown) => err === journal.failure);
    assert.ok(journal.failure instanceof StorageError);
    await assert.rejects(journal.write([["c", "4"]]), (err: unknown) => err === journal.failure);
    await assert.rejects(journal.write([]), (err: unknown) => err === journal.failure);
    assert.equal(journal.get("a"), "1");
    assert.equal(journal.get("b"), undefined);
    assert.ok(logger.lines.some((l) => l.level === "error"));
    await journal.close();
    fs.crash();
    const again = await open(fs);
    assert.deepEqual(snapshotOf(again), [["a", "1"]]);
    await again.close();
  });

  test("StateJournal.write() rejects when the append fails", async () => {
    const fs = memoryFs();
    const journal = await open(fs);
    fs.failNextWrite();
    await assert.rejects(journal.write([["a", "1"]]), /failed during append: EIO/);
    await assert.rejects(journal.write([["a", "1"]]), (err: unknown) => err === journal.failure);
    await journal.close();
  });

  test("StateJournal.close() waits for pending writes, is idempotent, and later writes reject", async () => {
    const fs = memoryFs();
    const journal = await open(fs);
    const pending = journal.write([["a", "1"]]);
    const closed = journal.close();
    await assert.rejects(
      journal.write([["b", "2"]]),
      (err: unknown) => err instanceof StorageError && /closed/.test(err.message),
    );
    await assert.rejects(journal.write([]), StorageError);
    await pending;
    await closed;
    await journal.close();
    assert.equal(journal.get("a"), "1");
    assert.equal(journal.failure, null);
    const again = await open(fs);
    assert.equal(again.get("a"), "1");
    await again.close();
  });

  test("StateJournal works on the runtime's file system", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kbin-state-"));
    try {
      const fs = openFileSystem();
      const o = { fs, dir: `${dir}/state`, logger: recordingLogger(), compactBytes: 4096 };
      const journal = await StateJournal.open(o);
      const big = "b".repeat(100_000);
      await Promise.all(Array.from({ length: 200 }, (_, i) => journal.write([[`k\u0000${i % 10}`, `v${i}`]])));
      await journal.write([["big", big], ["k\u00000", null]]);
      const expected = snapshotOf(journal);
      await journal.close();
      const again = await StateJournal.open(o);
      assert.deepEqual(snapshotOf(again), expected);
      assert.equal(again.get("big"), big);
      for (let i = 0; i < 50; i++) await again.write([["big", `${big}${i}`]]);
      await again.write([]);
      const files = (await fs.readdir(o.dir)).filter((n) => n !== STATE_SNAPSHOT_NAME);
      assert.equal(files.length, 1, `one journal left: ${files.join(", ")}`);
      assert.notEqual(files[0], stateJournalName(0));
      await again.close();
      const third = await StateJournal.open(o);
      assert.equal(third.get("big"), `${big}49`);
      assert.equal(third.size, 10);
      await third.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
