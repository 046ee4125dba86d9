/** Contract: committed offsets and group state on every engine, across restarts and crashes. */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import type { CommittedOffset, Storage } from "../../src/storage/engine.ts";
import { ENGINES, withEngine } from "./engines.ts";
import { stopSharedPostgres } from "../support/postgres.ts";

after(stopSharedPostgres);

function offset(topic: string, partition: number, at: number, metadata: string | null = ""): CommittedOffset {
  return { topic, partition, offset: at, leaderEpoch: 0, metadata, commitMs: 1000 + at };
}

/** A group's offsets as sorted "topic/partition=offset" strings. */
async function offsetsOf(storage: Storage, groupId: string): Promise<string[]> {
  const loaded = await storage.groups.load();
  return (loaded.offsets.get(groupId) ?? []).map((o) => `${o.topic}/${o.partition}=${o.offset}`).sort();
}

for (const engine of ENGINES) {
  describe(`groups on ${engine.name}`, () => {
    test("commitOffsets() stores offsets with metadata; a later commit replaces them", () =>
      withEngine(engine, async ({ storage }) => {
        assert.deepEqual(await storage.groups.load(), { offsets: new Map(), groups: [] });
        await storage.groups.commitOffsets("g", [offset("t", 0, 5, "m"), offset("t", 1, 7, null)]);
        await storage.groups.commitOffsets("g", [offset("t", 0, 9)]);
        await storage.groups.commitOffsets('other \u0000 "id"', [offset("u", 3, 1)]);
        const loaded = await storage.groups.load();
        const g = loaded.offsets.get("g")!.sort((a, b) => a.partition - b.partition);
        assert.deepEqual(g, [offset("t", 0, 9), offset("t", 1, 7, null)]);
        assert.deepEqual(await offsetsOf(storage, 'other \u0000 "id"'), ["u/3=1"]);
      }));

    test("deleteOffsets() and deleteGroup() remove what they name", () =>
      withEngine(engine, async ({ storage }) => {
        await storage.groups.commitOffsets("g", [offset("t", 0, 1), offset("t", 1, 2), offset("u", 0, 3)]);
        await storage.groups.saveGroup({ groupId: "g", type: "classic", state: '{"x":1}', updatedMs: 5 });
        await storage.groups.saveGroup({ groupId: "h", type: "consumer", state: "{}", updatedMs: 6 });
        await storage.groups.deleteOffsets("g", [{ topic: "t", partition: 1 }, { topic: "nope", partition: 0 }]);
        assert.deepEqual(await offsetsOf(storage, "g"), ["t/0=1", "u/0=3"]);
        await storage.groups.deleteGroup("g");
        const loaded = await storage.groups.load();
        assert.equal(loaded.offsets.has("g"), false);
        assert.deepEqual(loaded.groups, [{ groupId: "h", type: "consumer", state: "{}", updatedMs: 6 }]);
      }));

    test("saveGroup() replaces the saved state", () =>
      withEngine(engine, async ({ storage }) => {
        await storage.groups.saveGroup({ groupId: "g", type: "classic", state: "1", updatedMs: 1 });
        await storage.groups.saveGroup({ groupId: "g", type: "consumer", state: "2", updatedMs: 2 });
        assert.deepEqual((await storage.groups.load()).groups, [{
          groupId: "g",
          type: "consumer",
          state: "2",
          updatedMs: 2,
        }]);
      }));

    test("writes resolve in the order they were issued", () =>
      withEngine(engine, async ({ storage }) => {
        const order: number[] = [];
        const writes: Promise<void>[] = [];
        for (let i = 0; i < 50; i++) {
          const w = i % 5 === 4
            ? storage.groups.deleteOffsets("g", [{ topic: "t", partition: 0 }])
            : storage.groups.commitOffsets("g", [offset("t", 0, i)]);
          writes.push(w.then(() => void order.push(i)));
        }
        await Promise.all(writes);
        assert.deepEqual(order, [...Array(50).keys()]);
        assert.deepEqual(await offsetsOf(storage, "g"), []);
        await storage.groups.commitOffsets("g", [offset("t", 0, 99)]);
        assert.deepEqual(await offsetsOf(storage, "g"), ["t/0=99"]);
      }));

    if (engine.persistent) {
      test("a restart keeps every offset and group", () =>
        withEngine(engine, async (e) => {
          for (let i = 0; i < 100; i++) await e.storage.groups.commitOffsets(`g${i % 3}`, [offset("t", i % 4, i)]);
          await e.storage.groups.saveGroup({ groupId: "g0", type: "classic", state: '{"generation":4}', updatedMs: 9 });
          await e.storage.groups.deleteGroup("g2");
          const before = await e.storage.groups.load();
          const storage = await e.restart();
          const after = await storage.groups.load();
          assert.deepEqual(after.groups, before.groups);
          const expected = (g: number) => {
            const last = new Map<number, number>();
            for (let i = 0; i < 100; i++) if (i % 3 === g) last.set(i % 4, i);
            return [...last].map(([p, o]) => `t/${p}=${o}`).sort();
          };
          assert.deepEqual(await offsetsOf(storage, "g0"), expected(0));
          assert.deepEqual(await offsetsOf(storage, "g1"), expected(1));
          assert.equal(after.offsets.has("g2"), false);
        }));
    }

    if (engine.crashes) {
      test("a crash loses no acknowledged commit", () =>
        withEngine(engine, async (e) => {
          const acked: Promise<void>[] = [];
          for (let i = 0; i < 200; i++) acked.push(e.storage.groups.commitOffsets("g", [offset("t", i % 8, i)]));
          await Promise.all(acked);
          await e.storage.groups.saveGroup({ groupId: "g", type: "consumer", state: '{"epoch":3}', updatedMs: 1 });
          const storage = await e.crash();
          assert.deepEqual(
            await offsetsOf(storage, "g"),
            [192, 193, 194, 195, 196, 197, 198, 199].map((o) => `t/${o % 8}=${o}`).sort(),
          );
          assert.deepEqual((await storage.groups.load()).groups.map((g) => g.state), ['{"epoch":3}']);
        }));
    }
  });
}
