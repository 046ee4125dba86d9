/**
 * DescribeAcls, CreateAcls and DeleteAcls at the protocol level, against a broker in this process:
 * SECURITY_DISABLED without an authorizer, CLUSTER_AUTHORIZATION_FAILED without ALTER/DESCRIBE on
 * the cluster, per-binding and per-filter errors, every version. Real clients:
 * tests/compat/acls/.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { startBroker } from "../../../../mod.ts";
import { KafkaConnection } from "../../../../src/client/connection.ts";
import { DESCRIBE_ACLS_API } from "../../../../src/protocol/generated/29_describe_acls.ts";
import { CREATE_ACLS_API } from "../../../../src/protocol/generated/30_create_acls.ts";
import { DELETE_ACLS_API } from "../../../../src/protocol/generated/31_delete_acls.ts";
import { ErrorCode } from "../../../../src/protocol/generated/errors.ts";
import {
  AclOperation as Op,
  AclPermissionType as Perm,
  PatternType as PT,
  ResourceType as RT,
} from "../../../../src/broker/acl/model.ts";
import { connect } from "../../../support/runtime.ts";

const AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer";
const creation = (o: Record<string, unknown> = {}) => ({
  resourceType: RT.TOPIC,
  resourceName: "orders",
  resourcePatternType: PT.LITERAL,
  principal: "User:alice",
  host: "*",
  operation: Op.READ,
  permissionType: Perm.ALLOW,
  ...o,
});
const anyFilter = (o: Record<string, unknown> = {}) => ({
  resourceTypeFilter: RT.ANY,
  resourceNameFilter: null,
  patternTypeFilter: PT.ANY,
  principalFilter: null,
  hostFilter: null,
  operation: Op.ANY,
  permissionType: Perm.ANY,
  ...o,
});

async function withBroker(config: Record<string, string>, fn: (conn: KafkaConnection) => Promise<void>) {
  await using broker = await startBroker({ logLevel: "silent", config });
  const conn = await KafkaConnection.open("127.0.0.1", broker.port, { connect });
  try {
    await fn(conn);
  } finally {
    await conn.close();
  }
}

describe("ACL APIs", () => {
  test("without authorizer.class.name every ACL API answers SECURITY_DISABLED, as Kafka", () =>
    withBroker({}, async (conn) => {
      const d = await conn.request(DESCRIBE_ACLS_API, 3, anyFilter());
      assert.equal(d.errorCode, ErrorCode.SECURITY_DISABLED);
      assert.equal(d.errorMessage, "No Authorizer is configured on the broker");
      const c = await conn.request(CREATE_ACLS_API, 3, { creations: [creation(), creation()] });
      assert.deepEqual(c.results.map((r) => r.errorCode), [ErrorCode.SECURITY_DISABLED, ErrorCode.SECURITY_DISABLED]);
      const x = await conn.request(DELETE_ACLS_API, 3, { filters: [anyFilter()] });
      assert.equal(x.filterResults[0]!.errorCode, ErrorCode.SECURITY_DISABLED);
    }));

  test("without ALTER/DESCRIBE on the cluster the ACL APIs answer CLUSTER_AUTHORIZATION_FAILED", () =>
    withBroker({ "authorizer.class.name": AUTHORIZER }, async (conn) => {
      const d = await conn.request(DESCRIBE_ACLS_API, 3, anyFilter());
      assert.equal(d.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
      assert.match(d.errorMessage!, /User:ANONYMOUS needs DESCRIBE on the cluster/);
      const c = await conn.request(CREATE_ACLS_API, 3, { creations: [creation()] });
      assert.equal(c.results[0]!.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
      const x = await conn.request(DELETE_ACLS_API, 3, { filters: [anyFilter(), anyFilter()] });
      assert.deepEqual(x.filterResults.map((r) => r.errorCode), [
        ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
      ]);
    }));

  test("a cluster ACL grants the ACL APIs: DESCRIBE lists, ALTER is still needed to change", () =>
    withBroker({ "authorizer.class.name": AUTHORIZER, "allow.everyone.if.no.acl.found": "true" }, async (conn) => {
      // No ACL on the cluster yet: allow.everyone.if.no.acl.found lets anyone in.
      const c = await conn.request(CREATE_ACLS_API, 3, {
        creations: [creation({
          resourceType: RT.CLUSTER,
          resourceName: "kafka-cluster",
          principal: "User:ANONYMOUS",
          operation: Op.DESCRIBE,
        })],
      });
      assert.equal(c.results[0]!.errorCode, ErrorCode.NONE);
      const d = await conn.request(DESCRIBE_ACLS_API, 3, anyFilter());
      assert.equal(d.errorCode, ErrorCode.NONE);
      assert.equal(d.resources.length, 1);
      const again = await conn.request(CREATE_ACLS_API, 3, { creations: [creation()] });
      assert.equal(again.results[0]!.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    }));

  test("CreateAcls answers each creation: Kafka's INVALID_REQUEST cases, success for valid and duplicate ones", () =>
    withBroker({ "authorizer.class.name": AUTHORIZER, "super.users": "User:ANONYMOUS" }, async (conn) => {
      const cases = [
        [creation(), ErrorCode.NONE, null],
        [creation(), ErrorCode.NONE, null],
        [creation({ resourcePatternType: PT.PREFIXED, resourceName: "ord" }), ErrorCode.NONE, null],
        [creation({ resourceType: RT.ANY }), ErrorCode.INVALID_REQUEST, /Invalid resourceType ANY/],
        [creation({ resourceType: 0 }), ErrorCode.INVALID_REQUEST, /Invalid resourceType UNKNOWN/],
        [creation({ resourcePatternType: PT.MATCH }), ErrorCode.INVALID_REQUEST, /Invalid patternType MATCH/],
        [creation({ operation: Op.ANY }), ErrorCode.INVALID_REQUEST, /Invalid operation ANY/],
        [creation({ permissionType: Perm.ANY }), ErrorCode.INVALID_REQUEST, /Invalid permissionType ANY/],
        [creation({ resourceName: "" }), ErrorCode.INVALID_REQUEST, /should not be empty/],
        [creation({ principal: "alice" }), ErrorCode.INVALID_REQUEST, /Could not parse principal/],
        [creation({ resourceType: RT.CLUSTER, resourceName: "c" }), ErrorCode.INVALID_REQUEST, /kafka-cluster/],
      ] as const;
      const r = await conn.request(CREATE_ACLS_API, 3, { creations: cases.map(([c]) => c) });
      assert.equal(r.results.length, cases.length);
      r.results.forEach((res, i) => {
        assert.equal(res.errorCode, cases[i]![1], `case ${i}: ${res.errorMessage}`);
        if (cases[i]![2]) assert.match(res.errorMessage!, cases[i]![2]!);
      });
      const d = await conn.request(DESCRIBE_ACLS_API, 3, anyFilter());
      assert.deepEqual(d.resources.map((x) => [x.resourceName, x.patternType, x.acls.length]), [
        ["ord", PT.PREFIXED, 1],
        ["orders", PT.LITERAL, 1],
      ]);
    }));

  test("DescribeAcls filters (MATCH, v0 literal only); an UNKNOWN filter value is INVALID_REQUEST", () =>
    withBroker({ "authorizer.class.name": AUTHORIZER, "super.users": "User:ANONYMOUS" }, async (conn) => {
      await conn.request(CREATE_ACLS_API, 1, {
        creations: [
          creation(),
          creation({ resourceName: "*" }),
          creation({ resourcePatternType: PT.PREFIXED, resourceName: "ord", permissionType: Perm.DENY }),
          creation({ resourceType: RT.GROUP, resourceName: "g", principal: "User:bob" }),
        ],
      });
      const match = await conn.request(
        DESCRIBE_ACLS_API,
        2,
        anyFilter({
          resourceTypeFilter: RT.TOPIC,
          resourceNameFilter: "orders",
          patternTypeFilter: PT.MATCH,
        }),
      );
      assert.deepEqual(match.resources.map((x) => x.resourceName), ["*", "ord", "orders"]);
      const bob = await conn.request(DESCRIBE_ACLS_API, 3, anyFilter({ principalFilter: "User:bob" }));
      assert.deepEqual(bob.resources, [{
        resourceType: RT.GROUP,
        resourceName: "g",
        patternType: PT.LITERAL,
        acls: [{ principal: "User:bob", host: "*", operation: Op.READ, permissionType: Perm.ALLOW }],
      }]);
      const v0 = await conn.request(DESCRIBE_ACLS_API, 0, anyFilter({ resourceTypeFilter: RT.TOPIC }));
      assert.equal(v0.errorCode, ErrorCode.NONE);
      assert.deepEqual(v0.resources.map((x) => x.resourceName), ["*", "orders"]);
      const bad = await conn.request(DESCRIBE_ACLS_API, 3, anyFilter({ operation: 0 }));
      assert.equal(bad.errorCode, ErrorCode.INVALID_REQUEST);
      assert.equal(bad.errorMessage, "Unknown entryFilter.");
    }));

  test("DeleteAcls returns what each filter matched and deletes it; UNKNOWN filters are INVALID_REQUEST", () =>
    withBroker({ "authorizer.class.name": AUTHORIZER, "super.users": "User:ANONYMOUS" }, async (conn) => {
      await conn.request(CREATE_ACLS_API, 0, {
        creations: [creation(), creation({ operation: Op.WRITE }), creation({ resourceName: "other" })],
      });
      const r = await conn.request(DELETE_ACLS_API, 3, {
        filters: [
          anyFilter({ resourceNameFilter: "orders", operation: Op.WRITE }),
          anyFilter({ resourceTypeFilter: 0 }),
          anyFilter({ resourceNameFilter: "orders" }),
          anyFilter({ resourceNameFilter: "none" }),
        ],
      });
      assert.deepEqual(
        r.filterResults.map((
          f,
        ) => [f.errorCode, f.errorMessage, f.matchingAcls.map((m) => [m.resourceName, m.operation])]),
        [
          [ErrorCode.NONE, null, [["orders", Op.WRITE]]],
          [ErrorCode.INVALID_REQUEST, "Unknown patternFilter.", []],
          [ErrorCode.NONE, null, [["orders", Op.READ], ["orders", Op.WRITE]]],
          [ErrorCode.NONE, null, []],
        ],
      );
      const v0 = await conn.request(DELETE_ACLS_API, 0, { filters: [anyFilter({ resourceTypeFilter: RT.TOPIC })] });
      assert.deepEqual(v0.filterResults[0]!.matchingAcls.map((m) => m.resourceName), ["other"]);
      const left = await conn.request(DESCRIBE_ACLS_API, 1, anyFilter());
      assert.deepEqual(left.resources, []);
    }));
});
