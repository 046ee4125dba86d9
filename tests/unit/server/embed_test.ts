/** The embeddable broker keeps its state in memory unless told otherwise. */
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startBroker } from "../../../mod.ts";
import { KafkaConnection } from "../../../src/client/connection.ts";
import { CREATE_TOPICS_API } from "../../../src/protocol/generated/19_create_topics.ts";
import { connect } from "../../support/runtime.ts";

async function createTopic(port: number, name: string): Promise<number> {
  const conn = await KafkaConnection.open("127.0.0.1", port, { connect });
  try {
    const r = await conn.request(CREATE_TOPICS_API, 5, {
      topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 1000,
    });
    return r.topics[0]!.errorCode;
  } finally {
    conn.close();
  }
}

test("startBroker() defaults to memory: storage and writes nothing to disk", async () => {
  const cwd = await mkdtemp(join(tmpdir(), "kbin-embed-"));
  const before = process.cwd();
  process.chdir(cwd);
  try {
    const broker = await startBroker();
    try {
      assert.equal(broker.storage, "memory:");
      assert.equal(await createTopic(broker.port, "t"), 0);
    } finally {
      await broker.close();
    }
    assert.deepEqual(await readdir(cwd), []);
    // A second embedded broker starts empty: nothing was kept.
    await using again = await startBroker();
    assert.equal(await createTopic(again.port, "t"), 0);
  } finally {
    process.chdir(before);
    await rm(cwd, { recursive: true, force: true });
  }
});

test("startBroker({ dataDir }) keeps state in file: storage across restarts", async () => {
  const dir = await mkdtemp(join(tmpdir(), "kbin-embed-"));
  try {
    const first = await startBroker({ dataDir: dir });
    assert.equal(first.storage, `file:${dir}`);
    assert.equal(await createTopic(first.port, "kept"), 0);
    await first.close();
    await using second = await startBroker({ storage: `file:${dir}` });
    assert.equal(await createTopic(second.port, "kept"), 36, "TOPIC_ALREADY_EXISTS after the restart");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
