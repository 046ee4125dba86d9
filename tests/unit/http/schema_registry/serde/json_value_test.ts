import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  childPath,
  describeValue,
  parseJsonValue,
  stringifyJsonValue,
} from "../../../../../src/http/schema_registry/serde/json_value.ts";

describe("parseJsonValue() and stringifyJsonValue()", () => {
  test("parseJsonValue() keeps integers beyond 2^53 exact as bigints, and others as numbers", () => {
    assert.deepEqual(parseJsonValue('{"a": 9007199254740993, "b": -9223372036854775808, "c": 1.5, "d": 42}'), {
      ok: true,
      value: { a: 9007199254740993n, b: -9223372036854775808n, c: 1.5, d: 42 },
    });
    assert.equal(parseJsonValue("{").ok, false);
  });

  test("parseJsonValue() makes __proto__ an own key, not the prototype", () => {
    const r = parseJsonValue('{"__proto__": {"polluted": true}}');
    assert.ok(r.ok);
    const v = r.value as Record<string, unknown>;
    assert.deepEqual(Object.keys(v), ["__proto__"]);
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.equal(({} as Record<string, unknown>)["polluted"], undefined);
  });

  test("stringifyJsonValue() writes bigints as plain numbers and is otherwise JSON.stringify", () => {
    const v = { id: 9007199254740993n, list: [1n, null, "x"], nested: { ok: true }, skip: undefined };
    assert.equal(stringifyJsonValue(v), '{"id":9007199254740993,"list":[1,null,"x"],"nested":{"ok":true}}');
    const round = parseJsonValue(stringifyJsonValue(v));
    assert.ok(round.ok);
    assert.deepEqual(round.value, { id: 9007199254740993n, list: [1, null, "x"], nested: { ok: true } });
  });

  test("describeValue() and childPath() make readable error locations", () => {
    assert.equal(describeValue("x"), 'string "x"');
    assert.equal(describeValue(5n), "number 5");
    assert.equal(describeValue([]), "an array");
    assert.equal(childPath(childPath("$", "a"), 2), "$.a[2]");
    assert.equal(childPath("$", "odd key"), '$["odd key"]');
  });
});
