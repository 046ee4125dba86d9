/**
 * Contract: the ACL store (documents in the storage's state) on every engine, and the
 * authorizer's cache over it: a local change is seen at once, another broker's once
 * `kbin.acl.refresh.ms` has passed.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { AclCache, AclStore } from "../../src/broker/acl/store.ts";
import {
  type AclBinding,
  type AclFilter,
  AclOperation as Op,
  AclPermissionType as Perm,
  PatternType as PT,
  ResourceType as RT,
} from "../../src/broker/acl/model.ts";
import { stopSharedPostgres } from "../support/postgres.ts";
import { clock, ENGINES, withEngine } from "./engines.ts";

after(stopSharedPostgres);

const b = (o: Partial<AclBinding> = {}): AclBinding => ({
  resourceType: RT.TOPIC,
  resourceName: "orders",
  patternType: PT.LITERAL,
  principal: "User:alice",
  host: "*",
  operation: Op.READ,
  permissionType: Perm.ALLOW,
  ...o,
});
const ANY: AclFilter = {
  resourceType: RT.ANY,
  resourceName: null,
  patternType: PT.ANY,
  principal: null,
  host: null,
  operation: Op.ANY,
  permissionType: Perm.ANY,
};
const SETTINGS = { enabled: true, superUsers: new Set<string>(), allowIfNoAcl: false };
const read = { operation: Op.READ, resourceType: RT.TOPIC, resourceName: "orders" };
const alice = { principal: "User:alice", host: "10.0.0.1" };

for (const engine of ENGINES) {
  describe(`ACL store on ${engine.name}`, () => {
    test("create() stores bindings; creating one again changes nothing", () =>
      withEngine(engine, async ({ storage }) => {
        const store = new AclStore(storage.state);
        await store.create([b(), b({ resourceName: "o", patternType: PT.PREFIXED, permissionType: Perm.DENY })]);
        await store.create([b()]);
        assert.deepEqual(await store.list(), [
          b({ resourceName: "o", patternType: PT.PREFIXED, permissionType: Perm.DENY }),
          b(),
        ]);
      }));

    test("list() filtered describes; delete() by filter returns what each filter matched and removes it", () =>
      withEngine(engine, async ({ storage }) => {
        const store = new AclStore(storage.state);
        const group = b({ resourceType: RT.GROUP, resourceName: "g" });
        const write = b({ operation: Op.WRITE, principal: "User:bob" });
        await store.create([b(), write, group]);
        const deleted = await store.delete([
          { ...ANY, resourceType: RT.TOPIC, principal: "User:bob" },
          { ...ANY, resourceName: "none" },
          { ...ANY, resourceType: RT.TOPIC },
        ]);
        assert.deepEqual(deleted, [[write], [], [b(), write]]);
        assert.deepEqual(await store.list(), [group]);
      }));

    if (engine.persistent) {
      test("bindings survive a restart", () =>
        withEngine(engine, async (e) => {
          await new AclStore(e.storage.state).create([b(), b({ host: "10.0.0.1" })]);
          const storage = await e.restart();
          assert.deepEqual(await new AclStore(storage.state).list(), [b(), b({ host: "10.0.0.1" })]);
        }));
    }

    test("AclCache: a local change is seen at once; a change behind its back after kbin.acl.refresh.ms", () =>
      withEngine(engine, async ({ storage }) => {
        const cache = new AclCache(storage.state, { settings: SETTINGS, refreshMs: 1000, clock });
        assert.equal((await cache.authorizer()).authorize(alice, read), false);
        await cache.create([b()]);
        assert.equal((await cache.authorizer()).authorize(alice, read), true);
        // Another broker (or kbin on the same storage) deletes it.
        await new AclStore(storage.state).delete([ANY]);
        assert.equal((await cache.authorizer()).authorize(alice, read), true, "still the cached snapshot");
        clock.ms += 1000;
        assert.equal((await cache.authorizer()).authorize(alice, read), false);
      }));

    if (engine.sharedByNodes) {
      test("two brokers sharing the storage agree once kbin.acl.refresh.ms has passed", () =>
        withEngine(engine, async (e) => {
          const other = await e.openAnother!();
          const one = new AclCache(e.storage.state, { settings: SETTINGS, refreshMs: 1000, clock });
          const two = new AclCache(other.state, { settings: SETTINGS, refreshMs: 1000, clock });
          assert.equal((await two.authorizer()).authorize(alice, read), false);
          await one.create([b()]);
          clock.ms += 1000;
          assert.equal((await two.authorizer()).authorize(alice, read), true);
        }));
    }
  });
}
