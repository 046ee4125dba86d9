/**
 * Contract: the user store (SCRAM credentials as documents in the storage's state) on every
 * engine: what is stored is the derived keys (never the password), alterations per mechanism,
 * restarts, and two brokers sharing one PostgreSQL seeing each other's changes at the next login.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { UserStore } from "../../src/broker/sasl/credentials.ts";
import { credentialOf, passwordMatches, saltPassword, type ScramMechanism } from "../../src/protocol/sasl/scram.ts";
import { stopSharedPostgres } from "../support/postgres.ts";
import { ENGINES, withEngine } from "./engines.ts";

after(stopSharedPostgres);

async function credential(mechanism: ScramMechanism, password: string, iterations = 4096) {
  const salt = new Uint8Array(16).fill(password.length);
  return credentialOf(mechanism, salt, await saltPassword(mechanism, password, salt, iterations), iterations);
}

for (const engine of ENGINES) {
  describe(`user store on ${engine.name}`, () => {
    test("alter() upserts per mechanism; credential() checks a password; nothing stored holds it", () =>
      withEngine(engine, async ({ storage }) => {
        const users = new UserStore(storage.state);
        assert.equal(
          await users.alter("alice", [], [
            ["SCRAM-SHA-256", await credential("SCRAM-SHA-256", "secret-1")],
            ["SCRAM-SHA-512", await credential("SCRAM-SHA-512", "secret-1", 8192)],
          ]),
          true,
        );
        const sha256 = await users.credential("alice", "SCRAM-SHA-256");
        assert.ok(sha256);
        assert.equal(await passwordMatches("SCRAM-SHA-256", sha256, "secret-1"), true);
        assert.equal(await passwordMatches("SCRAM-SHA-256", sha256, "secret-2"), false);
        assert.equal(await users.credential("bob", "SCRAM-SHA-256"), null);
        for (const [, text] of await storage.state.list("scram-credentials")) {
          assert.equal(text.includes("secret-1"), false, "the password is not stored");
        }
        assert.deepEqual(await users.list(), [{
          user: "alice",
          mechanisms: [{ mechanism: "SCRAM-SHA-256", iterations: 4096 }, {
            mechanism: "SCRAM-SHA-512",
            iterations: 8192,
          }],
        }]);
      }));

    test("a deletion of a missing credential changes nothing; deleting the last one removes the user", () =>
      withEngine(engine, async ({ storage }) => {
        const users = new UserStore(storage.state);
        await users.alter("bob", [], [["SCRAM-SHA-512", await credential("SCRAM-SHA-512", "pw")]]);
        assert.equal(await users.alter("bob", ["SCRAM-SHA-256"], []), false);
        assert.equal((await users.credentials("bob")).length, 1);
        assert.equal(await users.alter("bob", ["SCRAM-SHA-512"], []), true);
        assert.deepEqual(await users.list(), []);
        assert.deepEqual(await storage.state.list("scram-credentials"), []);
      }));

    test("a password change replaces the credential: the old password no longer matches", () =>
      withEngine(engine, async ({ storage }) => {
        const users = new UserStore(storage.state);
        await users.alter("carol", [], [["SCRAM-SHA-256", await credential("SCRAM-SHA-256", "old-password")]]);
        await users.alter("carol", [], [["SCRAM-SHA-256", await credential("SCRAM-SHA-256", "new-password")]]);
        const c = (await users.credential("carol", "SCRAM-SHA-256"))!;
        assert.equal(await passwordMatches("SCRAM-SHA-256", c, "old-password"), false);
        assert.equal(await passwordMatches("SCRAM-SHA-256", c, "new-password"), true);
      }));

    if (engine.persistent) {
      test("users survive a restart", () =>
        withEngine(engine, async (e) => {
          await new UserStore(e.storage.state).alter("alice", [], [[
            "SCRAM-SHA-512",
            await credential("SCRAM-SHA-512", "pw-a"),
          ]]);
          const storage = await e.restart();
          const c = await new UserStore(storage.state).credential("alice", "SCRAM-SHA-512");
          assert.ok(c);
          assert.equal(await passwordMatches("SCRAM-SHA-512", c, "pw-a"), true);
        }));
    }

    if (engine.sharedByNodes) {
      test("a user added through one broker logs in on another sharing the storage", () =>
        withEngine(engine, async (e) => {
          const other = await e.openAnother!();
          await new UserStore(e.storage.state).alter("dave", [], [[
            "SCRAM-SHA-256",
            await credential("SCRAM-SHA-256", "pw-d"),
          ]]);
          const c = await new UserStore(other.state).credential("dave", "SCRAM-SHA-256");
          assert.ok(c);
          assert.equal(await passwordMatches("SCRAM-SHA-256", c, "pw-d"), true);
          await new UserStore(other.state).alter("dave", ["SCRAM-SHA-256"], []);
          assert.equal(await new UserStore(e.storage.state).credential("dave", "SCRAM-SHA-256"), null);
        }));
    }
  });
}
