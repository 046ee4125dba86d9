/**
 * @platformatic/kafka 1.x low-level API functions against `kbin serve`: DescribeCluster v0 and
 * v1, DescribeTopicPartitions v0 and ConsumerGroupDescribe v0. Its Admin class has no call for
 * them, so the suite sends them as its Admin sends the others, through the client's own codecs
 * (`describeClusterV1.api(connection, …)` on a `Connection`). The expected answers are Kafka's
 * (`AuthHelper.computeDescribeClusterResponse`, `DescribeTopicPartitionsRequestHandler`).
 * Covered and knowingly skipped: ALLOWLIST.md; gaps: FINDINGS.md.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  Admin,
  Connection,
  consumerGroupDescribeV0,
  describeClusterV0,
  describeClusterV1,
  describeTopicPartitionsV0,
} from "@platformatic/kafka";
import type { BrokerProcess } from "../../support/broker_process.ts";
import { clusterInfo } from "../../support/cluster_info.ts";
import { createTopic } from "../shared/kbin.ts";
import { startTappedBroker, type WireTap } from "../shared/wire_tap.ts";

/** Kafka's AclEntry.supportedOperations(CLUSTER) as a bit field: everything is allowed without ACLs. */
const CLUSTER_OPERATIONS = [5, 7, 8, 9, 10, 11, 12].reduce((a, op) => a | (1 << op), 0); // 8096
const OMITTED = -2147483648;

/** The response an API call answered, whether the client resolved it or rejected it for an error code in it. */
async function answer<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    const response = (err as { response?: T }).response;
    if (response === undefined) throw err;
    return response;
  }
}

type TopicAnswer = Awaited<ReturnType<typeof describeTopicPartitionsV0.api.async>>;

/** `name: error [partitions]` per topic, and the next cursor, for compact comparisons. */
function summary(r: TopicAnswer): { topics: string[]; next: string | null } {
  return {
    topics: r.topics.map((t) => `${t.name}: ${t.errorCode} [${t.partitions.map((p) => p.partitionIndex).join(",")}]`),
    next: r.nextCursor ? `${r.nextCursor.topicName}:${r.nextCursor.partitionIndex}` : null,
  };
}

describe("@platformatic/kafka low-level DescribeCluster, DescribeTopicPartitions and ConsumerGroupDescribe", () => {
  let broker: BrokerProcess;
  let tap: WireTap;
  let conn: Connection;
  let host: string;
  let port: number;

  const topics = (names: string[], limit: number, cursor?: { topicName: string; partitionIndex: number }) =>
    answer(describeTopicPartitionsV0.api.async(conn, names.map((name) => ({ name })), limit, cursor));

  before(async () => {
    ({ broker, tap } = await startTappedBroker());
    [host, port] = [broker.bootstrap.split(":")[0]!, Number(broker.bootstrap.split(":")[1])];
    conn = new Connection("pk-cluster");
    await conn.connect(host, port);
    await createTopic(broker, "pt-a", { partitions: 3 });
    await createTopic(broker, "pt-b", { partitions: 2 });
    await createTopic(broker, "pt-c", { partitions: 1 });
  });
  after(async () => {
    await conn?.close();
    await broker?.[Symbol.asyncDispose]();
    await tap?.[Symbol.asyncDispose]();
  });

  test("describeClusterV1 for the BROKER endpoint gives this broker, the controller, the cluster id and Kafka's cluster operations", async () => {
    const r = await describeClusterV1.api.async(conn, true, 1);
    assert.deepEqual(r, {
      throttleTimeMs: 0,
      errorCode: 0,
      errorMessage: null,
      endpointType: 1,
      clusterId: (await clusterInfo(broker.bootstrap)).clusterId,
      controllerId: 1,
      brokers: [{ brokerId: 1, host, port, rack: null }],
      clusterAuthorizedOperations: CLUSTER_OPERATIONS,
    });
  });

  test("describeClusterV0 answers the same, with the authorized operations left out when not asked for", async () => {
    // v0 has no endpoint type: the client ignores its second argument.
    const r = await describeClusterV0.api.async(conn, false, 1);
    assert.deepEqual([r.errorCode, r.controllerId, r.brokers, r.clusterAuthorizedOperations], [
      0,
      1,
      [{ brokerId: 1, host, port, rack: null }],
      OMITTED,
    ]);
  });

  test("describeClusterV1 for the CONTROLLER endpoint gets MISMATCHED_ENDPOINT_TYPE, an unknown type UNSUPPORTED_ENDPOINT_TYPE", async () => {
    const controller = await answer(describeClusterV1.api.async(conn, false, 2));
    assert.deepEqual(controller, {
      throttleTimeMs: 0,
      errorCode: 114, // MISMATCHED_ENDPOINT_TYPE
      errorMessage: "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER",
      endpointType: 1,
      clusterId: "",
      controllerId: -1,
      brokers: [],
      clusterAuthorizedOperations: OMITTED,
    });
    const unknown = await answer(describeClusterV1.api.async(conn, false, 7));
    assert.deepEqual([unknown.errorCode, unknown.errorMessage], [115, "Unsupported endpoint type 7"]);
  });

  test("describeTopicPartitionsV0 describes named topics in name order; a missing one is UNKNOWN_TOPIC_OR_PARTITION, an illegal name INVALID_TOPIC_EXCEPTION", async () => {
    const r = await topics(["pt-b", "pt-missing", "pt-a", "pt bad!"], 2000);
    assert.deepEqual(summary(r), {
      topics: ["pt bad!: 17 []", "pt-a: 0 [0,1,2]", "pt-b: 0 [0,1]", "pt-missing: 3 []"],
      next: null,
    });
    const a = r.topics.find((t) => t.name === "pt-a")!;
    const ids = (await clusterInfo(broker.bootstrap)).topics;
    assert.equal(Buffer.from(a.topicId.replaceAll("-", ""), "hex").toString("base64url"), ids.get("pt-a")?.topicId);
    assert.deepEqual(a.partitions[1], {
      errorCode: 0,
      partitionIndex: 1,
      leaderId: 1,
      leaderEpoch: 0,
      replicaNodes: [1],
      isrNodes: [1],
      eligibleLeaderReplicas: [],
      lastKnownElr: [],
      offlineReplicas: [],
    });
    assert.equal(a.isInternal, false);
  });

  test("describeTopicPartitionsV0 pages with the response partition limit and the cursor", async () => {
    const names = ["pt-c", "pt-a", "pt-b"];
    const first = await topics(names, 2);
    assert.deepEqual(summary(first), { topics: ["pt-a: 0 [0,1]"], next: "pt-a:2" });
    const second = await topics(names, 2, first.nextCursor);
    assert.deepEqual(summary(second), { topics: ["pt-a: 0 [2]", "pt-b: 0 [0]"], next: "pt-b:1" });
    const third = await topics(names, 2, second.nextCursor);
    assert.deepEqual(summary(third), { topics: ["pt-b: 0 [1]", "pt-c: 0 [0]"], next: null });
  });

  test("describeTopicPartitionsV0 with the limit used up exactly points the cursor at the next topic, even a missing one", async () => {
    const r = await topics(["pt-a", "pt-c", "pt-zz-missing"], 4);
    assert.deepEqual(summary(r), { topics: ["pt-a: 0 [0,1,2]", "pt-c: 0 [0]"], next: "pt-zz-missing:0" });
  });

  test("describeTopicPartitionsV0 with no names lists every existing topic", async () => {
    const r = await topics([], 2000);
    const s = summary(r);
    assert.deepEqual(s.topics.filter((t) => t.startsWith("pt")), ["pt-a: 0 [0,1,2]", "pt-b: 0 [0,1]", "pt-c: 0 [0]"]);
  });

  test("describeTopicPartitionsV0 with a cursor outside the named topics, or a negative cursor partition, fails every topic with INVALID_REQUEST", async () => {
    assert.deepEqual(summary(await topics(["pt-c", "pt-b"], 10, { topicName: "pt-a", partitionIndex: 0 })), {
      topics: ["pt-c: 42 []", "pt-b: 42 []"],
      next: null,
    });
    assert.deepEqual(summary(await topics(["pt-a"], 10, { topicName: "pt-a", partitionIndex: -1 })), {
      topics: ["pt-a: 42 []"],
      next: null,
    });
  });

  test("consumerGroupDescribeV0 answers GROUP_ID_NOT_FOUND for an unknown group and for a classic group", async () => {
    const admin = new Admin({ clientId: "pk-cluster-admin", bootstrapBrokers: [broker.bootstrap], retries: 0 });
    try {
      // Committing offsets creates an (empty) classic group, as in Kafka.
      await admin.alterConsumerGroupOffsets({
        groupId: "pk-classic",
        topics: [{ name: "pt-c", partitionOffsets: [{ partition: 0, offset: 0n }] }],
      });
    } finally {
      await admin.close();
    }
    const r = await answer(consumerGroupDescribeV0.api.async(conn, ["pk-no-group", "pk-classic"], false));
    assert.deepEqual(r.groups.map((g) => [g.groupId, g.errorCode, g.members]), [
      ["pk-no-group", 69, []],
      ["pk-classic", 69, []],
    ]);
  });

  test("the client sent DescribeCluster v0 and v1, DescribeTopicPartitions v0 and ConsumerGroupDescribe v0", () => {
    assert.deepEqual(tap.versions("DescribeCluster", "pk-cluster"), [0, 1], tap.summary());
    assert.deepEqual(tap.versions("DescribeTopicPartitions", "pk-cluster"), [0], tap.summary());
    assert.deepEqual(tap.versions("ConsumerGroupDescribe", "pk-cluster"), [0], tap.summary());
  });
});
