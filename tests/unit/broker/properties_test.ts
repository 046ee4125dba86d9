import assert from "node:assert/strict";
import { test } from "node:test";
import { parseProperties } from "../../../src/broker/properties.ts";

test("parseProperties() reads the separators, comments and continuations of server.properties", () => {
  const text = [
    "# comment",
    "! another comment",
    "node.id=1",
    "listeners = PLAINTEXT://127.0.0.1:9092",
    "log.dirs: /tmp/kbin",
    "num.partitions 3",
    "long.value=a,\\",
    "    b,\\",
    "    c",
    "escaped\\=key=x\\ty",
    "empty=",
    "",
  ].join("\n");
  const p = parseProperties(text);
  assert.equal(p.get("node.id"), "1");
  assert.equal(p.get("listeners"), "PLAINTEXT://127.0.0.1:9092");
  assert.equal(p.get("log.dirs"), "/tmp/kbin");
  assert.equal(p.get("num.partitions"), "3");
  assert.equal(p.get("long.value"), "a,b,c");
  assert.equal(p.get("escaped=key"), "x\ty");
  assert.equal(p.get("empty"), "");
  assert.equal(p.size, 7);
});

test("parseProperties() lets a later key win", () => {
  assert.equal(parseProperties("a=1\na=2\n").get("a"), "2");
});
