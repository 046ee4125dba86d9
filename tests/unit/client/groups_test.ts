import assert from "node:assert/strict";
import { test } from "node:test";
import type { KafkaClient } from "../../../src/client/client.ts";
import { clientMaxVersion } from "../../../src/client/connection.ts";
import {
  commitOffsets,
  decodeAssignment,
  describeGroup,
  fetchCommittedOffsets,
  findCoordinator,
  listGroups,
  listOffsets,
} from "../../../src/client/groups.ts";
import type { ApiDescriptor } from "../../../src/protocol/generated/api_keys.ts";
import { encodeConsumerProtocolAssignment } from "../../../src/protocol/generated/data_consumer_protocol_assignment.ts";
import { ErrorCode } from "../../../src/protocol/generated/errors.ts";
import { Reader } from "../../../src/protocol/reader.ts";
import { Writer } from "../../../src/protocol/writer.ts";

type Handler = (request: any, version: number, nodeId: number) => unknown;

/**
 * A KafkaClient stand-in: each request is encoded and decoded at the negotiated version, answered
 * by `handlers[apiKey]`, and the answer is encoded and decoded again, so the codecs' version gates
 * apply as on the wire.
 */
function fakeClient(
  handlers: Record<number, Handler>,
  options: { maxVersions?: Record<number, number>; brokers?: number[] } = {},
) {
  const brokers = options.brokers ?? [1];
  const sent: { apiKey: number; version: number; nodeId: number; request: any }[] = [];
  const conn = (nodeId: number) => ({
    address: `broker${nodeId}:9092`,
    nodeId,
    pickVersion(api: ApiDescriptor<unknown, unknown>, max = api.maxVersion, min = api.minVersion) {
      if (!handlers[api.apiKey]) return null;
      const v = Math.min(options.maxVersions?.[api.apiKey] ?? api.maxVersion, max, clientMaxVersion(api));
      return v >= min ? v : null;
    },
  });
  const client = {
    sent,
    any: async () => conn(brokers[0]!),
    node: async (nodeId: number) => conn(nodeId),
    async metadata(topics: string[] | null) {
      const { response } = await client.send({ apiKey: 3 } as never, () => ({ topics }));
      return response;
    },
    async send(api: ApiDescriptor<any, any>, body: (v: number) => unknown, opts: { to?: any } = {}) {
      const to = opts.to ?? conn(brokers[0]!);
      if (api.apiKey === 3) {
        const md = handlers[3]!(body(12), 12, to.nodeId);
        return { response: md, version: 12 };
      }
      const version = to.pickVersion(api);
      assert.notEqual(version, null, `${api.name} is not offered`);
      const w = new Writer();
      api.encodeRequest(w, version, body(version) as never);
      const request = api.decodeRequest(new Reader(w.toBytes()), version);
      sent.push({ apiKey: api.apiKey, version, nodeId: to.nodeId, request });
      const answer = handlers[api.apiKey]!(request, version, to.nodeId);
      const rw = new Writer();
      api.encodeResponse(rw, version, answer as never);
      return { response: api.decodeResponse(new Reader(rw.toBytes()), version), version };
    },
  };
  return client as typeof client & KafkaClient;
}

function assignmentBlob(version: number, partitions: { topic: string; partitions: number[] }[]): Uint8Array {
  const w = new Writer();
  w.int16(version);
  encodeConsumerProtocolAssignment(w, Math.min(version, 3), { assignedPartitions: partitions, userData: null });
  return w.toBytes();
}

const COORDINATOR = {
  10: (_req: unknown, v: number) =>
    v >= 4
      ? { coordinators: [{ key: "g", nodeId: 2, host: "b2", port: 9092, errorCode: 0 }] }
      : { errorCode: 0, nodeId: 2, host: "b2", port: 9092 },
};

test("decodeAssignment() reads consumer-protocol assignments of every version", () => {
  const parts = [{ topic: "orders", partitions: [0, 2] }, { topic: "audit", partitions: [1] }];
  for (const v of [0, 1, 2, 3]) assert.deepEqual(decodeAssignment(assignmentBlob(v, parts)), parts, `v${v}`);
});

test("decodeAssignment() reads a newer version as the newest known one, as Kafka does", () => {
  const parts = [{ topic: "orders", partitions: [5] }];
  const blob = assignmentBlob(9, parts);
  assert.deepEqual(decodeAssignment(new Uint8Array([...blob, 0, 0, 0, 7])), parts);
});

test("decodeAssignment() gives [] for an empty blob and null for bytes that do not decode", () => {
  assert.deepEqual(decodeAssignment(new Uint8Array(0)), []);
  assert.equal(decodeAssignment(new Uint8Array([0, 0, 0, 0, 0, 9])), null);
  assert.equal(decodeAssignment(new Uint8Array([0xff, 0xff, 0, 0, 0, 0])), null);
});

test("findCoordinator() asks with key type 0 and retries while the coordinator is not available", async () => {
  let calls = 0;
  const client = fakeClient({
    10: (req, v) => {
      calls++;
      assert.equal(req.keyType, 0);
      assert.deepEqual(v >= 4 ? req.coordinatorKeys : [req.key], ["g"]);
      const errorCode = calls < 3 ? ErrorCode.COORDINATOR_NOT_AVAILABLE : 0;
      return { coordinators: [{ key: "g", nodeId: 7, host: "h", port: 1, errorCode }] };
    },
  });
  assert.deepEqual(await findCoordinator(client, "g"), { nodeId: 7, host: "h", port: 1 });
  assert.equal(calls, 3);
});

test("findCoordinator() speaks the pre-KIP-699 form to old brokers", async () => {
  const client = fakeClient(COORDINATOR, { maxVersions: { 10: 3 } });
  assert.deepEqual(await findCoordinator(client, "g"), { nodeId: 2, host: "b2", port: 9092 });
  assert.equal(client.sent[0]!.request.key, "g");
});

test("findCoordinator() throws with the Kafka error name on a lasting error", async () => {
  const client = fakeClient({
    10: () => ({ coordinators: [{ key: "g", nodeId: -1, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED }] }),
  });
  await assert.rejects(
    findCoordinator(client, "g"),
    /Cannot find the coordinator of group "g": GROUP_AUTHORIZATION_FAILED/,
  );
});

test("listGroups() asks every broker, merges and sorts, and applies the filters itself too", async () => {
  const client = fakeClient({
    3: () => ({ brokers: [{ nodeId: 1, host: "b1", port: 1 }, { nodeId: 2, host: "b2", port: 2 }], topics: [] }),
    16: (req, _v, nodeId) => {
      assert.deepEqual(req.statesFilter, ["Stable"]);
      return {
        groups: nodeId === 1
          ? [{ groupId: "z", protocolType: "consumer", groupState: "Stable", groupType: "classic" }]
          : [
            { groupId: "a", protocolType: "consumer", groupState: "Stable", groupType: "Consumer" },
            { groupId: "ignored-filter", protocolType: "", groupState: "Empty", groupType: "classic" },
          ],
      };
    },
  });
  const { groups, errors } = await listGroups(client, { states: ["Stable"] });
  assert.deepEqual(errors, []);
  assert.deepEqual(groups, [
    { groupId: "a", type: "consumer", state: "Stable", protocolType: "consumer" },
    { groupId: "z", type: "classic", state: "Stable", protocolType: "consumer" },
  ]);
  assert.deepEqual(client.sent.map((s) => s.nodeId).sort(), [1, 2]);
});

test("listGroups() leaves state and type unknown on brokers older than ListGroups v4", async () => {
  const client = fakeClient({
    3: () => ({ brokers: [{ nodeId: 1, host: "b1", port: 1 }], topics: [] }),
    16: () => ({ groups: [{ groupId: "g", protocolType: "consumer" }] }),
  }, { maxVersions: { 16: 3 } });
  assert.deepEqual((await listGroups(client)).groups, [{
    groupId: "g",
    type: null,
    state: null,
    protocolType: "consumer",
  }]);
});

const NOT_A_CONSUMER_GROUP = {
  69: () => ({ groups: [{ groupId: "g", errorCode: ErrorCode.GROUP_ID_NOT_FOUND, groupState: "Dead" }] }),
};

test("describeGroup() decodes a classic group's members and their assignments on the coordinator", async () => {
  const client = fakeClient({
    ...COORDINATOR,
    ...NOT_A_CONSUMER_GROUP,
    15: (req) => {
      assert.deepEqual(req.groups, ["g"]);
      return {
        groups: [{
          errorCode: 0,
          groupId: "g",
          groupState: "Stable",
          protocolType: "consumer",
          protocolData: "cooperative-sticky",
          members: [{
            memberId: "m1",
            groupInstanceId: "i1",
            clientId: "c1",
            clientHost: "/10.0.0.1",
            memberMetadata: new Uint8Array(0),
            memberAssignment: assignmentBlob(3, [{ topic: "t", partitions: [0, 1] }]),
          }],
        }],
      };
    },
  });
  const d = await describeGroup(client, "g");
  assert.deepEqual(
    client.sent.map((s) => [s.apiKey, s.nodeId]),
    [[10, 1], [69, 2], [15, 2]],
    "asked on the coordinator",
  );
  assert.deepEqual(d, {
    groupId: "g",
    errorCode: 0,
    errorMessage: null,
    type: "classic",
    state: "Stable",
    protocolType: "consumer",
    assignor: "cooperative-sticky",
    coordinator: { nodeId: 2, host: "b2", port: 9092 },
    members: [{
      memberId: "m1",
      instanceId: "i1",
      clientId: "c1",
      host: "/10.0.0.1",
      assignment: [{ topic: "t", partitions: [0, 1] }],
    }],
  });
});

test("describeGroup() asks only DescribeGroups of a coordinator without ConsumerGroupDescribe", async () => {
  const client = fakeClient({
    ...COORDINATOR,
    15: () => ({ groups: [{ groupId: "g", groupState: "Empty", protocolType: "consumer" }] }),
  });
  assert.equal((await describeGroup(client, "g")).state, "Empty");
  assert.deepEqual(client.sent.map((s) => s.apiKey), [10, 15]);
});

test("describeGroup() does not decode the assignments of a non-consumer protocol", async () => {
  const client = fakeClient({
    ...COORDINATOR,
    15: () => ({
      groups: [{
        groupId: "connect",
        groupState: "Stable",
        protocolType: "connect",
        members: [{ memberId: "w1", clientId: "c", clientHost: "h", memberAssignment: new Uint8Array([1, 2, 3]) }],
      }],
    }),
  });
  assert.equal((await describeGroup(client, "connect")).members[0]!.assignment, null);
});

test("describeGroup() describes a KIP-848 group with ConsumerGroupDescribe alone", async () => {
  const client = fakeClient({
    ...COORDINATOR,
    15: () => assert.fail("DescribeGroups asked for a KIP-848 group"),
    69: (req) => {
      assert.deepEqual(req.groupIds, ["g"]);
      return {
        groups: [{
          groupId: "g",
          groupState: "Stable",
          groupEpoch: 3,
          assignmentEpoch: 3,
          assignorName: "uniform",
          members: [{
            memberId: "m1",
            instanceId: null,
            memberEpoch: 3,
            clientId: "c1",
            clientHost: "/h",
            subscribedTopicNames: ["t"],
            assignment: { topicPartitions: [{ topicId: "AAAAAAAAAAAAAAAAAAAAAA", topicName: "t", partitions: [2] }] },
            targetAssignment: { topicPartitions: [] },
          }],
        }],
      };
    },
  });
  const d = await describeGroup(client, "g");
  assert.equal(d.type, "consumer");
  assert.equal(d.state, "Stable");
  assert.equal(d.assignor, "uniform");
  assert.deepEqual(d.members[0]!.assignment, [{ topic: "t", partitions: [2] }]);
});

test("describeGroup() reports a ConsumerGroupDescribe error other than GROUP_ID_NOT_FOUND", async () => {
  const client = fakeClient({
    ...COORDINATOR,
    15: () => assert.fail("DescribeGroups asked after an authorization failure"),
    69: () => ({ groups: [{ groupId: "g", errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, errorMessage: "no" }] }),
  });
  const d = await describeGroup(client, "g");
  assert.deepEqual([d.errorCode, d.errorMessage], [ErrorCode.GROUP_AUTHORIZATION_FAILED, "no"]);
});

test("describeGroup() answers an unknown group with DescribeGroups' Dead state", async () => {
  const client = fakeClient({
    ...COORDINATOR,
    ...NOT_A_CONSUMER_GROUP,
    15: () => ({ groups: [{ groupId: "g", groupState: "Dead", protocolType: "" }] }),
  });
  const d = await describeGroup(client, "g");
  assert.deepEqual([d.type, d.state, d.errorCode], ["classic", "Dead", 0]);
});

test("describeGroup() retries on NOT_COORDINATOR, looking the coordinator up again", async () => {
  let calls = 0;
  const client = fakeClient({
    ...COORDINATOR,
    15: () => ({
      groups: [{ groupId: "g", errorCode: ++calls === 1 ? ErrorCode.NOT_COORDINATOR : 0, groupState: "Empty" }],
    }),
  });
  assert.equal((await describeGroup(client, "g")).state, "Empty");
  assert.equal(client.sent.filter((s) => s.apiKey === 10).length, 2);
});

test("fetchCommittedOffsets() reads the v8+ per-group form and the older one alike", async () => {
  for (const max of [9, 7]) {
    const client = fakeClient({
      ...COORDINATOR,
      9: (req, v) => {
        const partitions = [{ partitionIndex: 0, committedOffset: 5n, metadata: "", errorCode: 0 }];
        if (v >= 8) {
          assert.equal(req.groups[0].groupId, "g");
          assert.equal(req.groups[0].topics, null);
          return { groups: [{ groupId: "g", topics: [{ name: "t", partitions }] }] };
        }
        assert.equal(req.groupId, "g");
        assert.equal(req.topics, null);
        return { topics: [{ name: "t", partitions }] };
      },
    }, { maxVersions: { 9: max } });
    const r = await fetchCommittedOffsets(client, "g", null);
    assert.deepEqual(r, {
      errorCode: 0,
      offsets: [{ topic: "t", partition: 0, offset: 5n, metadata: "", errorCode: 0 }],
    }, `v${max}`);
  }
});

test("commitOffsets() commits as a simple consumer: generation -1 and no member id", async () => {
  const client = fakeClient({
    ...COORDINATOR,
    8: (req) => {
      assert.equal(req.generationIdOrMemberEpoch, -1);
      assert.equal(req.memberId, "");
      assert.equal(req.groupInstanceId, null);
      assert.deepEqual(
        req.topics.map((t: any) => [t.name, t.partitions.map((p: any) => [p.partitionIndex, p.committedOffset])]),
        [
          ["t", [[0, 0n], [1, 4n]]],
          ["u", [[0, 9n]]],
        ],
      );
      return {
        topics: req.topics.map((t: any) => ({
          name: t.name,
          partitions: t.partitions.map((p: any) => ({
            partitionIndex: p.partitionIndex,
            errorCode: t.name === "u" ? ErrorCode.UNKNOWN_MEMBER_ID : 0,
          })),
        })),
      };
    },
  });
  const r = await commitOffsets(client, "g", [
    { topic: "t", partition: 0, offset: 0n },
    { topic: "u", partition: 0, offset: 9n },
    { topic: "t", partition: 1, offset: 4n },
  ]);
  assert.deepEqual(r, [
    { topic: "t", partition: 0, errorCode: 0 },
    { topic: "u", partition: 0, errorCode: ErrorCode.UNKNOWN_MEMBER_ID },
    { topic: "t", partition: 1, errorCode: 0 },
  ]);
});

test("listOffsets() sends each partition to its leader and reports partitions without one", async () => {
  const client = fakeClient({
    3: () => ({
      brokers: [{ nodeId: 1, host: "b1", port: 1 }, { nodeId: 2, host: "b2", port: 2 }],
      topics: [
        {
          name: "t",
          errorCode: 0,
          partitions: [
            { partitionIndex: 0, leaderId: 1, errorCode: 0 },
            { partitionIndex: 1, leaderId: 2, errorCode: 0 },
            { partitionIndex: 2, leaderId: -1, errorCode: ErrorCode.LEADER_NOT_AVAILABLE },
          ],
        },
        { name: "missing", errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, partitions: [] },
      ],
    }),
    2: (req, _v, nodeId) => ({
      topics: req.topics.map((t: any) => ({
        name: t.name,
        partitions: t.partitions.map((p: any) => {
          assert.equal(p.partitionIndex + 1, nodeId, "sent to its leader");
          return { partitionIndex: p.partitionIndex, errorCode: 0, offset: BigInt(nodeId * 100) + p.timestamp };
        }),
      })),
    }),
  });
  const r = await listOffsets(client, [
    { topic: "t", partition: 1, timestamp: -1n },
    { topic: "t", partition: 0, timestamp: -2n },
    { topic: "t", partition: 2, timestamp: -1n },
    { topic: "missing", partition: 0, timestamp: -1n },
  ]);
  assert.deepEqual(r, [
    { topic: "t", partition: 1, offset: 199n, errorCode: 0 },
    { topic: "t", partition: 0, offset: 98n, errorCode: 0 },
    { topic: "t", partition: 2, offset: -1n, errorCode: ErrorCode.LEADER_NOT_AVAILABLE },
    { topic: "missing", partition: 0, offset: -1n, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION },
  ]);
});
