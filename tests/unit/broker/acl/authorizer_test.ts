/** The authorizer's rules, one case each at least, after Kafka's StandardAuthorizer. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Authorizer, type AuthorizerSettings, authorizerSettings } from "../../../../src/broker/acl/authorizer.ts";
import {
  type AclBinding,
  AclOperation as Op,
  AclPermissionType as Perm,
  PatternType,
  ResourceType as RT,
} from "../../../../src/broker/acl/model.ts";
import { BrokerConfig } from "../../../../src/broker/config.ts";

const ON: AuthorizerSettings = { enabled: true, superUsers: new Set(), allowIfNoAcl: false };
const alice = { principal: "User:alice", host: "10.0.0.1" };
const bob = { principal: "User:bob", host: "10.0.0.2" };

function acl(o: Partial<AclBinding>): AclBinding {
  return {
    resourceType: RT.TOPIC,
    resourceName: "orders",
    patternType: PatternType.LITERAL,
    principal: "User:alice",
    host: "*",
    operation: Op.READ,
    permissionType: Perm.ALLOW,
    ...o,
  };
}
const topic = (name: string, operation: number) => ({ operation, resourceType: RT.TOPIC, resourceName: name });

describe("Authorizer.authorize()", () => {
  test("allows everything when no authorizer is configured, whatever the ACLs say", () => {
    const a = new Authorizer({ ...ON, enabled: false }, [acl({ permissionType: Perm.DENY })]);
    assert.equal(a.authorize(alice, topic("orders", Op.READ)), true);
    assert.equal(a.authorize(bob, topic("other", Op.DELETE)), true);
  });

  test("lets super users do everything, even against a DENY", () => {
    const a = new Authorizer({ ...ON, superUsers: new Set(["User:bob"]) }, [
      acl({ principal: "User:bob", permissionType: Perm.DENY, operation: Op.ALL }),
    ]);
    assert.equal(a.authorize(bob, topic("orders", Op.READ)), true);
    assert.equal(
      a.authorize(bob, { operation: Op.ALTER, resourceType: RT.CLUSTER, resourceName: "kafka-cluster" }),
      true,
    );
    assert.equal(a.authorize(alice, topic("orders", Op.WRITE)), false);
  });

  test("allows what an ALLOW grants and denies the operations it does not", () => {
    const a = new Authorizer(ON, [acl({})]);
    assert.equal(a.authorize(alice, topic("orders", Op.READ)), true);
    assert.equal(a.authorize(alice, topic("orders", Op.WRITE)), false);
  });

  test("denies another principal when the resource has ACLs", () => {
    const a = new Authorizer(ON, [acl({})]);
    assert.equal(a.authorize(bob, topic("orders", Op.READ)), false);
  });

  test("a DENY wins over an ALLOW, whichever pattern each comes from", () => {
    const a = new Authorizer(ON, [
      acl({}),
      acl({ resourceName: "ord", patternType: PatternType.PREFIXED, permissionType: Perm.DENY }),
    ]);
    assert.equal(a.authorize(alice, topic("orders", Op.READ)), false);
    const b = new Authorizer(ON, [acl({ resourceName: "*" }), acl({ permissionType: Perm.DENY })]);
    assert.equal(b.authorize(alice, topic("orders", Op.READ)), false);
  });

  test("ALL matches every operation, in ALLOW and in DENY", () => {
    const a = new Authorizer(ON, [acl({ operation: Op.ALL })]);
    for (const op of [Op.READ, Op.WRITE, Op.DELETE, Op.ALTER_CONFIGS, Op.DESCRIBE]) {
      assert.equal(a.authorize(alice, topic("orders", op)), true, `op ${op}`);
    }
    const d = new Authorizer(ON, [acl({ operation: Op.ALL }), acl({ operation: Op.ALL, permissionType: Perm.DENY })]);
    assert.equal(d.authorize(alice, topic("orders", Op.WRITE)), false);
  });

  test("READ, WRITE, DELETE and ALTER imply DESCRIBE; others do not", () => {
    for (const op of [Op.READ, Op.WRITE, Op.DELETE, Op.ALTER]) {
      assert.equal(new Authorizer(ON, [acl({ operation: op })]).authorize(alice, topic("orders", Op.DESCRIBE)), true);
    }
    for (const op of [Op.CREATE, Op.ALTER_CONFIGS, Op.DESCRIBE_CONFIGS]) {
      assert.equal(new Authorizer(ON, [acl({ operation: op })]).authorize(alice, topic("orders", Op.DESCRIBE)), false);
    }
  });

  test("ALTER_CONFIGS implies DESCRIBE_CONFIGS, not the reverse", () => {
    const a = new Authorizer(ON, [acl({ operation: Op.ALTER_CONFIGS })]);
    assert.equal(a.authorize(alice, topic("orders", Op.DESCRIBE_CONFIGS)), true);
    const b = new Authorizer(ON, [acl({ operation: Op.DESCRIBE_CONFIGS })]);
    assert.equal(b.authorize(alice, topic("orders", Op.ALTER_CONFIGS)), false);
  });

  test("a DENY implies nothing: DENY READ leaves an ALLOWed DESCRIBE allowed", () => {
    const a = new Authorizer(ON, [acl({ operation: Op.DESCRIBE }), acl({ permissionType: Perm.DENY })]);
    assert.equal(a.authorize(alice, topic("orders", Op.DESCRIBE)), true);
    assert.equal(a.authorize(alice, topic("orders", Op.READ)), false);
  });

  test("a LITERAL ACL applies to its name only", () => {
    const a = new Authorizer(ON, [acl({})]);
    assert.equal(a.authorize(alice, topic("orders-eu", Op.READ)), false);
    assert.equal(a.authorize(alice, topic("order", Op.READ)), false);
  });

  test('a LITERAL "*" ACL applies to every resource of its type', () => {
    const a = new Authorizer(ON, [acl({ resourceName: "*" })]);
    assert.equal(a.authorize(alice, topic("anything", Op.READ)), true);
    assert.equal(a.authorize(alice, { operation: Op.READ, resourceType: RT.GROUP, resourceName: "anything" }), false);
  });

  test("a PREFIXED ACL applies to the names that start with it", () => {
    const a = new Authorizer(ON, [acl({ resourceName: "orders-", patternType: PatternType.PREFIXED })]);
    assert.equal(a.authorize(alice, topic("orders-eu", Op.READ)), true);
    assert.equal(a.authorize(alice, topic("orders-", Op.READ)), true);
    assert.equal(a.authorize(alice, topic("orders", Op.READ)), false);
    assert.equal(a.authorize(alice, topic("other", Op.READ)), false);
  });

  test('the principal "User:*" matches every user', () => {
    const a = new Authorizer(ON, [acl({ principal: "User:*" })]);
    assert.equal(a.authorize(bob, topic("orders", Op.READ)), true);
    assert.equal(a.authorize({ principal: "User:ANONYMOUS", host: "::1" }, topic("orders", Op.READ)), true);
  });

  test('an ACL for a host applies from that host only; "*" from anywhere', () => {
    const a = new Authorizer(ON, [acl({ host: "10.0.0.1" })]);
    assert.equal(a.authorize(alice, topic("orders", Op.READ)), true);
    assert.equal(a.authorize({ ...alice, host: "10.0.0.9" }, topic("orders", Op.READ)), false);
  });

  test("no ACL at all for the resource: allow.everyone.if.no.acl.found decides (default false)", () => {
    const other = [acl({ resourceName: "elsewhere" })];
    assert.equal(new Authorizer(ON, other).authorize(alice, topic("orders", Op.READ)), false);
    assert.equal(new Authorizer(ON, []).authorize(alice, topic("orders", Op.READ)), false);
    const open = { ...ON, allowIfNoAcl: true };
    assert.equal(new Authorizer(open, other).authorize(alice, topic("orders", Op.READ)), true);
    assert.equal(new Authorizer(open, []).authorize(alice, topic("orders", Op.READ)), true);
  });

  test("allow.everyone.if.no.acl.found does not apply once the resource has an ACL, even another user's", () => {
    const a = new Authorizer({ ...ON, allowIfNoAcl: true }, [acl({ principal: "User:carol" })]);
    assert.equal(a.authorize(alice, topic("orders", Op.READ)), false);
    const prefixed = new Authorizer({ ...ON, allowIfNoAcl: true }, [
      acl({ resourceName: "ord", patternType: PatternType.PREFIXED, principal: "User:carol" }),
    ]);
    assert.equal(prefixed.authorize(alice, topic("orders", Op.READ)), false);
  });

  test("resource types are kept apart", () => {
    const a = new Authorizer(ON, [acl({ resourceType: RT.GROUP })]);
    assert.equal(a.authorize(alice, topic("orders", Op.READ)), false);
    assert.equal(a.authorize(alice, { operation: Op.READ, resourceType: RT.GROUP, resourceName: "orders" }), true);
  });
});

describe("Authorizer.authorizeByResourceType()", () => {
  const any = (a: Authorizer, who = alice) => a.authorizeByResourceType(who, Op.WRITE, RT.TOPIC);
  test("an ALLOW on any topic grants it; another principal, host or operation does not", () => {
    assert.equal(any(new Authorizer(ON, [acl({ operation: Op.WRITE })])), true);
    assert.equal(any(new Authorizer(ON, [acl({ operation: Op.WRITE })]), bob), false);
    assert.equal(any(new Authorizer(ON, [acl({ operation: Op.WRITE, host: "10.9.9.9" })])), false);
    assert.equal(any(new Authorizer(ON, [acl({ operation: Op.READ })])), false, "READ is not WRITE");
    assert.equal(any(new Authorizer(ON, [acl({ operation: Op.ALL })])), true, "ALL is WRITE");
    assert.equal(any(new Authorizer(ON, [acl({ operation: Op.WRITE, principal: "User:*" })]), bob), true);
  });
  test("a DENY of the same name, of a prefix of it, or of every topic dominates the ALLOW", () => {
    const allow = acl({ operation: Op.WRITE, resourceName: "orders-eu" });
    const deny = (o: Partial<AclBinding>) => acl({ operation: Op.WRITE, permissionType: Perm.DENY, ...o });
    assert.equal(any(new Authorizer(ON, [allow, deny({ resourceName: "orders-eu" })])), false);
    assert.equal(
      any(new Authorizer(ON, [allow, deny({ resourceName: "orders", patternType: PatternType.PREFIXED })])),
      false,
    );
    assert.equal(any(new Authorizer(ON, [allow, deny({ resourceName: "orders" })])), true, "a literal is no prefix");
    assert.equal(any(new Authorizer(ON, [acl({ operation: Op.ALL }), deny({ resourceName: "*" })])), false);
    const prefixedAllow = acl({ operation: Op.WRITE, resourceName: "ord", patternType: PatternType.PREFIXED });
    assert.equal(
      any(new Authorizer(ON, [prefixedAllow, deny({ resourceName: "orders", patternType: PatternType.PREFIXED })])),
      true,
      "a longer prefixed DENY leaves part of the ALLOWed prefix",
    );
  });
  test("super users, no authorizer, and allow.everyone.if.no.acl.found with no ACLs pass", () => {
    assert.equal(any(new Authorizer({ ...ON, superUsers: new Set(["User:alice"]) }, [])), true);
    assert.equal(any(new Authorizer({ ...ON, enabled: false }, [])), true);
    assert.equal(any(new Authorizer({ ...ON, allowIfNoAcl: true }, [])), true);
    assert.equal(any(new Authorizer(ON, [])), false);
  });
});

describe("Authorizer.authorizedOperations()", () => {
  test("gives every supported operation without an authorizer (KIP-430 bit field)", () => {
    const a = new Authorizer({ ...ON, enabled: false }, []);
    const bits = a.authorizedOperations(alice, { resourceType: RT.TOPIC, resourceName: "orders" });
    const expected = [
      Op.READ,
      Op.WRITE,
      Op.CREATE,
      Op.DELETE,
      Op.ALTER,
      Op.DESCRIBE,
      Op.DESCRIBE_CONFIGS,
      Op.ALTER_CONFIGS,
    ]
      .reduce((acc, op) => acc | (1 << op), 0);
    assert.equal(bits, expected);
  });

  test("gives the allowed operations, implied ones included", () => {
    const a = new Authorizer(ON, [acl({}), acl({ operation: Op.ALTER_CONFIGS })]);
    const bits = a.authorizedOperations(alice, { resourceType: RT.TOPIC, resourceName: "orders" });
    assert.equal(bits, (1 << Op.READ) | (1 << Op.DESCRIBE) | (1 << Op.ALTER_CONFIGS) | (1 << Op.DESCRIBE_CONFIGS));
    assert.equal(a.authorizedOperations(bob, { resourceType: RT.TOPIC, resourceName: "orders" }), 0);
  });
});

describe("authorizerSettings()", () => {
  test("reads authorizer.class.name, super.users (semicolons) and allow.everyone.if.no.acl.found", () => {
    assert.deepEqual(authorizerSettings(new BrokerConfig()), {
      enabled: false,
      superUsers: new Set(),
      allowIfNoAcl: false,
    });
    const s = authorizerSettings(
      new BrokerConfig([
        ["authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer"],
        ["super.users", "User:admin; User:ops;"],
        ["allow.everyone.if.no.acl.found", "true"],
      ]),
    );
    assert.deepEqual(s, { enabled: true, superUsers: new Set(["User:admin", "User:ops"]), allowIfNoAcl: true });
  });
});
