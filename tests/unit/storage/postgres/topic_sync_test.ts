/**
 * Two brokers' storages on one PostgreSQL database: a topic created, reconfigured, grown or
 * deleted through one is seen by the other within a second (each polls the metadata version its
 * changes bump), and a deleted topic's open partitions refuse further use.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import type { Storage } from "../../../../src/storage/engine.ts";
import { sharedPostgres, stopSharedPostgres } from "../../../support/postgres.ts";
import { NO_POSTGRES, openPgStorage } from "./support.ts";

after(stopSharedPostgres);

async function within<T>(what: string, check: () => T | undefined, ms = 1000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > until) assert.fail(`${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("postgres: topic changes reach the other brokers", { skip: NO_POSTGRES }, () => {
  test("create, configure, grow and delete through one storage; the other sees each within a second", async () => {
    const pg = await sharedPostgres();
    const url = pg.createDatabase(`kbin_sync_${process.pid}`);
    const open = () => openPgStorage(url);
    const a: Storage = await open();
    const b: Storage = await open();
    try {
      const created = await a.topics.create({ name: "shared", partitions: 2, configs: { "retention.ms": "1000" } });
      assert.ok(created.ok);
      const seen = await within("b sees the new topic", () => {
        const t = b.topics.get("shared");
        return t.ok ? t.value : undefined;
      });
      assert.deepEqual(seen, created.value);
      const onB = await b.partition({ topicName: "shared", topicId: created.value.id, partition: 1 });
      assert.ok((await a.topics.setConfigs("shared", { "cleanup.policy": "compact" })).ok);
      assert.ok((await a.topics.addPartitions("shared", 5)).ok);
      await within("b sees the new configs and partitions", () => {
        const t = b.topics.get("shared");
        return t.ok && t.value.partitions === 5 && t.value.configs["cleanup.policy"] === "compact" ? true : undefined;
      });
      // A change through b reaches a the same way.
      assert.ok((await b.topics.create({ name: "from-b", partitions: 1 })).ok);
      await within("a sees b's topic", () => (a.topics.get("from-b").ok ? true : undefined));
      assert.ok((await a.topics.delete("shared")).ok);
      await within("b forgets the deleted topic", () => (b.topics.get("shared").ok ? undefined : true));
      assert.notEqual(onB.failure, null, "b's open partition of the deleted topic refuses further use");
      assert.deepEqual(b.topics.list().map((t) => t.name), ["from-b"]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
