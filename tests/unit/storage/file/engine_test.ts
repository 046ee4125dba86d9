/** The file engine: a data dir from before the state journal keeps its offsets and groups. */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { silentLogger } from "../../../../src/broker/logger.ts";
import { DEFAULT_LOG_CONFIG } from "../../../../src/storage/engine.ts";
import { openFileStorage } from "../../../../src/storage/file/engine.ts";
import { openMetadataDb } from "../../../../src/storage/file/metadata_db.ts";
import { openDatabase, openFileSystem } from "../../../support/runtime.ts";

test("offsets and groups kept in SQLite by an older kbin move into the state journal once", async () => {
  const dir = await mkdtemp(join(tmpdir(), "kbin-file-engine-"));
  try {
    const db = openDatabase(join(dir, "metadata.db"));
    openMetadataDb(db); // the schema an older kbin wrote (migrations 1-3)
    db.run(
      "INSERT INTO group_offsets (group_id, topic, partition_index, committed_offset, leader_epoch, metadata, commit_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ["g", "orders", 2, 41, 0, "m", 1000],
    );
    db.run("INSERT INTO consumer_groups (group_id, group_type, state, updated_ms) VALUES (?, ?, ?, ?)", [
      "g",
      "classic",
      '{"generation":3}',
      2000,
    ]);
    db.close();
    const open = () =>
      openFileStorage({
        fs: openFileSystem(),
        openDatabase,
        dir,
        clock: { now: () => 5000 },
        logger: silentLogger,
        decompress: (_c, d) => d,
        logConfig: () => DEFAULT_LOG_CONFIG,
      });
    const expected = {
      offsets: new Map([["g", [{
        topic: "orders",
        partition: 2,
        offset: 41,
        leaderEpoch: 0,
        metadata: "m",
        commitMs: 1000,
      }]]]),
      groups: [{ groupId: "g", type: "classic", state: '{"generation":3}', updatedMs: 2000 }],
    };
    const first = await open();
    assert.deepEqual(await first.groups.load(), expected);
    await first.close();
    const check = openDatabase(join(dir, "metadata.db"));
    assert.deepEqual(check.query("SELECT COUNT(*) AS n FROM group_offsets"), [{ n: 0 }]);
    assert.deepEqual(check.query("SELECT COUNT(*) AS n FROM consumer_groups"), [{ n: 0 }]);
    check.close();
    const second = await open();
    assert.deepEqual(await second.groups.load(), expected);
    await second.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
