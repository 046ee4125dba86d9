/**
 * docs/security.md's API → operation → resource table names every API the broker serves, and
 * only those, with the API's name: a new handler cannot ship without saying what it authorizes.
 * Every handler that is not ApiVersions or SASL asks the authorizer (`ctx.allowed`, `groupGate`,
 * `configDenied`, `clusterDenied` or `aclChangeGate`).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { ALL_HANDLERS } from "../../../../src/broker/handlers/mod.ts";

const NO_ACL = new Set([17, 18, 36]);

test("docs/security.md lists every API the handler registry serves, by key and name", () => {
  const doc = readFileSync(new URL("../../../../docs/security.md", import.meta.url), "utf8");
  const table = doc.slice(doc.indexOf("<!-- acl-table:start -->"), doc.indexOf("<!-- acl-table:end -->"));
  assert.ok(table.length > 0, "the table markers are there");
  const rows = [...table.matchAll(/^\| (\d+) +\| (\w+) +\| ([^|]*)\|/gm)].map((m) => ({
    key: Number(m[1]),
    name: m[2]!,
    check: m[3]!.trim(),
  }));
  const served = ALL_HANDLERS.map((h) => ({ key: h.api.apiKey, name: h.api.name })).sort((a, b) => a.key - b.key);
  assert.deepEqual(rows.map(({ key, name }) => ({ key, name })), served);
  for (const r of rows) {
    if (NO_ACL.has(r.key)) assert.equal(r.check, "none", `${r.name} needs no ACL`);
    else assert.notEqual(r.check, "none", `${r.name} names what it authorizes`);
  }
});

test("every handler but ApiVersions and SASL asks the authorizer", () => {
  const dir = new URL("../../../../src/broker/handlers/", import.meta.url);
  for (const file of readdirSync(dir).filter((f) => /^\d+_.*\.ts$/.test(f))) {
    const key = Number(file.split("_")[0]);
    const text = readFileSync(new URL(file, dir), "utf8");
    const asks = /ctx\.allowed|allowed\(|groupGate\(|configDenied\(|clusterDenied\(|aclChangeGate\(/.test(text);
    assert.equal(asks, !NO_ACL.has(key), `${file} ${asks ? "asks" : "does not ask"} the authorizer`);
  }
});
