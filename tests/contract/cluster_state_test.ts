/** Contract: producer id blocks and the namespaced documents later features keep, on every engine. */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { ENGINES, withEngine } from "./engines.ts";
import { stopSharedPostgres } from "../support/postgres.ts";

after(stopSharedPostgres);

for (const engine of ENGINES) {
  describe(`cluster state on ${engine.name}`, () => {
    test("reserveProducerIds() hands out disjoint blocks, also when called concurrently", () =>
      withEngine(engine, async ({ storage }) => {
        const firsts = await Promise.all([1, 2, 3, 4].map(() => storage.reserveProducerIds(1000)));
        const sorted = [...firsts].sort((a, b) => a - b);
        for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i]! >= sorted[i - 1]! + 1000, `${sorted}`);
      }));

    test("state documents: put, get, list sorted by key, delete, namespaces kept apart", () =>
      withEngine(engine, async ({ storage }) => {
        assert.equal(await storage.state.get("acl", "x"), null);
        await storage.state.put("acl", [["b", "2"], ["a", "1"], ['c \u0000 "', "3"]]);
        await storage.state.put("scram", [["a", "other"]]);
        assert.equal(await storage.state.get("acl", "a"), "1");
        assert.deepEqual(await storage.state.list("acl"), [["a", "1"], ["b", "2"], ['c \u0000 "', "3"]]);
        await storage.state.put("acl", [["b", null], ["a", "1b"]]);
        assert.deepEqual(await storage.state.list("acl"), [["a", "1b"], ['c \u0000 "', "3"]]);
        assert.deepEqual(await storage.state.list("scram"), [["a", "other"]]);
        assert.deepEqual(await storage.state.list("none"), []);
      }));

    if (engine.persistent) {
      test("a restart keeps producer id blocks and documents", () =>
        withEngine(engine, async (e) => {
          const first = await e.storage.reserveProducerIds(1000);
          await e.storage.state.put("txn", [["app-1", '{"state":"Ongoing"}']]);
          const storage = await e.restart();
          assert.ok((await storage.reserveProducerIds(1000)) >= first + 1000);
          assert.equal(await storage.state.get("txn", "app-1"), '{"state":"Ongoing"}');
        }));
    }

    if (engine.crashes) {
      test("a crash keeps every acknowledged document and never reuses a producer id", () =>
        withEngine(engine, async (e) => {
          const first = await e.storage.reserveProducerIds(10);
          await Promise.all([...Array(50).keys()].map((i) => e.storage.state.put("q", [[`k${i}`, `${i}`]])));
          const storage = await e.crash();
          assert.equal((await storage.state.list("q")).length, 50);
          assert.ok((await storage.reserveProducerIds(10)) >= first + 10);
        }));
    }
  });
}
