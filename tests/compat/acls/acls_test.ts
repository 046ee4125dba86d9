/**
 * The ACL APIs through real clients against `kbin serve` with an authorizer
 * (`authorizer.class.name`) and the PLAINTEXT tool connection as super user: KafkaJS 2.2.4's
 * `createAcls`, `describeAcls`, `deleteAcls` and @platformatic/kafka's, across each other (one
 * creates, the other lists and deletes); Kafka's errors reach them (INVALID_REQUEST per binding,
 * CLUSTER_AUTHORIZATION_FAILED on a broker without the super user, SECURITY_DISABLED without an
 * authorizer); `kbin acl add|list|remove` end to end, with one-line errors for bad input.
 */
import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  Kafka,
  logLevel,
  ResourcePatternTypes,
} from "kafkajs";
import { Admin } from "@platformatic/kafka";
import { type BrokerProcess, BUN, MAIN, startBrokerProcess } from "../../support/broker_process.ts";
import { run } from "../shared/kbin.ts";

const AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer";
const ON = ["--set", `authorizer.class.name=${AUTHORIZER}`];

function kafkajsAdmin(broker: BrokerProcess) {
  return new Kafka({
    brokers: [broker.bootstrap],
    clientId: "kafkajs-acls",
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  }).admin();
}

const readOrders = {
  resourceType: AclResourceTypes.TOPIC,
  resourceName: "orders",
  resourcePatternType: ResourcePatternTypes.LITERAL,
  principal: "User:alice",
  host: "*",
  operation: AclOperationTypes.READ,
  permissionType: AclPermissionTypes.ALLOW,
};
const anyFilter = {
  resourceType: AclResourceTypes.ANY,
  resourcePatternType: ResourcePatternTypes.ANY,
  operation: AclOperationTypes.ANY,
  permissionType: AclPermissionTypes.ANY,
};

describe("ACL APIs through real clients", () => {
  let broker: BrokerProcess;
  const kbin = (args: string[]) => run(BUN, [MAIN, ...args, "-b", broker.bootstrap], { timeoutMs: 60_000 });

  before(async () => {
    broker = await startBrokerProcess({ args: [...ON, "--set", "super.users=User:ANONYMOUS"] });
  });
  after(async () => {
    await broker?.[Symbol.asyncDispose]();
  });
  // Each test starts without ACLs.
  beforeEach(async () => {
    const r = await kbin(["acl", "remove", "--force"]);
    assert.equal(r.code, 0, r.stderr);
  });

  test("KafkaJS creates, describes (by filter, MATCH, prefixed) and deletes ACLs", async () => {
    const admin = kafkajsAdmin(broker);
    await admin.connect();
    try {
      assert.equal(
        await admin.createAcls({
          acl: [
            readOrders,
            readOrders, // a duplicate: accepted, stored once
            { ...readOrders, resourceName: "orders-", resourcePatternType: ResourcePatternTypes.PREFIXED },
            { ...readOrders, principal: "User:*", operation: AclOperationTypes.DESCRIBE, resourceName: "*" },
            {
              ...readOrders,
              resourceType: AclResourceTypes.GROUP,
              resourceName: "billing",
              permissionType: AclPermissionTypes.DENY,
            },
          ],
        }),
        true,
      );
      const all = await admin.describeAcls({ ...anyFilter });
      assert.deepEqual(
        all.resources.map((r) => [r.resourceType, r.resourceName, r.resourcePatternType, r.acls.length]),
        [
          [AclResourceTypes.TOPIC, "*", ResourcePatternTypes.LITERAL, 1],
          [AclResourceTypes.TOPIC, "orders", ResourcePatternTypes.LITERAL, 1],
          [AclResourceTypes.TOPIC, "orders-", ResourcePatternTypes.PREFIXED, 1],
          [AclResourceTypes.GROUP, "billing", ResourcePatternTypes.LITERAL, 1],
        ],
      );
      const match = await admin.describeAcls({
        ...anyFilter,
        resourceType: AclResourceTypes.TOPIC,
        resourceName: "orders-eu",
        resourcePatternType: ResourcePatternTypes.MATCH,
      });
      assert.deepEqual(match.resources.map((r) => r.resourceName), ["*", "orders-"]);
      const denies = await admin.describeAcls({ ...anyFilter, permissionType: AclPermissionTypes.DENY });
      assert.deepEqual(denies.resources.map((r) => r.acls), [[{
        principal: "User:alice",
        host: "*",
        operation: AclOperationTypes.READ,
        permissionType: AclPermissionTypes.DENY,
      }]]);
      const deleted = await admin.deleteAcls({
        filters: [{ ...anyFilter, resourceType: AclResourceTypes.TOPIC, principal: "User:alice" }],
      });
      assert.equal(deleted.filterResponses[0]!.errorCode, 0);
      assert.deepEqual(deleted.filterResponses[0]!.matchingAcls.map((m) => m.resourceName).sort(), [
        "orders",
        "orders-",
      ]);
      const left = await admin.deleteAcls({ filters: [{ ...anyFilter }] });
      assert.equal(left.filterResponses[0]!.matchingAcls.length, 2);
      assert.deepEqual((await admin.describeAcls({ ...anyFilter })).resources, []);
    } finally {
      await admin.disconnect();
    }
  });

  test("KafkaJS gets INVALID_REQUEST for a principal without a type and a cluster not named kafka-cluster", async () => {
    const admin = kafkajsAdmin(broker);
    await admin.connect();
    try {
      await assert.rejects(
        admin.createAcls({ acl: [{ ...readOrders, principal: "alice" }] }),
        (e: Error & { type?: string }) => e.type === "INVALID_REQUEST",
      );
      await assert.rejects(
        admin.createAcls({ acl: [{ ...readOrders, resourceType: AclResourceTypes.CLUSTER, resourceName: "prod" }] }),
        (e: Error & { type?: string }) => e.type === "INVALID_REQUEST",
      );
    } finally {
      await admin.disconnect();
    }
  });

  test("@platformatic/kafka and KafkaJS see each other's ACLs", async () => {
    const admin = new Admin({ clientId: "pk-acls", bootstrapBrokers: [broker.bootstrap], retries: 0 });
    const kjs = kafkajsAdmin(broker);
    await kjs.connect();
    try {
      await admin.createAcls({
        creations: [{
          resourceType: AclResourceTypes.TRANSACTIONAL_ID,
          resourceName: "app-",
          resourcePatternType: ResourcePatternTypes.PREFIXED,
          principal: "User:bob",
          host: "10.0.0.7",
          operation: AclOperationTypes.WRITE,
          permissionType: AclPermissionTypes.ALLOW,
        }] as never,
      });
      const seen = await kjs.describeAcls({ ...anyFilter, resourceType: AclResourceTypes.TRANSACTIONAL_ID });
      assert.deepEqual(seen.resources, [{
        resourceType: AclResourceTypes.TRANSACTIONAL_ID,
        resourceName: "app-",
        resourcePatternType: ResourcePatternTypes.PREFIXED,
        acls: [{
          principal: "User:bob",
          host: "10.0.0.7",
          operation: AclOperationTypes.WRITE,
          permissionType: AclPermissionTypes.ALLOW,
        }],
      }]);
      const described = await admin.describeAcls({
        filter: { ...anyFilter, resourceType: AclResourceTypes.TRANSACTIONAL_ID, principal: "User:bob" } as never,
      });
      assert.equal(described.length, 1);
      assert.equal(described[0]!.resourceName, "app-");
      const deleted = await admin.deleteAcls({ filters: [{ ...anyFilter, principal: "User:bob" }] as never });
      assert.deepEqual(deleted.map((a) => [a.resourceName, a.principal]), [["app-", "User:bob"]]);
      assert.deepEqual((await kjs.describeAcls({ ...anyFilter })).resources, []);
    } finally {
      await kjs.disconnect();
      await admin.close();
    }
  });

  test("kbin acl add, list and remove; remove without --force only lists; bad input is one line", async () => {
    const add = await kbin([
      "acl",
      "add",
      "--allow",
      "--principal",
      "User:carol",
      "--operation",
      "read",
      "--operation",
      "Describe",
      "--topic",
      "logs-",
      "--prefixed",
    ]);
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /Added ACL TOPIC:PREFIXED:logs- ALLOW User:carol READ from \*/);
    const deny = await kbin(["acl", "add", "--deny", "--principal", "User:carol", "--operation", "all", "--cluster"]);
    assert.equal(deny.code, 0, deny.stderr);
    const list = await kbin(["acl", "list", "--json", "--principal", "User:carol"]);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout).map((a: Record<string, string>) => [a.resourceType, a.operation]), [
      ["TOPIC", "READ"],
      ["TOPIC", "DESCRIBE"],
      ["CLUSTER", "ALL"],
    ]);
    const text = await kbin(["acl", "list", "--topic", "logs-app", "--pattern-type", "match"]);
    assert.equal(text.stdout.trim().split("\n").length, 2, text.stdout);
    assert.match(text.stdout, /^TOPIC\tPREFIXED\tlogs-\tALLOW\tUser:carol\tREAD\t\*$/m);
    const dry = await kbin(["acl", "remove", "--principal", "User:carol", "--operation", "read"]);
    assert.equal(dry.code, 1);
    assert.match(dry.stderr, /1 ACL\(s\) match; run again with --force/);
    assert.equal((await kbin(["acl", "list", "--principal", "User:carol"])).stdout.trim().split("\n").length, 3);
    const rm = await kbin(["acl", "remove", "--principal", "User:carol", "--force"]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal(rm.stdout.match(/^Removed ACL/gm)?.length, 3);
    assert.equal((await kbin(["acl", "list"])).stdout, "");
    for (
      const [args, message] of [
        [["acl", "add", "--principal", "User:x", "--operation", "read", "--topic", "t"], /give --allow or --deny/],
        [["acl", "add", "--allow", "--principal", "x", "--operation", "read", "--topic", "t"], /Type:name/],
        [
          ["acl", "add", "--allow", "--principal", "User:x", "--operation", "eat", "--topic", "t"],
          /unknown operation "eat"/,
        ],
        [["acl", "add", "--allow", "--principal", "User:x", "--operation", "read"], /give a resource/],
        [["acl", "list", "--pattern-type", "fuzzy"], /--pattern-type is literal, prefixed, any or match/],
        [["acl", "list", "--topic", "a", "--group", "b"], /at most one resource/],
        [["acl", "nope"], /unknown command "nope"/],
      ] as const
    ) {
      const r = await kbin([...args]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
  });
});

describe("ACL APIs refused", () => {
  test("without the super user: CLUSTER_AUTHORIZATION_FAILED to KafkaJS and kbin acl", async () => {
    await using broker = await startBrokerProcess({ args: ON });
    const admin = kafkajsAdmin(broker);
    await admin.connect();
    try {
      await assert.rejects(
        admin.createAcls({ acl: [readOrders] }),
        (e: Error & { type?: string }) => e.type === "CLUSTER_AUTHORIZATION_FAILED",
      );
      await assert.rejects(
        admin.describeAcls({ ...anyFilter }),
        (e: Error & { type?: string }) => e.type === "CLUSTER_AUTHORIZATION_FAILED",
      );
      await assert.rejects(
        admin.deleteAcls({ filters: [{ ...anyFilter }] }),
        (e: Error & { type?: string }) => e.type === "CLUSTER_AUTHORIZATION_FAILED",
      );
    } finally {
      await admin.disconnect();
    }
    const r = await run(BUN, [MAIN, "acl", "list", "-b", broker.bootstrap], { timeoutMs: 60_000 });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /acl list: cannot list ACLs: CLUSTER_AUTHORIZATION_FAILED/);
  });

  test("without an authorizer: SECURITY_DISABLED", async () => {
    await using broker = await startBrokerProcess();
    const admin = kafkajsAdmin(broker);
    await admin.connect();
    try {
      await assert.rejects(
        admin.describeAcls({ ...anyFilter }),
        (e: Error & { type?: string }) => e.type === "SECURITY_DISABLED",
      );
    } finally {
      await admin.disconnect();
    }
    const r = await run(BUN, [
      MAIN,
      "acl",
      "add",
      "--allow",
      "--principal",
      "User:a",
      "--operation",
      "read",
      "--topic",
      "t",
      "-b",
      broker.bootstrap,
    ], { timeoutMs: 60_000 });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /SECURITY_DISABLED: No Authorizer is configured/);
  });
});
