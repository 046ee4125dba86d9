/**
 * API versions that no client on this machine speaks, sent with the generated codecs and checked
 * against Kafka's behaviour: the versions Kafka 4.1–4.3 added (Produce v13, Fetch v18,
 * OffsetCommit/OffsetFetch v10, Metadata v13, DescribeGroups v6, ListOffsets v11,
 * ConsumerGroupDescribe v1, DescribeCluster v2, ListConfigResources) and the versions Kafka 4.0
 * removed that old clients may still send (OffsetCommit v0–v1, OffsetFetch v0, CreateTopics v0–v1,
 * DeleteTopics v0, DescribeConfigs v0, ListOffsets v0, OffsetForLeaderEpoch v0–v1).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type EmbeddedBroker, startBroker } from "../../../mod.ts";
import { KafkaConnection } from "../../../src/client/connection.ts";
import { PRODUCE_API } from "../../../src/protocol/generated/00_produce.ts";
import { FETCH_API } from "../../../src/protocol/generated/01_fetch.ts";
import { LIST_OFFSETS_API } from "../../../src/protocol/generated/02_list_offsets.ts";
import { METADATA_API } from "../../../src/protocol/generated/03_metadata.ts";
import { OFFSET_COMMIT_API } from "../../../src/protocol/generated/08_offset_commit.ts";
import { OFFSET_FETCH_API } from "../../../src/protocol/generated/09_offset_fetch.ts";
import { DESCRIBE_GROUPS_API } from "../../../src/protocol/generated/15_describe_groups.ts";
import { API_VERSIONS_API } from "../../../src/protocol/generated/18_api_versions.ts";
import { CREATE_TOPICS_API } from "../../../src/protocol/generated/19_create_topics.ts";
import { DELETE_TOPICS_API } from "../../../src/protocol/generated/20_delete_topics.ts";
import { INIT_PRODUCER_ID_API } from "../../../src/protocol/generated/22_init_producer_id.ts";
import { OFFSET_FOR_LEADER_EPOCH_API } from "../../../src/protocol/generated/23_offset_for_leader_epoch.ts";
import { DESCRIBE_CONFIGS_API } from "../../../src/protocol/generated/32_describe_configs.ts";
import { DESCRIBE_CLUSTER_API } from "../../../src/protocol/generated/60_describe_cluster.ts";
import { CONSUMER_GROUP_HEARTBEAT_API } from "../../../src/protocol/generated/68_consumer_group_heartbeat.ts";
import { CONSUMER_GROUP_DESCRIBE_API } from "../../../src/protocol/generated/69_consumer_group_describe.ts";
import { LIST_CONFIG_RESOURCES_API } from "../../../src/protocol/generated/74_list_config_resources.ts";
import { APIS } from "../../../src/protocol/generated/api_keys.ts";
import { ConfigResourceType } from "../../../src/protocol/generated/configs.ts";
import { ErrorCode } from "../../../src/protocol/generated/errors.ts";
import { ZERO_UUID } from "../../../src/protocol/reader.ts";
import { batchRecords, buildBatch } from "../../../src/protocol/records/records.ts";
import { ALL_HANDLERS } from "../../../src/broker/handlers/mod.ts";
import { connect } from "../../support/runtime.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

async function open(broker: EmbeddedBroker): Promise<KafkaConnection> {
  return await KafkaConnection.open("127.0.0.1", broker.port, { connect });
}

async function createTopic(conn: KafkaConnection, name: string, partitions = 1): Promise<string> {
  const res = await conn.request(CREATE_TOPICS_API, 7, {
    topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 1000,
  });
  assert.equal(res.topics[0]!.errorCode, ErrorCode.NONE, res.topics[0]!.errorMessage ?? "");
  return res.topics[0]!.topicId;
}

describe("versions no client here speaks, checked against Kafka's behaviour", () => {
  let broker: EmbeddedBroker;
  let conn: KafkaConnection;
  let topicId: string;

  before(async () => {
    broker = await startBroker({ config: { "group.initial.rebalance.delay.ms": "0" } });
    conn = await open(broker);
    topicId = await createTopic(conn, "ids", 2);
  });
  after(async () => {
    conn.close();
    await broker.close();
  });

  test("ApiVersions advertises the union of Kafka 3.9's and 4.3's ranges", async () => {
    const res = await conn.request(API_VERSIONS_API, 3, { clientSoftwareName: "test", clientSoftwareVersion: "1" });
    const range = (key: number) => {
      const k = res.apiKeys.find((a) => a.apiKey === key)!;
      return [k.minVersion, k.maxVersion];
    };
    assert.deepEqual(range(0), [0, 13]); // Produce
    assert.deepEqual(range(1), [0, 18]); // Fetch
    assert.deepEqual(range(2), [0, 11]); // ListOffsets
    assert.deepEqual(range(3), [0, 13]); // Metadata
    assert.deepEqual(range(8), [0, 10]); // OffsetCommit
    assert.deepEqual(range(9), [0, 10]); // OffsetFetch
    assert.deepEqual(range(15), [0, 6]); // DescribeGroups
    assert.deepEqual(range(19), [0, 7]); // CreateTopics
    assert.deepEqual(range(20), [0, 6]); // DeleteTopics
    assert.deepEqual(range(22), [0, 5], "InitProducerId v6 is unstable in 4.3.1 and stays off");
    assert.deepEqual(range(23), [0, 4]); // OffsetForLeaderEpoch
    assert.deepEqual(range(32), [0, 4]); // DescribeConfigs
    assert.deepEqual(range(60), [0, 2]); // DescribeCluster
    assert.deepEqual(range(68), [0, 1]); // ConsumerGroupHeartbeat
    assert.deepEqual(range(69), [0, 1]); // ConsumerGroupDescribe
    assert.deepEqual(range(74), [0, 1]); // ListConfigResources
    // Every handler reaches the top of what the 4.3.1 specs define (apart from unstable versions),
    // and down to the oldest version Kafka 3.9 served.
    for (const h of ALL_HANDLERS) {
      const api = APIS.get(h.api.apiKey)!;
      assert.equal(h.maxVersion, api.maxVersion, `${api.name} max`);
      assert.equal(h.minVersion, api.minVersion, `${api.name} min`);
    }
  });

  test("Produce v13 and Fetch v18 name topics by id; an unknown id is UNKNOWN_TOPIC_ID", async () => {
    const unknownId = "AAAAAAAAAAAAAAAAAAAAAQ";
    const produced = await conn.request(PRODUCE_API, 13, {
      acks: -1,
      timeoutMs: 1000,
      topicData: [
        { topicId, partitionData: [{ index: 1, records: buildBatch([{ value: enc.encode("by-id") }]) }] },
        { topicId: unknownId, partitionData: [{ index: 0, records: buildBatch([{ value: enc.encode("x") }]) }] },
      ],
    });
    const [known, unknown] = produced.responses;
    assert.equal(known!.topicId, topicId);
    assert.equal(known!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
    assert.equal(known!.partitionResponses[0]!.baseOffset, 0n);
    assert.equal(unknown!.topicId, unknownId);
    assert.equal(unknown!.partitionResponses[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_ID);

    const fetched = await conn.request(FETCH_API, 18, {
      replicaState: { replicaId: -1, replicaEpoch: -1n },
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{
        topicId,
        // v18's tagged high watermark is what a KRaft follower sends; a consumer may send it too.
        partitions: [{ partition: 1, fetchOffset: 0n, partitionMaxBytes: 1 << 20, highWatermark: 5n }],
      }],
      forgottenTopicsData: [],
      rackId: "",
    });
    const p = fetched.responses[0]!.partitions[0]!;
    assert.equal(fetched.responses[0]!.topicId, topicId);
    assert.equal(p.errorCode, ErrorCode.NONE);
    assert.equal(p.highWatermark, 1n);
    const { records } = batchRecords(p.records!, 0, { decompress: (_codec, data) => data });
    assert.equal(dec.decode(records[0]!.value!), "by-id");
  });

  test("OffsetCommit v10 and OffsetFetch v10 name topics by id; an unknown id is UNKNOWN_TOPIC_ID", async () => {
    const unknownId = "AAAAAAAAAAAAAAAAAAAAAg";
    const committed = await conn.request(OFFSET_COMMIT_API, 10, {
      groupId: "g10",
      generationIdOrMemberEpoch: -1,
      memberId: "",
      groupInstanceId: null,
      topics: [
        { topicId, partitions: [{ partitionIndex: 0, committedOffset: 7n, committedMetadata: "m" }] },
        { topicId: unknownId, partitions: [{ partitionIndex: 0, committedOffset: 1n, committedMetadata: null }] },
      ],
    });
    assert.deepEqual(
      committed.topics.map((t) => [t.topicId, t.partitions.map((p) => p.errorCode)]),
      [[topicId, [ErrorCode.NONE]], [unknownId, [ErrorCode.UNKNOWN_TOPIC_ID]]],
    );
    const named = await conn.request(OFFSET_FETCH_API, 10, {
      groups: [{
        groupId: "g10",
        memberId: null,
        memberEpoch: -1,
        topics: [{ topicId, partitionIndexes: [0, 1] }, { topicId: unknownId, partitionIndexes: [0] }],
      }],
      requireStable: false,
    });
    const g = named.groups[0]!;
    assert.equal(g.errorCode, ErrorCode.NONE);
    assert.equal(g.topics[0]!.topicId, topicId);
    assert.deepEqual(
      g.topics[0]!.partitions.map((p) => [p.partitionIndex, p.committedOffset, p.metadata, p.errorCode]),
      [[0, 7n, "m", 0], [1, -1n, "", 0]],
    );
    assert.equal(g.topics[1]!.partitions[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_ID);
    // All committed topics (a null list), each named by its id.
    const all = await conn.request(OFFSET_FETCH_API, 10, {
      groups: [{ groupId: "g10", memberId: null, memberEpoch: -1, topics: null }],
      requireStable: false,
    });
    assert.deepEqual(all.groups[0]!.topics.map((t) => [t.topicId, t.partitions.length]), [[topicId, 1]]);
  });

  test("OffsetCommit v0 and v1 and OffsetFetch v0 and v1 round-trip; null metadata reads back as an empty string", async () => {
    const v0 = await conn.request(OFFSET_COMMIT_API, 0, {
      groupId: "old",
      topics: [{ name: "ids", partitions: [{ partitionIndex: 0, committedOffset: 3n, committedMetadata: null }] }],
    });
    assert.equal(v0.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
    const v1 = await conn.request(OFFSET_COMMIT_API, 1, {
      groupId: "old",
      generationIdOrMemberEpoch: -1,
      memberId: "",
      topics: [{
        name: "ids",
        partitions: [{ partitionIndex: 1, committedOffset: 5n, commitTimestamp: -1n, committedMetadata: "meta" }],
      }],
    });
    assert.equal(v1.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
    for (const version of [0, 1, 5]) {
      const fetched = await conn.request(OFFSET_FETCH_API, version, {
        groupId: "old",
        topics: [{ name: "ids", partitionIndexes: [0, 1] }],
      });
      assert.deepEqual(
        fetched.topics[0]!.partitions.map((p) => [p.committedOffset, p.metadata]),
        [[3n, ""], [5n, "meta"]],
        `OffsetFetch v${version}`,
      );
    }
    // A v1 commit with a generation for a group that has none is refused, as Kafka does.
    const stale = await conn.request(OFFSET_COMMIT_API, 1, {
      groupId: "nobody-home",
      generationIdOrMemberEpoch: 3,
      memberId: "m",
      topics: [{ name: "ids", partitions: [{ partitionIndex: 0, committedOffset: 1n, committedMetadata: null }] }],
    });
    assert.equal(stale.topics[0]!.partitions[0]!.errorCode, ErrorCode.ILLEGAL_GENERATION);
  });

  test("Metadata v13 answers a top-level error code of NONE with the topics", async () => {
    const res = await conn.request(METADATA_API, 13, { topics: [{ name: "ids", topicId: ZERO_UUID }] });
    assert.equal(res.errorCode, ErrorCode.NONE);
    assert.equal(res.topics[0]!.name, "ids");
    assert.equal(res.topics[0]!.partitions.length, 2);
  });

  test("DescribeGroups v6 answers an unknown group GROUP_ID_NOT_FOUND; v5 answers it Dead with no error", async () => {
    const v6 = await conn.request(DESCRIBE_GROUPS_API, 6, { groups: ["ghost"], includeAuthorizedOperations: false });
    assert.equal(v6.groups[0]!.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    assert.equal(v6.groups[0]!.errorMessage, "Group ghost not found.");
    assert.equal(v6.groups[0]!.groupState, "Dead");
    const v5 = await conn.request(DESCRIBE_GROUPS_API, 5, { groups: ["ghost"], includeAuthorizedOperations: false });
    assert.equal(v5.groups[0]!.errorCode, ErrorCode.NONE);
    assert.equal(v5.groups[0]!.groupState, "Dead");
  });

  test("ListOffsets v11 answers -6 (earliest pending upload) with -1 without tiered storage; v0 lists old-style offsets", async () => {
    const topic = "lo";
    await createTopic(conn, topic);
    for (let i = 0; i < 3; i++) {
      const r = await conn.request(PRODUCE_API, 9, {
        acks: -1,
        timeoutMs: 1000,
        topicData: [{
          name: topic,
          partitionData: [{ index: 0, records: buildBatch([{ value: enc.encode(`r${i}`) }]) }],
        }],
      });
      assert.equal(r.responses[0]!.partitionResponses[0]!.errorCode, 0);
    }
    const v11 = await conn.request(LIST_OFFSETS_API, 11, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{
        name: topic,
        partitions: [{ partitionIndex: 0, timestamp: -6n }, { partitionIndex: 0, timestamp: -1n }],
      }],
    });
    assert.deepEqual(
      v11.topics[0]!.partitions.map((p) => [p.errorCode, p.offset, p.timestamp, p.leaderEpoch]),
      [[0, -1n, -1n, -1], [0, 3n, -1n, 0]],
    );
    const v0 = await conn.request(LIST_OFFSETS_API, 0, {
      replicaId: -1,
      topics: [{
        name: topic,
        partitions: [
          { partitionIndex: 0, timestamp: -1n, maxNumOffsets: 1 },
          { partitionIndex: 0, timestamp: -2n, maxNumOffsets: 1 },
          // One segment: its base offset and the log end, newest first.
          { partitionIndex: 0, timestamp: -1n, maxNumOffsets: 10 },
          { partitionIndex: 9, timestamp: -1n, maxNumOffsets: 1 },
        ],
      }],
    });
    assert.deepEqual(
      v0.topics[0]!.partitions.map((p) => [p.errorCode, p.oldStyleOffsets]),
      [[0, [3n]], [0, [0n]], [0, [3n, 0n]], [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, []]],
    );
  });

  test("CreateTopics v0 and v1 and DeleteTopics v0 work as in Kafka 3.9", async () => {
    const v0 = await conn.request(CREATE_TOPICS_API, 0, {
      topics: [
        { name: "made-v0", numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] },
        { name: "made-v0", numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] },
        { name: "bad name!", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
      ],
      timeoutMs: 1000,
    });
    assert.deepEqual(v0.topics.map((t) => [t.name, t.errorCode]), [
      ["made-v0", ErrorCode.INVALID_REQUEST],
      ["made-v0", ErrorCode.INVALID_REQUEST],
      ["bad name!", ErrorCode.INVALID_TOPIC_EXCEPTION],
    ]);
    const single = await conn.request(CREATE_TOPICS_API, 0, {
      topics: [{ name: "made-v0", numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 1000,
    });
    assert.equal(single.topics[0]!.errorCode, ErrorCode.NONE);
    const validated = await conn.request(CREATE_TOPICS_API, 1, {
      topics: [{ name: "only-checked", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 1000,
      validateOnly: true,
    });
    assert.equal(validated.topics[0]!.errorCode, ErrorCode.NONE);
    const md = await conn.request(METADATA_API, 12, { topics: null, allowAutoTopicCreation: false });
    assert.ok(md.topics.some((t) => t.name === "made-v0"));
    assert.ok(!md.topics.some((t) => t.name === "only-checked"), "validate_only creates nothing");

    const deleted = await conn.request(DELETE_TOPICS_API, 0, { topicNames: ["made-v0", "never-was"], timeoutMs: 1000 });
    assert.deepEqual(deleted.responses.map((r) => [r.name, r.errorCode]), [
      ["made-v0", ErrorCode.NONE],
      ["never-was", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
  });

  test("DescribeConfigs v0 reports is_default; synonyms come only when the request asks for them", async () => {
    const v0 = await conn.request(DESCRIBE_CONFIGS_API, 0, {
      resources: [{
        resourceType: ConfigResourceType.TOPIC,
        resourceName: "ids",
        configurationKeys: ["segment.bytes"],
      }],
    });
    const c = v0.results[0]!.configs[0]!;
    assert.deepEqual([c.name, c.value, c.isDefault], ["segment.bytes", "1073741824", true]);
    const without = await conn.request(DESCRIBE_CONFIGS_API, 1, {
      resources: [{
        resourceType: ConfigResourceType.TOPIC,
        resourceName: "ids",
        configurationKeys: ["segment.bytes"],
      }],
      includeSynonyms: false,
    });
    assert.deepEqual(without.results[0]!.configs[0]!.synonyms, []);
    const withSynonyms = await conn.request(DESCRIBE_CONFIGS_API, 1, {
      resources: [{
        resourceType: ConfigResourceType.TOPIC,
        resourceName: "ids",
        configurationKeys: ["segment.bytes", "retention.ms"],
      }],
      includeSynonyms: true,
    });
    const byName = new Map(withSynonyms.results[0]!.configs.map((e) => [e.name, e.synonyms]));
    // The broker config's default (DEFAULT_CONFIG); none for retention.ms, whose first broker
    // synonym, log.retention.ms, has no default (Kafka's ConfigHelper.configSynonyms).
    assert.deepEqual(byName.get("segment.bytes"), [{ name: "log.segment.bytes", value: "1073741824", source: 5 }]);
    assert.deepEqual(byName.get("retention.ms"), []);
  });

  test("OffsetForLeaderEpoch v0 and v1 answer epoch 0's end offset", async () => {
    for (const version of [0, 1]) {
      const res = await conn.request(OFFSET_FOR_LEADER_EPOCH_API, version, {
        topics: [{ topic: "ids", partitions: [{ partition: 1, leaderEpoch: 0 }] }],
      });
      const p = res.topics[0]!.partitions[0]!;
      assert.equal(p.errorCode, ErrorCode.NONE);
      assert.equal(p.endOffset, 1n, `v${version}`);
      if (version === 1) assert.equal(p.leaderEpoch, 0);
    }
  });

  test("ConsumerGroupHeartbeat v1 needs a client-generated member id (KIP-1082); ConsumerGroupDescribe v1 gives member types", async () => {
    const base = {
      groupId: "kip848",
      memberEpoch: 0,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: 30000,
      subscribedTopicNames: ["ids"],
      subscribedTopicRegex: null,
      serverAssignor: null,
      topicPartitions: [],
    };
    const empty = await conn.request(CONSUMER_GROUP_HEARTBEAT_API, 1, { ...base, memberId: "" });
    assert.equal(empty.errorCode, ErrorCode.INVALID_REQUEST);
    const memberId = "client-made-member-id";
    const joined = await conn.request(CONSUMER_GROUP_HEARTBEAT_API, 1, { ...base, memberId });
    assert.equal(joined.errorCode, ErrorCode.NONE);
    assert.equal(joined.memberId, memberId, "the broker keeps the client's member id");
    assert.ok(joined.memberEpoch > 0);
    // A v0 client joins without an id and is given one.
    const v0 = await conn.request(CONSUMER_GROUP_HEARTBEAT_API, 0, { ...base, groupId: "kip848-v0", memberId: "" });
    assert.equal(v0.errorCode, ErrorCode.NONE);
    assert.ok((v0.memberId ?? "").length > 0);

    const described = await conn.request(CONSUMER_GROUP_DESCRIBE_API, 1, {
      groupIds: ["kip848", "ghost"],
      includeAuthorizedOperations: false,
    });
    const [g, ghost] = described.groups;
    assert.equal(g!.errorCode, ErrorCode.NONE);
    assert.deepEqual(g!.members.map((m) => [m.memberId, m.memberType]), [[memberId, 1]]);
    assert.equal(ghost!.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  });

  test("DescribeCluster v2 lists this broker as not fenced", async () => {
    const res = await conn.request(DESCRIBE_CLUSTER_API, 2, {
      includeClusterAuthorizedOperations: false,
      endpointType: 1,
      includeFencedBrokers: true,
    });
    assert.equal(res.errorCode, ErrorCode.NONE);
    assert.deepEqual(res.brokers.map((b) => [b.brokerId, b.port, b.isFenced]), [[1, broker.port, false]]);
  });

  test("ListConfigResources v0 lists client-metrics resources; v1 filters by type and refuses unknown types", async () => {
    const v0 = await conn.request(LIST_CONFIG_RESOURCES_API, 0, {});
    assert.deepEqual([v0.errorCode, v0.configResources], [ErrorCode.NONE, []]);
    const all = await conn.request(LIST_CONFIG_RESOURCES_API, 1, { resourceTypes: [] });
    assert.equal(all.errorCode, ErrorCode.NONE);
    assert.ok(all.configResources.some((r) => r.resourceType === ConfigResourceType.BROKER && r.resourceName === "1"));
    assert.ok(all.configResources.some((r) => r.resourceType === ConfigResourceType.TOPIC && r.resourceName === "ids"));
    const topics = await conn.request(LIST_CONFIG_RESOURCES_API, 1, { resourceTypes: [ConfigResourceType.TOPIC] });
    assert.ok(topics.configResources.length > 0);
    assert.ok(topics.configResources.every((r) => r.resourceType === ConfigResourceType.TOPIC));
    const groups = await conn.request(LIST_CONFIG_RESOURCES_API, 1, { resourceTypes: [ConfigResourceType.GROUP] });
    assert.deepEqual([groups.errorCode, groups.configResources], [ErrorCode.NONE, []]);
    const bad = await conn.request(LIST_CONFIG_RESOURCES_API, 1, { resourceTypes: [ConfigResourceType.TOPIC, 99] });
    assert.deepEqual([bad.errorCode, bad.configResources], [ErrorCode.UNSUPPORTED_VERSION, []]);
  });

  test("InitProducerId v6 is refused by default: the request closes the connection, as for any unadvertised version", async () => {
    const c = await open(broker);
    try {
      await assert.rejects(
        c.request(INIT_PRODUCER_ID_API, 6, { transactionalId: null, transactionTimeoutMs: -1 }),
      );
      assert.equal(c.closed, true);
    } finally {
      c.close();
    }
  });
});

describe("topic configs that Kafka 4.0 removed, sent by 3.x-era clients", () => {
  let broker: EmbeddedBroker;
  let conn: KafkaConnection;

  before(async () => {
    broker = await startBroker();
    conn = await open(broker);
  });
  after(async () => {
    conn.close();
    await broker.close();
  });

  test("CreateTopics accepts them with Kafka 3.9's meaning and DescribeConfigs reports them", async () => {
    const res = await conn.request(CREATE_TOPICS_API, 5, {
      topics: [{
        name: "legacy",
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: [
          { name: "message.format.version", value: "2.8-IV1" },
          { name: "message.timestamp.difference.max.ms", value: "60000" },
          { name: "message.downconversion.enable", value: "false" },
          { name: "segment.bytes", value: "65536" },
        ],
      }],
      timeoutMs: 1000,
    });
    assert.equal(res.topics[0]!.errorCode, ErrorCode.NONE, res.topics[0]!.errorMessage ?? "");
    const described = await conn.request(DESCRIBE_CONFIGS_API, 4, {
      resources: [{
        resourceType: ConfigResourceType.TOPIC,
        resourceName: "legacy",
        configurationKeys: ["message.format.version", "message.downconversion.enable", "segment.bytes"],
      }],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    assert.deepEqual(
      described.results[0]!.configs.map((c) => [c.name, c.value]).sort(),
      [["message.downconversion.enable", "false"], ["message.format.version", "2.8-IV1"], ["segment.bytes", "65536"]],
    );
  });

  test("message.timestamp.difference.max.ms bounds record timestamps as Kafka 3.9 did", async () => {
    const old = BigInt(Date.now() - 10 * 60_000);
    const res = await conn.request(PRODUCE_API, 9, {
      acks: -1,
      timeoutMs: 1000,
      topicData: [{
        name: "legacy",
        partitionData: [{ index: 0, records: buildBatch([{ value: enc.encode("old"), timestamp: old }]) }],
      }],
    });
    assert.equal(res.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.INVALID_TIMESTAMP);
  });

  test("message.downconversion.enable=false refuses Fetch v3 with UNSUPPORTED_VERSION and serves v4", async () => {
    const produced = await conn.request(PRODUCE_API, 9, {
      acks: -1,
      timeoutMs: 1000,
      topicData: [{
        name: "legacy",
        partitionData: [{ index: 0, records: buildBatch([{ value: enc.encode("now") }]) }],
      }],
    });
    assert.equal(produced.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
    const fetch = (version: number) =>
      conn.request(FETCH_API, version, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
        topics: [{ topic: "legacy", partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
      });
    assert.equal((await fetch(3)).responses[0]!.partitions[0]!.errorCode, ErrorCode.UNSUPPORTED_VERSION);
    const v4 = (await fetch(4)).responses[0]!.partitions[0]!;
    assert.equal(v4.errorCode, ErrorCode.NONE);
    assert.ok(v4.records!.length > 0);
  });
});

describe("unstable.api.versions.enable=true", () => {
  test("advertises and serves InitProducerId v6", async () => {
    await using broker = await startBroker({ config: { "unstable.api.versions.enable": "true" } });
    const conn = await open(broker);
    try {
      const versions = await conn.request(API_VERSIONS_API, 3, {
        clientSoftwareName: "test",
        clientSoftwareVersion: "1",
      });
      assert.equal(versions.apiKeys.find((k) => k.apiKey === 22)!.maxVersion, 6);
      const res = await conn.request(INIT_PRODUCER_ID_API, 6, { transactionalId: null, transactionTimeoutMs: -1 });
      assert.equal(res.errorCode, ErrorCode.NONE);
      assert.ok(res.producerId >= 0n);
      const twoPc = await conn.request(INIT_PRODUCER_ID_API, 6, {
        transactionalId: null,
        transactionTimeoutMs: -1,
        enable2Pc: true,
      });
      assert.equal(twoPc.errorCode, ErrorCode.INVALID_REQUEST, "two-phase commit needs a transactional id");
    } finally {
      conn.close();
    }
  });
});
