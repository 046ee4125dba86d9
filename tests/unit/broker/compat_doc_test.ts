import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { ALL_HANDLERS } from "../../../src/broker/handlers/mod.ts";

test("docs/compat.md lists exactly the APIs and version ranges the handlers serve", () => {
  const doc = readFileSync(new URL("../../../docs/compat.md", import.meta.url), "utf8");
  const rows = [...doc.matchAll(/^\|\s*(\d+)\s*\|\s*(\w+)\s*\|\s*([^|]+?)\s*\|/gm)].map((m) => {
    const range = m[3]!.trim();
    const versions = /^(\d+)(?:–(\d+))?/.exec(range.replace("advertised ", ""));
    return { key: Number(m[1]), name: m[2]!, min: Number(versions?.[1]), max: Number(versions?.[2] ?? versions?.[1]) };
  });
  const served = ALL_HANDLERS.map((h) => ({
    key: h.api.apiKey,
    name: h.api.name,
    min: h.minVersion,
    max: h.maxVersion,
  }))
    .sort((a, b) => a.key - b.key);
  assert.deepEqual(rows, served);
});
