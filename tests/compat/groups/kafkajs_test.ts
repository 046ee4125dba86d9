/**
 * KafkaJS 2.x consumers in a classic consumer group against `kbin serve`: fail-over after a
 * crash and resuming from committed offsets, with the API versions KafkaJS negotiates. Each
 * member is kafkajs_member.ts in its own Bun process, so a crash is a real SIGKILL.
 * Covered and skipped: ALLOWLIST.md; gaps: FINDINGS.md.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { type BrokerProcess, BUN, startBrokerProcess } from "../../support/broker_process.ts";
import { errorsOf, failover, type Member, spawnMember } from "./support.ts";

const SCRIPT = fileURLToPath(new URL("./kafkajs_member.ts", import.meta.url));
const SESSION_MS = 2000;
const HEARTBEAT_MS = 300;

/**
 * KafkaJS logs a Heartbeat answered REBALANCE_IN_PROGRESS at ERROR level, then rejoins: that is
 * the protocol working as designed, not a failure.
 */
const REJOIN_NOISE = /^The group is rebalancing, so a rejoin is needed Response Heartbeat\(key: 12/;

describe("KafkaJS consumer groups", () => {
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

  const requests: Record<string, number[]> = {};

  test("a crashed member's partitions move after the session timeout, resumed at its commits", async () => {
    const spawnOne = (name: string) => {
      const m = spawnMember(name, BUN, [
        SCRIPT,
        broker.bootstrap,
        "kj-failover",
        "kj-failover-g",
        JSON.stringify({ sessionTimeout: SESSION_MS, heartbeatInterval: HEARTBEAT_MS }),
      ]);
      members.push(m);
      return m;
    };
    const { a, b, c } = await failover(broker.bootstrap, "kj-failover", spawnOne, {
      sessionMs: SESSION_MS,
      heartbeatMs: HEARTBEAT_MS,
    });
    for (const e of [a, b, c].flatMap((m) => m.events)) {
      if (e.ev !== "request") continue;
      const versions = (requests[e.api as string] ??= []);
      if (!versions.includes(e.version as number)) versions.push(e.version as number);
    }
    assert.deepEqual(errorsOf([a, b, c], REJOIN_NOISE), [], "members reported errors");
  });

  test("KafkaJS negotiates these group API versions with kbin", () => {
    assert.ok(Object.keys(requests).length > 0, "the fail-over test recorded no requests");
    const group = [
      "GroupCoordinator",
      "JoinGroup",
      "SyncGroup",
      "Heartbeat",
      "LeaveGroup",
      "OffsetCommit",
      "OffsetFetch",
    ];
    const got = Object.fromEntries(group.map((api) => [api, requests[api]?.sort()]));
    assert.deepEqual(got, {
      GroupCoordinator: [2],
      JoinGroup: [5],
      SyncGroup: [3],
      Heartbeat: [3],
      LeaveGroup: [3],
      OffsetCommit: [5],
      OffsetFetch: [4],
    });
  });
});
