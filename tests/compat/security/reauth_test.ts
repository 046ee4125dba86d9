/**
 * KIP-368 re-authentication through librdkafka 2.12 (the library node-rdkafka builds, driven with
 * ctypes by tests/compat/rdkafka212/rdkafka_driver.py): with `connections.max.reauth.ms` set, the
 * broker answers the session lifetime in SaslAuthenticate v1+, and librdkafka re-authenticates its
 * connections before they expire. A consumer kept busy over SCRAM-SHA-256 for several session
 * lifetimes re-authenticates on its connections, is never cut off for an expired session, and still
 * receives what is produced at the end. (librdkafka 2.0, Debian's, predates KIP-368 support.)
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrokerProcess, BUN, MAIN, startBrokerProcess } from "../../support/broker_process.ts";
import { clientMissing } from "../../support/skips.ts";
import { DRIVER, installLibrary } from "../rdkafka212/driver.ts";
import { PYTHON, pythonMissing, run, runJsonDriver, waitFor } from "../shared/kbin.ts";

const NO_NODE = clientMissing(
  "node",
  spawnSync("node", ["--version"]).status !== 0 ? "node is not on PATH (building node-rdkafka needs it)" : false,
);
const NO_PYTHON = pythonMissing("ctypes");
const REAUTH_MS = 3000;
const kbin = (args: string[], input = "") => run(BUN, [MAIN, ...args], { input, timeoutMs: 60_000 });

describe("SASL re-authentication (KIP-368) through librdkafka 2.12", { skip: NO_NODE || NO_PYTHON }, () => {
  let broker: BrokerProcess;
  let dataDir: string;
  let library: string;
  let sasl: string;

  before(async () => {
    library = await installLibrary();
    dataDir = await mkdtemp(join(tmpdir(), "kbin-reauth-"));
    broker = await startBrokerProcess({
      dataDir,
      args: [
        "--set",
        "listeners=PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
        "--set",
        "sasl.enabled.mechanisms=SCRAM-SHA-256",
        "--set",
        `connections.max.reauth.ms=${REAUTH_MS}`,
      ],
    });
    const port = await waitFor(
      "the SASL listener's port",
      () => /SASL_PLAINTEXT=SASL_PLAINTEXT:\/\/127\.0\.0\.1:(\d+)/.exec(broker.log())?.[1],
    );
    sasl = `127.0.0.1:${port}`;
    const added = await kbin(["user", "add", "alice", "--password-stdin", "-b", broker.bootstrap], "alice-pw\n");
    assert.equal(added.code, 0, added.stderr);
    const created = await kbin(["topic", "create", "reauth", "-b", broker.bootstrap]);
    assert.equal(created.code, 0, created.stderr);
  });
  after(async () => {
    await broker?.[Symbol.asyncDispose]();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test("a consumer busy for three session lifetimes re-authenticates and is never cut off", async () => {
    const saslConf = {
      "security.protocol": "SASL_PLAINTEXT",
      "sasl.mechanisms": "SCRAM-SHA-256",
      "sasl.username": "alice",
      "sasl.password": "alice-pw",
    };
    const conf = {
      "security.protocol": "SASL_PLAINTEXT",
      "sasl.mechanisms": "SCRAM-SHA-256",
      "sasl.username": "alice",
      "sasl.password": "alice-pw",
      "group.id": "reauth-g",
      "fetch.wait.max.ms": "100",
      "enable.auto.commit": "false",
    };
    const values = ["after-three-lifetimes"];
    const out = await runJsonDriver<{ results: Record<string, any>[] }>(PYTHON, [DRIVER], {
      bootstrap: sasl,
      ops: [
        { op: "consumer", name: "c", conf, subscribe: ["reauth"] },
        { op: "wait_assignment", name: "c", count: 1, timeout_s: 30 },
        // Fetch (empty) for three lifetimes, then a producer writes one record.
        { op: "consume", name: "c", count: 1, timeout_s: (3 * REAUTH_MS) / 1000 },
        { op: "produce", topic: "reauth", partition: 0, values, conf: saslConf },
        { op: "consume", name: "c", count: 1, timeout_s: 20 },
        { op: "close", name: "c" },
      ],
    }, { broker, env: { KBIN_LIBRDKAFKA: library }, timeoutMs: 90_000 });
    const [, assigned, idle, produced, consumed] = out.results;
    assert.ok(!assigned!.timed_out, `assigned: ${JSON.stringify(assigned)}`);
    assert.deepEqual(idle!.errors, [], "no error while idle");
    assert.equal(produced!.delivered, 1);
    assert.deepEqual(consumed!.messages.map((m: { v: string }) => m.v), values);
    assert.deepEqual(consumed!.errors, []);
    const log = broker.log();
    const reauths = log.split("\n").filter((l) => l.includes("SASL re-authentication succeeded"));
    assert.ok(reauths.length >= 2, `re-authentications:\n${reauths.join("\n")}\n${log.slice(-3000)}`);
    assert.ok(reauths.every((l) => l.includes("User:alice")));
    assert.doesNotMatch(log, /before SASL authentication.*expired/, "no connection was cut off for an expired session");
  });
});
