/** ACL bindings' validation and filters, as Kafka's AclControlManager and ResourcePatternFilter. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type AclBinding,
  type AclFilter,
  AclOperation as Op,
  AclPermissionType as Perm,
  bindingError,
  filterError,
  filterMatches,
  hostOfRemote,
  PatternType as PT,
  ResourceType as RT,
} from "../../../../src/broker/acl/model.ts";

const b = (o: Partial<AclBinding> = {}): AclBinding => ({
  resourceType: RT.TOPIC,
  resourceName: "orders",
  patternType: PT.LITERAL,
  principal: "User:alice",
  host: "*",
  operation: Op.READ,
  permissionType: Perm.ALLOW,
  ...o,
});
const ANY: AclFilter = {
  resourceType: RT.ANY,
  resourceName: null,
  patternType: PT.ANY,
  principal: null,
  host: null,
  operation: Op.ANY,
  permissionType: Perm.ANY,
};

describe("bindingError()", () => {
  test("accepts a valid binding, LITERAL or PREFIXED, and the cluster named kafka-cluster", () => {
    assert.equal(bindingError(b()), null);
    assert.equal(bindingError(b({ patternType: PT.PREFIXED })), null);
    assert.equal(
      bindingError(b({ resourceType: RT.CLUSTER, resourceName: "kafka-cluster", operation: Op.ALTER })),
      null,
    );
  });
  test("refuses UNKNOWN and ANY values and filter-only pattern types", () => {
    assert.match(bindingError(b({ resourceType: RT.ANY }))!, /Invalid resourceType ANY/);
    assert.match(bindingError(b({ resourceType: 0 }))!, /Invalid resourceType UNKNOWN/);
    assert.match(bindingError(b({ resourceType: 42 }))!, /Invalid resourceType UNKNOWN/);
    assert.match(bindingError(b({ patternType: PT.MATCH }))!, /Invalid patternType MATCH/);
    assert.match(bindingError(b({ patternType: PT.ANY }))!, /Invalid patternType ANY/);
    assert.match(bindingError(b({ operation: Op.ANY }))!, /Invalid operation ANY/);
    assert.match(bindingError(b({ operation: 99 }))!, /Invalid operation UNKNOWN/);
    assert.match(bindingError(b({ permissionType: Perm.ANY }))!, /Invalid permissionType ANY/);
  });
  test("refuses another name for the cluster, an empty name, a principal without a type", () => {
    assert.match(bindingError(b({ resourceType: RT.CLUSTER, resourceName: "c" }))!, /only valid name .* kafka-cluster/);
    assert.match(bindingError(b({ resourceName: "" }))!, /should not be empty/);
    assert.match(bindingError(b({ principal: "alice" }))!, /Could not parse principal from `alice`/);
  });
});

describe("filterError()", () => {
  test("refuses UNKNOWN values only", () => {
    assert.equal(filterError(ANY), null);
    assert.equal(filterError({ ...ANY, patternType: PT.MATCH }), null);
    assert.equal(filterError({ ...ANY, resourceType: 0 }), "Unknown patternFilter.");
    assert.equal(filterError({ ...ANY, patternType: 9 }), "Unknown patternFilter.");
    assert.equal(filterError({ ...ANY, operation: 0 }), "Unknown entryFilter.");
    assert.equal(filterError({ ...ANY, permissionType: 0 }), "Unknown entryFilter.");
  });
});

describe("filterMatches()", () => {
  test("ANY everything matches every binding", () => {
    assert.equal(filterMatches(ANY, b()), true);
    assert.equal(filterMatches(ANY, b({ resourceType: RT.GROUP, patternType: PT.PREFIXED })), true);
  });
  test("each field narrows: type, pattern type, principal, host, operation, permission", () => {
    assert.equal(filterMatches({ ...ANY, resourceType: RT.GROUP }, b()), false);
    assert.equal(filterMatches({ ...ANY, patternType: PT.PREFIXED }, b()), false);
    assert.equal(filterMatches({ ...ANY, principal: "User:bob" }, b()), false);
    assert.equal(filterMatches({ ...ANY, host: "1.2.3.4" }, b()), false);
    assert.equal(filterMatches({ ...ANY, operation: Op.WRITE }, b()), false);
    assert.equal(filterMatches({ ...ANY, permissionType: Perm.DENY }, b()), false);
    assert.equal(
      filterMatches({ ...ANY, principal: "User:alice", operation: Op.READ, permissionType: Perm.ALLOW }, b()),
      true,
    );
  });
  test("a name with pattern ANY or LITERAL matches that exact name only (not the wildcard)", () => {
    assert.equal(filterMatches({ ...ANY, resourceName: "orders" }, b()), true);
    assert.equal(filterMatches({ ...ANY, resourceName: "orders" }, b({ resourceName: "*" })), false);
    assert.equal(
      filterMatches({ ...ANY, resourceName: "ord" }, b({ resourceName: "ord", patternType: PT.PREFIXED })),
      true,
    );
    assert.equal(
      filterMatches({ ...ANY, resourceName: "orders", patternType: PT.LITERAL }, b({ resourceName: "*" })),
      false,
    );
  });
  test("a name with MATCH finds every binding that applies to it: literal, wildcard, prefixes", () => {
    const f = { ...ANY, resourceName: "orders-eu", patternType: PT.MATCH };
    assert.equal(filterMatches(f, b({ resourceName: "orders-eu" })), true);
    assert.equal(filterMatches(f, b({ resourceName: "*" })), true);
    assert.equal(filterMatches(f, b({ resourceName: "orders-", patternType: PT.PREFIXED })), true);
    assert.equal(filterMatches(f, b({ resourceName: "orders-eu-1", patternType: PT.PREFIXED })), false);
    assert.equal(filterMatches(f, b({ resourceName: "orders" })), false);
  });
});

test("hostOfRemote() strips the port and brackets and maps IPv4-mapped IPv6 to IPv4", () => {
  assert.equal(hostOfRemote("10.0.0.1:5555"), "10.0.0.1");
  assert.equal(hostOfRemote("[::1]:5555"), "::1");
  assert.equal(hostOfRemote("::ffff:127.0.0.1:5555"), "127.0.0.1");
  assert.equal(hostOfRemote("::1:5555"), "::1");
});
