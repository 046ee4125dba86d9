import assert from "node:assert/strict";
import { test } from "node:test";
import {
  formatAssignment,
  formatGroupDescription,
  formatGroupList,
  formatResetPlan,
  formatTable,
  groupDescriptionJson,
  groupListJson,
  joinSignedValues,
  parseDateTime,
  parseResetStrategy,
  parseStates,
  parseTopicSpec,
  parseTypes,
  partitionRows,
  resetOffset,
} from "../../../src/cli/group.ts";
import { CliError } from "../../../src/cli/io.ts";
import type { GroupDescription } from "../../../src/client/groups.ts";
import { ErrorCode } from "../../../src/protocol/generated/errors.ts";

/** Asserts that `fn` throws a usage error (exit 2) whose message matches `pattern`. */
function usageError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CliError, String(err));
    assert.equal(err.exitCode, 2);
    assert.match(err.message, pattern);
    return true;
  });
}

const GROUP: GroupDescription = {
  groupId: "orders-service",
  errorCode: 0,
  errorMessage: null,
  type: "classic",
  state: "Stable",
  protocolType: "consumer",
  assignor: "range",
  coordinator: { nodeId: 1, host: "127.0.0.1", port: 9092 },
  members: [
    {
      memberId: "m-2",
      instanceId: "pod-b",
      clientId: "app",
      host: "/10.0.0.2",
      assignment: [{ topic: "orders", partitions: [1] }],
    },
    {
      memberId: "m-1",
      instanceId: null,
      clientId: "app",
      host: "/10.0.0.1",
      assignment: [{ topic: "orders", partitions: [2, 0] }, { topic: "audit", partitions: [0] }],
    },
  ],
};

test("formatTable() aligns columns two spaces apart and leaves no trailing spaces", () => {
  assert.equal(
    formatTable(["TOPIC", "PARTITION", "LAG"], [["orders", "0", "12"], ["a", "10", ""]]),
    "TOPIC   PARTITION  LAG\n" +
      "orders  0          12\n" +
      "a       10\n",
  );
});

test("formatTable() prints only the header for no rows", () => {
  assert.equal(formatTable(["GROUP", "STATE"], []), "GROUP  STATE\n");
});

test("parseStates() takes comma-separated and repeated states in any case, spelled as Kafka does", () => {
  assert.deepEqual(parseStates(["stable,EMPTY", "preparingrebalance", "Stable"]), [
    "Stable",
    "Empty",
    "PreparingRebalance",
  ]);
  assert.deepEqual(parseStates([]), []);
  usageError(() => parseStates(["Stable,Sleeping"]), /unknown state "Sleeping" \(expected one of Stable, Empty/);
});

test("parseTypes() accepts classic and consumer only", () => {
  assert.deepEqual(parseTypes(["Classic", "consumer,classic"]), ["classic", "consumer"]);
  usageError(() => parseTypes(["share"]), /unknown type "share"/);
});

test("parseTopicSpec() reads T and T:P,P… with sorted, distinct partitions", () => {
  assert.deepEqual(parseTopicSpec("orders"), { topic: "orders", partitions: null });
  assert.deepEqual(parseTopicSpec("orders:2,0,2"), { topic: "orders", partitions: [0, 2] });
  assert.deepEqual(parseTopicSpec("a.b_c-d:7"), { topic: "a.b_c-d", partitions: [7] });
});

test("parseTopicSpec() rejects an empty name and partitions that are not whole numbers", () => {
  usageError(() => parseTopicSpec(":1"), /needs a topic name/);
  for (const bad of ["orders:", "orders:x", "orders:-1", "orders:1,,2", "orders:1.5"]) {
    usageError(() => parseTopicSpec(bad), /expects T or T:P,P…/);
  }
});

test("parseDateTime() reads UTC, offsets, fractions and epoch milliseconds", () => {
  assert.equal(parseDateTime("2024-05-01T12:00:00Z"), Date.UTC(2024, 4, 1, 12));
  assert.equal(parseDateTime("2024-05-01T12:00:00.250Z"), Date.UTC(2024, 4, 1, 12, 0, 0, 250));
  assert.equal(parseDateTime("2024-05-01T12:00:00.5z"), Date.UTC(2024, 4, 1, 12, 0, 0, 500));
  assert.equal(parseDateTime("2024-05-01T14:00:00+02:00"), Date.UTC(2024, 4, 1, 12));
  assert.equal(parseDateTime("2024-05-01T06:30-0530"), Date.UTC(2024, 4, 1, 12));
  assert.equal(parseDateTime("2024-05-01 12:00Z"), Date.UTC(2024, 4, 1, 12));
  assert.equal(parseDateTime("1714564800000"), 1714564800000);
});

test("parseDateTime() reads a time without a zone as local time, like Kafka's tool", () => {
  assert.equal(parseDateTime("2024-05-01T12:34:56"), new Date(2024, 4, 1, 12, 34, 56).getTime());
  assert.equal(parseDateTime("2024-05-01"), new Date(2024, 4, 1).getTime());
});

test("parseDateTime() returns null for text that is not a real ISO 8601 time", () => {
  for (const bad of ["yesterday", "2024-02-30", "2024-13-01", "2024-05-01T25:00:00Z", "2024-5-1", ""]) {
    assert.equal(parseDateTime(bad), null, bad);
  }
});

test("resetOffset() computes each strategy and clamps to [earliest, latest]", () => {
  const p = { current: 50n, earliest: 10n, latest: 100n };
  assert.deepEqual(resetOffset({ kind: "earliest" }, p), { offset: 10n });
  assert.deepEqual(resetOffset({ kind: "latest" }, p), { offset: 100n });
  assert.deepEqual(resetOffset({ kind: "offset", offset: 70n }, p), { offset: 70n });
  assert.deepEqual(resetOffset({ kind: "offset", offset: 5n }, p), { offset: 10n });
  assert.deepEqual(resetOffset({ kind: "offset", offset: 500n }, p), { offset: 100n });
  assert.deepEqual(resetOffset({ kind: "shift", by: -20n }, p), { offset: 30n });
  assert.deepEqual(resetOffset({ kind: "shift", by: -45n }, p), { offset: 10n });
  assert.deepEqual(resetOffset({ kind: "shift", by: 60n }, p), { offset: 100n });
  assert.deepEqual(resetOffset({ kind: "datetime", timestampMs: 0 }, { ...p, atTime: 42n }), { offset: 42n });
});

test("resetOffset() --to-datetime past the last record goes to the log end", () => {
  assert.deepEqual(
    resetOffset({ kind: "datetime", timestampMs: 0 }, { current: null, earliest: 0n, latest: 9n, atTime: -1n }),
    {
      offset: 9n,
    },
  );
});

test("resetOffset() refuses to shift a partition without a committed offset", () => {
  assert.deepEqual(resetOffset({ kind: "shift", by: 1n }, { current: null, earliest: 0n, latest: 9n }), {
    error: "the group has no committed offset to shift",
  });
});

test("parseResetStrategy() takes exactly one strategy", () => {
  assert.deepEqual(parseResetStrategy({ "to-earliest": true }), { kind: "earliest" });
  assert.deepEqual(parseResetStrategy({ "to-latest": true }), { kind: "latest" });
  assert.deepEqual(parseResetStrategy({ "to-offset": "42" }), { kind: "offset", offset: 42n });
  assert.deepEqual(parseResetStrategy({ "shift-by": "-3" }), { kind: "shift", by: -3n });
  assert.deepEqual(parseResetStrategy({ "shift-by": "+3" }), { kind: "shift", by: 3n });
  assert.deepEqual(parseResetStrategy({ "to-datetime": "2024-05-01T00:00:00Z" }), {
    kind: "datetime",
    timestampMs: Date.UTC(2024, 4, 1),
  });
  usageError(() => parseResetStrategy({}), /give exactly one of --to-earliest/);
  usageError(() => parseResetStrategy({ "to-earliest": true, "to-latest": true }), /give exactly one/);
  usageError(() => parseResetStrategy({ "to-offset": "ten" }), /--to-offset must be a whole number, got "ten"/);
  usageError(() => parseResetStrategy({ "to-datetime": "soon" }), /--to-datetime expects an ISO 8601 time/);
});

test("joinSignedValues() keeps a negative --shift-by or --to-offset with its option", () => {
  assert.deepEqual(joinSignedValues(["g", "--shift-by", "-5", "--topic", "t"]), ["g", "--shift-by=-5", "--topic", "t"]);
  assert.deepEqual(joinSignedValues(["--to-offset", "-1"]), ["--to-offset=-1"]);
  assert.deepEqual(joinSignedValues(["--shift-by", "--execute"]), ["--shift-by", "--execute"]);
  assert.deepEqual(joinSignedValues(["--topic", "-5"]), ["--topic", "-5"]);
});

test("partitionRows() joins assignments, commits and log ends, with lag only when both are known", () => {
  const rows = partitionRows(
    GROUP,
    [
      { topic: "orders", partition: 0, offset: 40n },
      { topic: "orders", partition: 1, offset: 7n },
      { topic: "gone", partition: 0, offset: 3n },
      { topic: "orders", partition: 3, offset: -1n },
    ],
    [
      { topic: "orders", partition: 0, offset: 52n, errorCode: 0 },
      { topic: "orders", partition: 1, offset: 7n, errorCode: 0 },
      { topic: "orders", partition: 2, offset: 9n, errorCode: 0 },
      { topic: "audit", partition: 0, offset: -1n, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER },
      { topic: "gone", partition: 0, offset: -1n, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION },
    ],
  );
  assert.deepEqual(rows, [
    { topic: "audit", partition: 0, committedOffset: null, logEndOffset: null, lag: null, memberId: "m-1" },
    { topic: "gone", partition: 0, committedOffset: 3n, logEndOffset: null, lag: null, memberId: null },
    { topic: "orders", partition: 0, committedOffset: 40n, logEndOffset: 52n, lag: 12n, memberId: "m-1" },
    { topic: "orders", partition: 1, committedOffset: 7n, logEndOffset: 7n, lag: 0n, memberId: "m-2" },
    { topic: "orders", partition: 2, committedOffset: null, logEndOffset: 9n, lag: null, memberId: "m-1" },
  ]);
});

test("formatAssignment() sorts topics and partitions, and marks empty and undecodable assignments", () => {
  assert.equal(
    formatAssignment([{ topic: "orders", partitions: [2, 0] }, { topic: "audit", partitions: [0] }]),
    "audit:0 orders:0,2",
  );
  assert.equal(formatAssignment([]), "-");
  assert.equal(formatAssignment([{ topic: "orders", partitions: [] }]), "-");
  assert.equal(formatAssignment(null), "?");
});

test("formatGroupList() prints a table, '-' for unknown values, and nothing for no groups", () => {
  const groups = [
    { groupId: "a", type: "classic", state: "Stable", protocolType: "consumer" },
    { groupId: "offsets-only", type: "classic", state: "Empty", protocolType: "" },
    { groupId: "old-broker", type: null, state: null, protocolType: "consumer" },
    { groupId: "new", type: "consumer", state: "Reconciling", protocolType: "consumer" },
  ];
  assert.equal(
    formatGroupList(groups),
    "GROUP         TYPE      STATE        PROTOCOL-TYPE\n" +
      "a             classic   Stable       consumer\n" +
      "offsets-only  classic   Empty        -\n" +
      "old-broker    classic   -            consumer\n" +
      "new           consumer  Reconciling  consumer\n",
  );
  assert.equal(formatGroupList([]), "");
  assert.deepEqual(groupListJson(groups.slice(1, 3)), [
    { group: "offsets-only", type: "classic", state: "Empty", protocolType: "" },
    { group: "old-broker", type: "classic", state: null, protocolType: "consumer" },
  ]);
});

test("formatGroupDescription() prints the header, the members and the partitions", () => {
  const rows = partitionRows(GROUP, [{ topic: "orders", partition: 0, offset: 40n }], [
    { topic: "orders", partition: 0, offset: 52n, errorCode: 0 },
    { topic: "orders", partition: 1, offset: 8n, errorCode: 0 },
  ]);
  assert.equal(
    formatGroupDescription(GROUP, rows),
    `Group:         orders-service
Type:          classic
State:         Stable
Protocol type: consumer
Assignor:      range
Coordinator:   1 (127.0.0.1:9092)
Members:       2
Total lag:     12

MEMBER-ID  INSTANCE-ID  CLIENT-ID  HOST       PARTITIONS
m-1        -            app        /10.0.0.1  audit:0 orders:0,2
m-2        pod-b        app        /10.0.0.2  orders:1

TOPIC   PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG  MEMBER-ID
audit   0          -               -               -    m-1
orders  0          40              52              12   m-1
orders  1          -               8               -    m-2
orders  2          -               -               -    m-1
`,
  );
});

test("formatGroupDescription() says so when a group has no members and no partitions", () => {
  const empty: GroupDescription = { ...GROUP, state: "Empty", assignor: "", members: [] };
  assert.equal(
    formatGroupDescription(empty, []),
    `Group:         orders-service
Type:          classic
State:         Empty
Protocol type: consumer
Assignor:      -
Coordinator:   1 (127.0.0.1:9092)
Members:       0
Total lag:     0

No active members.

No assigned partitions and no committed offsets.
`,
  );
});

test("groupDescriptionJson() gives offsets as numbers and unknown values as null", () => {
  const rows = partitionRows(GROUP, [{ topic: "orders", partition: 0, offset: 40n }], [
    { topic: "orders", partition: 0, offset: 52n, errorCode: 0 },
  ]);
  const json = groupDescriptionJson(GROUP, rows) as Record<string, unknown>;
  assert.equal(json["group"], "orders-service");
  assert.equal(json["totalLag"], 12);
  assert.deepEqual((json["members"] as unknown[])[1], {
    memberId: "m-1",
    instanceId: null,
    clientId: "app",
    host: "/10.0.0.1",
    assignment: [{ topic: "orders", partitions: [2, 0] }, { topic: "audit", partitions: [0] }],
  });
  assert.deepEqual((json["partitions"] as unknown[]).slice(0, 2), [
    { topic: "audit", partition: 0, committedOffset: null, logEndOffset: null, lag: null, memberId: "m-1" },
    { topic: "orders", partition: 0, committedOffset: 40, logEndOffset: 52, lag: 12, memberId: "m-1" },
  ]);
  assert.doesNotThrow(() => JSON.stringify(json));
});

test("formatResetPlan() prints the current and the new offset of each partition", () => {
  assert.equal(
    formatResetPlan([
      { topic: "orders", partition: 0, currentOffset: 40n, newOffset: 0n },
      { topic: "orders", partition: 1, currentOffset: null, newOffset: 0n },
    ]),
    "TOPIC   PARTITION  CURRENT-OFFSET  NEW-OFFSET\n" +
      "orders  0          40              0\n" +
      "orders  1          -               0\n",
  );
});
