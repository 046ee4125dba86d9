/**
 * The file engine's compaction swap under a crash at every step: the compacted copy is written
 * aside (`.cleaned`), renamed `.swap.<end>` (the commit point), the old segments renamed
 * `.deleted`, and the copy renamed into place. A power loss after any rename (the simulated file
 * system keeps renames, loses unsynced data) must reopen to a log where every key has its newest
 * value, nothing but records written before is there, offsets are in order, and no `.cleaned`,
 * `.swap` or `.deleted` file is left.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { silentLogger } from "../../../../src/broker/logger.ts";
import { createCodecs } from "../../../../src/protocol/compression/mod.ts";
import { readBatchHeader, scanBatches } from "../../../../src/protocol/records/batch.ts";
import { batchRecords, buildBatch } from "../../../../src/protocol/records/records.ts";
import type { FileSystem } from "../../../../src/ports.ts";
import { DEFAULT_COMPACTION_CONFIG } from "../../../../src/storage/compaction.ts";
import { DEFAULT_LOG_CONFIG } from "../../../../src/storage/engine.ts";
import { PartitionLog } from "../../../../src/storage/file/partition_log.ts";
import { type MemoryFs, memoryFs } from "../../../../src/storage/memory/memory_fs.ts";

const codecs = createCodecs();
const enc = new TextEncoder();
const dec = new TextDecoder();

function open(fs: FileSystem) {
  return PartitionLog.open({
    fs,
    dir: "/data/c-0",
    clock: { now: () => 1_000_000 },
    logger: silentLogger,
    config: () => ({ ...DEFAULT_LOG_CONFIG, segmentBytes: 1, fileDeleteDelayMs: 0 }),
    decompress: (c, d) => codecs.decompress(c, d),
    compress: (c, d) => codecs.compress(c, d),
    cleanShutdown: false,
    name: "c-0",
  });
}

async function contents(log: PartitionLog): Promise<string[]> {
  const out: string[] = [];
  let at = log.logStartOffset;
  for (;;) {
    const r = await log.read(at, 1 << 30, { minOneBatch: true });
    assert.ok(r.ok);
    const batches = scanBatches(r.value.records).batches;
    if (batches.length === 0) return out;
    for (const b of batches) {
      for (
        const rec of batchRecords(r.value.records, b.at, { decompress: (c, d) => codecs.decompress(c, d) }).records
      ) {
        out.push(`${rec.offset}:${dec.decode(rec.key!)}=${dec.decode(rec.value!)}`);
      }
      const h = readBatchHeader(r.value.records, b.at);
      at = Number(h.baseOffset) + h.lastOffsetDelta + 1;
    }
  }
}

/** `fs` whose `n`th rename (counting from 1) is the last thing the process does. */
function dyingAtRename(fs: MemoryFs, n: number): FileSystem {
  let renames = 0;
  return {
    ...fs,
    async rename(from, to) {
      await fs.rename(from, to);
      if (++renames === n) throw new Error("the process died here");
    },
  };
}

test("a crash after any rename of a compaction swap reopens to a whole log with every newest value", async () => {
  for (let n = 1; n <= 12; n++) {
    const fs = memoryFs();
    let log = await open(fs);
    for (let i = 0; i < 3; i++) {
      for (const [k, v] of [["a", `a${i * 2}`], ["b", `b${i * 2}`]]) {
        const r = await log.append(buildBatch([{ key: enc.encode(k), value: enc.encode(v), timestamp: 1000n }]));
        assert.equal(r.kind, "appended");
        if (r.kind === "appended") await log.waitDurable(r.lastOffset + 1);
      }
    }
    for (const batch of [[["c", "c"], ["a", "a5"]], [["b", "b5"]], [["z", "z"]]]) {
      const r = await log.append(
        buildBatch(batch.map(([k, v]) => ({ key: enc.encode(k!), value: enc.encode(v!), timestamp: 1000n }))),
      );
      if (r.kind === "appended") await log.waitDurable(r.lastOffset + 1);
    }
    // Offsets 0–5: a0 b0 a2 b2 a4 b4; 6–7: c a5; 8: b5; 9: z (the active segment).
    const before = ["0:a=a0", "1:b=b0", "2:a=a2", "3:b=b2", "4:a=a4", "5:b=b4", "6:c=c", "7:a=a5", "8:b=b5", "9:z=z"];
    assert.deepEqual(await contents(log), before);
    await log.close();
    log = await open(dyingAtRename(fs, n));
    let died = false;
    try {
      await log.compact({ ...DEFAULT_COMPACTION_CONFIG, minCleanableDirtyRatio: 0 }, 1_000_000);
    } catch {
      died = true;
    }
    fs.crash();
    const reopened = await open(fs);
    const after = await contents(reopened);
    // Groups of segments are swapped one by one: whatever was committed is compacted, the rest is
    // as before. Every newest value is there; nothing but records of the log before is.
    const compacted = ["6:c=c", "7:a=a5", "8:b=b5", "9:z=z"];
    for (const r of compacted) assert.ok(after.includes(r), `dying at rename ${n}: ${r} is gone: ${after.join()}`);
    for (const r of after) assert.ok(before.includes(r), `dying at rename ${n}: ${r} was never written`);
    const offsets = after.map((r) => Number(r.split(":")[0]));
    assert.ok(offsets.every((o, i) => i === 0 || o > offsets[i - 1]!), `dying at rename ${n}: ${after.join()}`);
    if (!died) assert.deepEqual(after, compacted);
    const left = (await fs.readdir("/data/c-0")).filter((f) => /\.cleaned$|\.swap\.|\.deleted$/.test(f));
    assert.deepEqual(left, [], `dying at rename ${n}`);
    // The reopened log compacts to the same result and goes on.
    await reopened.compact({ ...DEFAULT_COMPACTION_CONFIG, minCleanableDirtyRatio: 0 }, 1_000_000);
    assert.deepEqual(await contents(reopened), compacted);
    await reopened.close();
  }
});
