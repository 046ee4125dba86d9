/**
 * kafka-python 2.0.2 KafkaConsumer in a classic consumer group against `kbin serve`: fail-over
 * after a crash and resuming from committed offsets. Each member is kafka_python_member.py in its
 * own process, so a crash is a real SIGKILL. Covered and skipped: ALLOWLIST.md; gaps: FINDINGS.md.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { type BrokerProcess, startBrokerProcess } from "../../support/broker_process.ts";
import { errorsOf, failover, type Member, spawnMember } from "./support.ts";
import { PYTHON, pythonMissing } from "../shared/kbin.ts";

const SCRIPT = fileURLToPath(new URL("./kafka_python_member.py", import.meta.url));
const MISSING = pythonMissing("kafka");

const SESSION_MS = 2000;
const HEARTBEAT_MS = 300;

describe("kafka-python consumer groups", { skip: MISSING }, () => {
  let broker: BrokerProcess;
  const members: Member[] = [];

  before(async () => {
    broker = await startBrokerProcess({
      args: ["--set", "group.initial.rebalance.delay.ms=0", "--set", "group.min.session.timeout.ms=1000"],
    });
  });
  after(async () => {
    await Promise.all(members.map((m) => m.stop("SIGKILL")));
    await broker?.[Symbol.asyncDispose]();
  });

  test("a crashed member's partitions move after the session timeout, resumed at its commits", async () => {
    const spawnOne = (name: string) => {
      const m = spawnMember(name, PYTHON, [
        SCRIPT,
        broker.bootstrap,
        "kp-failover",
        "kp-failover-g",
        JSON.stringify({ session_timeout_ms: SESSION_MS, heartbeat_interval_ms: HEARTBEAT_MS }),
      ]);
      members.push(m);
      return m;
    };
    const { a, b, c } = await failover(broker.bootstrap, "kp-failover", spawnOne, {
      sessionMs: SESSION_MS,
      heartbeatMs: HEARTBEAT_MS,
    });
    // kafka-python logs its own cancellation of an in-flight fetch when a member closes its
    // connection during the rebalance or at shutdown (Errors.Cancelled only comes from the client).
    assert.deepEqual(
      errorsOf([a, b, c], /^kafka\.consumer\.fetcher Fetch to node \d+ failed: Cancelled/),
      [],
      "members reported errors",
    );
    // kafka-python picks its protocol versions from the broker version it infers from ApiVersions:
    // DescribeAcls v2 in the window means 2.5, the newest its probe table knows.
    const inferred = a.events.find((e) => e.ev === "version")?.api_version;
    assert.deepEqual(inferred, [2, 5, 0]);
  });
});
