/**
 * ACLs enforced on every API family, at the protocol level, against a broker in this process with
 * an authorizer, a PLAINTEXT listener whose anonymous clients are super users (to set things up)
 * and a SASL_PLAINTEXT one where alice (with ACLs), bob (with none) and admin (a super user) log
 * in with SCRAM. For each family, bob is refused with Kafka's error and alice (or admin) goes
 * through; DENY wins over ALLOW; Metadata and ListGroups leave out what a principal may not
 * describe; authorized operations follow the ACLs. Real clients: tests/compat/acls.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type EmbeddedBroker, startBroker } from "../../../../mod.ts";
import { KafkaConnection } from "../../../../src/client/connection.ts";
import { PRODUCE_API } from "../../../../src/protocol/generated/00_produce.ts";
import { FETCH_API } from "../../../../src/protocol/generated/01_fetch.ts";
import { METADATA_API } from "../../../../src/protocol/generated/03_metadata.ts";
import { OFFSET_COMMIT_API } from "../../../../src/protocol/generated/08_offset_commit.ts";
import { FIND_COORDINATOR_API } from "../../../../src/protocol/generated/10_find_coordinator.ts";
import { JOIN_GROUP_API } from "../../../../src/protocol/generated/11_join_group.ts";
import { LIST_GROUPS_API } from "../../../../src/protocol/generated/16_list_groups.ts";
import { CREATE_TOPICS_API } from "../../../../src/protocol/generated/19_create_topics.ts";
import { INIT_PRODUCER_ID_API } from "../../../../src/protocol/generated/22_init_producer_id.ts";
import { DESCRIBE_ACLS_API } from "../../../../src/protocol/generated/29_describe_acls.ts";
import { CREATE_ACLS_API } from "../../../../src/protocol/generated/30_create_acls.ts";
import { DESCRIBE_CONFIGS_API } from "../../../../src/protocol/generated/32_describe_configs.ts";
import { DESCRIBE_USER_SCRAM_CREDENTIALS_API } from "../../../../src/protocol/generated/50_describe_user_scram_credentials.ts";
import { ALTER_USER_SCRAM_CREDENTIALS_API } from "../../../../src/protocol/generated/51_alter_user_scram_credentials.ts";
import { DESCRIBE_CLUSTER_API } from "../../../../src/protocol/generated/60_describe_cluster.ts";
import { CONSUMER_GROUP_HEARTBEAT_API } from "../../../../src/protocol/generated/68_consumer_group_heartbeat.ts";
import { ErrorCode } from "../../../../src/protocol/generated/errors.ts";
import { buildBatch } from "../../../../src/protocol/records/records.ts";
import { saltPassword } from "../../../../src/protocol/sasl/scram.ts";
import { AclOperation as O, PatternType, ResourceType as R } from "../../../../src/broker/acl/model.ts";
import { connect } from "../../../support/runtime.ts";

const ALLOW = 3;
const DENY = 2;

async function setUp(broker: EmbeddedBroker) {
  const plain = broker.listeners.find((l) => l.name === "PLAINTEXT")!;
  const admin = await KafkaConnection.open("127.0.0.1", plain.port, { connect });
  const upsertions = [];
  for (const name of ["alice", "bob", "admin"]) {
    const salt = new Uint8Array(16).fill(7);
    upsertions.push({
      name,
      mechanism: 2,
      iterations: 4096,
      salt,
      saltedPassword: await saltPassword("SCRAM-SHA-512", `${name}-pw`, salt, 4096),
    });
  }
  const users = await admin.request(ALTER_USER_SCRAM_CREDENTIALS_API, 0, { deletions: [], upsertions });
  assert.deepEqual(users.results.map((r) => r.errorCode), [0, 0, 0]);
  const created = await admin.request(CREATE_TOPICS_API, 5, {
    topics: ["orders", "secret"].map((name) => ({
      name,
      numPartitions: 1,
      replicationFactor: 1,
      assignments: [],
      configs: [],
    })),
    timeoutMs: 1000,
  });
  assert.deepEqual(created.topics.map((t) => t.errorCode), [0, 0]);
  const acl = (type: number, name: string, op: number, permission = ALLOW, pattern: number = PatternType.LITERAL) => ({
    resourceType: type,
    resourceName: name,
    resourcePatternType: pattern,
    principal: "User:alice",
    host: "*",
    operation: op,
    permissionType: permission,
  });
  const acls = await admin.request(CREATE_ACLS_API, 3, {
    creations: [
      acl(R.TOPIC, "*", O.READ),
      acl(R.TOPIC, "orders", O.WRITE),
      acl(R.TOPIC, "secret", O.READ, DENY),
      acl(R.TOPIC, "hidden", O.DESCRIBE, DENY),
      acl(R.GROUP, "g", O.READ),
      acl(R.TOPIC, "alice-", O.CREATE, ALLOW, PatternType.PREFIXED),
    ],
  });
  assert.deepEqual(acls.results.map((r) => r.errorCode), [0, 0, 0, 0, 0, 0]);
  admin.close();
  const sasl = broker.listeners.find((l) => l.name === "SASL_PLAINTEXT")!;
  const as = (user: string) =>
    KafkaConnection.open("127.0.0.1", sasl.port, {
      connect,
      sasl: { mechanism: "SCRAM-SHA-512", username: user, password: `${user}-pw` },
    });
  return { alice: await as("alice"), bob: await as("bob"), admin: await as("admin") };
}

const produce = async (c: KafkaConnection, topic: string) =>
  (await c.request(PRODUCE_API, 9, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records: buildBatch([{ value: new Uint8Array([1]) }]) }] }],
  })).responses[0]!.partitionResponses[0]!.errorCode;

const fetch = async (c: KafkaConnection, topic: string) =>
  (await c.request(FETCH_API, 11, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{
      topic,
      partitions: [{ partition: 0, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }],
    }],
    forgottenTopicsData: [],
    rackId: "",
  })).responses[0]!.partitions[0]!.errorCode;

test("ACLs on every API family: refused without them, allowed with them; DENY wins; super users pass", async () => {
  await using broker = await startBroker({
    logLevel: "silent",
    config: {
      "listeners": "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
      "sasl.enabled.mechanisms": "SCRAM-SHA-512",
      "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
      "super.users": "User:ANONYMOUS;User:admin",
      "auto.create.topics.enable": "false",
    },
  });
  const { alice, bob, admin } = await setUp(broker);
  try {
    // Produce and fetch.
    assert.equal(await produce(bob, "orders"), ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    assert.equal(await produce(alice, "orders"), ErrorCode.NONE);
    assert.equal(await produce(alice, "secret"), ErrorCode.TOPIC_AUTHORIZATION_FAILED, "READ does not imply WRITE");
    assert.equal(await fetch(bob, "orders"), ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    assert.equal(await fetch(alice, "orders"), ErrorCode.NONE);
    assert.equal(await fetch(alice, "secret"), ErrorCode.TOPIC_AUTHORIZATION_FAILED, "DENY wins over ALLOW on *");
    assert.equal(await produce(admin, "secret"), ErrorCode.NONE, "super users pass");

    // Metadata: what may not be described is left out, or refused by name; authorized operations.
    const metadata = (c: KafkaConnection, topics: { name: string }[] | null) =>
      c.request(METADATA_API, 12, {
        topics: topics?.map((t) => ({ ...t, topicId: "AAAAAAAAAAAAAAAAAAAAAA" })) ?? null,
        allowAutoTopicCreation: false,
        includeTopicAuthorizedOperations: true,
      });
    assert.deepEqual((await metadata(bob, null)).topics, []);
    assert.deepEqual((await metadata(bob, [{ name: "orders" }])).topics.map((t) => t.errorCode), [
      ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    ]);
    const mine = (await metadata(alice, null)).topics;
    // READ on * implies DESCRIBE; a DENY of READ on secret implies nothing, so secret is described.
    assert.deepEqual(mine.map((t) => t.name), ["orders", "secret"]);
    const ops = mine[0]!.topicAuthorizedOperations;
    for (const op of [O.READ, O.WRITE, O.DESCRIBE]) assert.ok(ops & (1 << op), `bit ${op}`);
    assert.equal(ops & (1 << O.DELETE), 0);

    // Groups.
    const findGroup = async (c: KafkaConnection, key: string) =>
      (await c.request(FIND_COORDINATOR_API, 4, { key: "", keyType: 0, coordinatorKeys: [key] })).coordinators[0]!
        .errorCode;
    assert.equal(await findGroup(bob, "g"), ErrorCode.GROUP_AUTHORIZATION_FAILED);
    assert.equal(await findGroup(alice, "g"), ErrorCode.NONE, "READ implies DESCRIBE");
    const join = await bob.request(JOIN_GROUP_API, 5, {
      groupId: "g",
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      memberId: "",
      groupInstanceId: null,
      protocolType: "consumer",
      protocols: [{ name: "range", metadata: new Uint8Array(0) }],
      reason: null,
    });
    assert.equal(join.errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
    const commit = await alice.request(OFFSET_COMMIT_API, 7, {
      groupId: "g",
      generationIdOrMemberEpoch: -1,
      memberId: "",
      groupInstanceId: null,
      topics: ["orders", "secret"].map((name) => ({
        name,
        partitions: [{ partitionIndex: 0, committedOffset: 1n, committedMetadata: null }],
      })),
    });
    assert.deepEqual(commit.topics.map((t) => t.partitions[0]!.errorCode), [
      ErrorCode.NONE,
      ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    ]);
    const listed = async (c: KafkaConnection) =>
      (await c.request(LIST_GROUPS_API, 4, { statesFilter: [], typesFilter: [] })).groups.map((g) => g.groupId);
    assert.deepEqual(await listed(alice), ["g"]);
    assert.deepEqual(await listed(bob), []);

    // Topic admin: CREATE on a prefix.
    const create = async (c: KafkaConnection, name: string) =>
      (await c.request(CREATE_TOPICS_API, 5, {
        topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 1000,
      })).topics[0]!.errorCode;
    assert.equal(await create(alice, "alice-new"), ErrorCode.NONE);
    assert.equal(await create(alice, "other"), ErrorCode.TOPIC_AUTHORIZATION_FAILED);

    // Configs: a topic's and the broker's.
    const configs = await bob.request(DESCRIBE_CONFIGS_API, 4, {
      resources: [
        { resourceType: 2, resourceName: "orders", configurationKeys: null },
        { resourceType: 4, resourceName: "1", configurationKeys: null },
      ],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    assert.deepEqual(configs.results.map((r) => r.errorCode), [
      ErrorCode.TOPIC_AUTHORIZATION_FAILED,
      ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    ]);

    // Transactions, users, the cluster, ACLs.
    const init = await bob.request(INIT_PRODUCER_ID_API, 4, {
      transactionalId: "t1",
      transactionTimeoutMs: 60_000,
      producerId: -1n,
      producerEpoch: -1,
    });
    assert.equal(init.errorCode, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    // An idempotent producer: IDEMPOTENT_WRITE on the cluster or WRITE on some topic (alice writes orders).
    const idempotent = (c: KafkaConnection) =>
      c.request(INIT_PRODUCER_ID_API, 4, {
        transactionalId: null,
        transactionTimeoutMs: 60_000,
        producerId: -1n,
        producerEpoch: -1,
      });
    assert.equal((await idempotent(bob)).errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    assert.equal((await idempotent(alice)).errorCode, ErrorCode.NONE);
    assert.equal((await idempotent(admin)).errorCode, ErrorCode.NONE);
    // KIP-848: a subscription by names needs DESCRIBE on each topic (alice may not describe "hidden").
    const heartbeat = (c: KafkaConnection, topics: string[]) =>
      c.request(CONSUMER_GROUP_HEARTBEAT_API, 0, {
        groupId: "g",
        memberId: "",
        memberEpoch: 0,
        instanceId: null,
        rackId: null,
        rebalanceTimeoutMs: 30_000,
        subscribedTopicNames: topics,
        serverAssignor: null,
        topicPartitions: [],
      });
    assert.equal((await heartbeat(alice, ["orders", "hidden"])).errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    const joined = await heartbeat(alice, ["orders"]);
    assert.equal(joined.errorCode, ErrorCode.NONE);
    await alice.request(CONSUMER_GROUP_HEARTBEAT_API, 0, {
      groupId: "g",
      memberId: joined.memberId!,
      memberEpoch: -1,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: -1,
      subscribedTopicNames: null,
      serverAssignor: null,
      topicPartitions: null,
    });
    const users = await bob.request(DESCRIBE_USER_SCRAM_CREDENTIALS_API, 0, { users: null });
    assert.equal(users.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    const cluster = (c: KafkaConnection) =>
      c.request(DESCRIBE_CLUSTER_API, 1, { includeClusterAuthorizedOperations: true, endpointType: 1 });
    assert.equal((await cluster(bob)).errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    assert.equal((await cluster(admin)).errorCode, ErrorCode.NONE);
    const acls = await bob.request(DESCRIBE_ACLS_API, 3, {
      resourceTypeFilter: 1,
      resourceNameFilter: null,
      patternTypeFilter: 1,
      principalFilter: null,
      hostFilter: null,
      operation: 1,
      permissionType: 1,
    });
    assert.equal(acls.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
  } finally {
    for (const c of [alice, bob, admin]) c.close();
  }
});
