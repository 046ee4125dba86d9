import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { ALL_HANDLERS } from "../../../src/broker/handlers/mod.ts";

test("docs/compat.md lists exactly the APIs, version ranges and Kafka-4-removed versions the handlers serve", () => {
  const doc = readFileSync(new URL("../../../docs/compat.md", import.meta.url), "utf8");
  // The first table: key | API | versions | Kafka 4 removed | notes.
  const main = doc.slice(0, doc.indexOf("\n## "));
  const rows = [...main.matchAll(/^\|\s*(\d+)\s*\|\s*(\w+)\s*\|\s*([^|]+?)\s*\|\s*([^|]+?)\s*\|/gm)].map((m) => {
    const versions = /^(\d+)(?:–(\d+))?/.exec(m[3]!.trim());
    const removed = /^(\d+)(?:–(\d+))?/.exec(m[4]!.trim());
    return {
      key: Number(m[1]),
      name: m[2]!,
      min: Number(versions?.[1]),
      max: Number(versions?.[2] ?? versions?.[1]),
      removed: removed ? [Number(removed[1]), Number(removed[2] ?? removed[1])] : null,
    };
  });
  const served = ALL_HANDLERS.map((h) => ({
    key: h.api.apiKey,
    name: h.api.name,
    min: h.minVersion,
    max: h.maxVersion,
    removed: h.api.removedVersions ? [...h.api.removedVersions] : null,
  }))
    .sort((a, b) => a.key - b.key);
  assert.deepEqual(rows, served);
});
