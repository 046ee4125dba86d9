import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { javaDoubleText, parseJson, stringifyJson } from "../../../../src/http/schema_registry/json_text.ts";

function roundTrip(text: string, style: "avro" | "decimal"): string {
  const r = parseJson(text);
  assert.ok(r.ok, r.ok ? "" : r.message);
  return stringifyJson(r.value, style);
}

describe("parseJson()", () => {
  test("parseJson() keeps key order; a repeated key keeps its first place and its last value", () => {
    assert.equal(roundTrip('{"b":1,"2":2,"a":{"y":1,"x":2},"b":3}', "decimal"), '{"b":3,"2":2,"a":{"y":1,"x":2}}');
  });

  test("parseJson() refuses what strict JSON refuses", () => {
    for (const bad of ["{'a':1}", "[1,]", "01", '"\\q"', "1 2", "", "NaN"]) {
      assert.equal(parseJson(bad).ok, false, bad);
    }
  });
});

describe("stringifyJson()", () => {
  test("stringifyJson() prints exact decimals like Java's BigDecimal.toString", () => {
    assert.equal(
      roundTrip("[1.0,1e2,1.5E-7,0.00001,-0.0,123456789012345678901234567890]", "decimal"),
      "[1.0,1E+2,1.5E-7,0.00001,0.0,123456789012345678901234567890]",
    );
  });

  test("stringifyJson() prints doubles like Java's Double.toString for Avro", () => {
    assert.equal(roundTrip("[1.0,1e2,1.5E-7,0.001,1e7,-2.5,12]", "avro"), "[1.0,100.0,1.5E-7,0.001,1.0E7,-2.5,12]");
    assert.equal(javaDoubleText(123456.789), "123456.789");
    assert.equal(javaDoubleText(Number.NaN), "NaN");
  });
});
