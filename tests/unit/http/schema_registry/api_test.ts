/**
 * The Schema Registry's HTTP API against a broker in this process (`startBroker({ http: true })`),
 * request by request: Confluent's answers and error codes (§3, §4, §7 of the reference), soft and
 * hard deletes, references, configs, modes and IMPORT, and the records it writes to `_schemas` in
 * Confluent's layout. Real clients: tests/compat/schema_registry.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type EmbeddedBroker, startBroker } from "../../../../mod.ts";

const AVRO = (fields: unknown[], name = "U") => JSON.stringify({ type: "record", name, fields });
const F_ID = { name: "id", type: "long" };
const F_OPT = { name: "opt", type: "string", default: "x" };
const F_REQ = { name: "req", type: "string" };

async function withRegistry(fn: (call: Call, broker: EmbeddedBroker) => Promise<void>, config = {}) {
  await using broker = await startBroker({ http: true, logLevel: "silent", config });
  const call: Call = async (method, path, body) => {
    const r = await fetch(`${broker.httpUrl}${path}`, {
      method,
      headers: { "content-type": "application/vnd.schemaregistry.v1+json" },
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    if (!path.startsWith("/no/")) assert.equal(r.headers.get("content-type"), "application/vnd.schemaregistry.v1+json");
    const text = await r.text();
    return { status: r.status, body: text === "" ? null : JSON.parse(text) };
  };
  await fn(call, broker);
}
type Call = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>;

const code = (r: { body: any }) => r.body?.error_code;

describe("Schema Registry API", () => {
  test("register: same schema same id (any subject); versions count up; lookup; GET by version and id", () =>
    withRegistry(async (call) => {
      assert.deepEqual((await call("POST", "/subjects/a-value/versions", { schema: AVRO([F_ID]) })).body, { id: 1 });
      // Another spelling of the same schema (key order, spaces) is the same schema.
      const spaced = `{ "fields": [ {"type": "long", "name": "id"} ], "name": "U", "type": "record" }`;
      assert.deepEqual((await call("POST", "/subjects/a-value/versions", { schema: spaced })).body, { id: 1 });
      assert.deepEqual((await call("POST", "/subjects/b-value/versions", { schema: AVRO([F_ID]) })).body, { id: 1 });
      assert.deepEqual((await call("POST", "/subjects/a-value/versions", { schema: AVRO([F_ID, F_OPT]) })).body, {
        id: 2,
      });
      assert.deepEqual((await call("GET", "/subjects/a-value/versions")).body, [1, 2]);
      const latest = await call("GET", "/subjects/a-value/versions/latest");
      assert.deepEqual(latest.body, { subject: "a-value", version: 2, id: 2, schema: AVRO([F_ID, F_OPT]) });
      assert.deepEqual((await call("GET", "/subjects/a-value/versions/-1")).body.version, 2);
      assert.deepEqual((await call("GET", "/schemas/ids/1")).body, { schema: AVRO([F_ID]) });
      assert.deepEqual((await call("GET", "/schemas/ids/2?fetchMaxId=true")).body.maxId, 2);
      assert.deepEqual((await call("GET", "/schemas/ids/1/versions")).body, [
        { subject: "a-value", version: 1 },
        { subject: "b-value", version: 1 },
      ]);
      assert.deepEqual((await call("GET", "/schemas/ids/1/subjects")).body, ["a-value", "b-value"]);
      assert.deepEqual((await call("POST", "/subjects/a-value", { schema: spaced })).body, {
        subject: "a-value",
        version: 1,
        id: 1,
        schema: AVRO([F_ID]),
      });
      assert.deepEqual((await call("GET", "/subjects")).body, ["a-value", "b-value"]);
      assert.deepEqual((await call("GET", "/subjects?subjectPrefix=b")).body, ["b-value"]);
      assert.deepEqual((await call("GET", "/schemas?latestOnly=true")).body.map((s: any) => [s.subject, s.version]), [
        ["a-value", 2],
        ["b-value", 1],
      ]);
      assert.deepEqual((await call("GET", "/schemas/types")).body, ["JSON", "PROTOBUF", "AVRO"]);
      assert.deepEqual((await call("GET", "/")).body, {});
    }));

  test("concurrent registrations and reads: every new schema gets its own id, versions count up without gaps", () =>
    withRegistry(async (call) => {
      const many = Array.from({ length: 24 }, (_, i) => AVRO([F_ID, { ...F_OPT, name: `o${i}` }], `R${i}`));
      const answers = await Promise.all(many.flatMap((schema, i) => [
        call("POST", `/subjects/c-${i % 3}/versions`, { schema }),
        call("GET", "/subjects"),
      ]));
      const ids = answers.filter((_, i) => i % 2 === 0).map((a) => {
        assert.equal(a.status, 200, JSON.stringify(a.body));
        return a.body.id as number;
      });
      assert.equal(new Set(ids).size, 24, `ids ${ids}`);
      for (let s = 0; s < 3; s++) {
        assert.deepEqual((await call("GET", `/subjects/c-${s}/versions`)).body, [1, 2, 3, 4, 5, 6, 7, 8]);
      }
    }, { "schema.compatibility.level": "NONE" }));

  test("Confluent's error codes: 40401, 40402, 40403, 42201, 42202, 422 for a broken body", () =>
    withRegistry(async (call) => {
      await call("POST", "/subjects/a/versions", { schema: AVRO([F_ID]) });
      assert.equal(code(await call("GET", "/subjects/none/versions")), 40401);
      assert.equal(code(await call("GET", "/subjects/a/versions/9")), 40402);
      for (const v of ["0", "-2", "abc"]) assert.equal(code(await call("GET", `/subjects/a/versions/${v}`)), 42202);
      const missing = await call("GET", "/schemas/ids/99");
      assert.deepEqual([missing.status, code(missing)], [404, 40403]);
      assert.equal(code(await call("POST", "/subjects/a", { schema: AVRO([F_REQ]) })), 40403);
      assert.equal(code(await call("POST", "/subjects/none", { schema: AVRO([F_ID]) })), 40401);
      const bad = await call("POST", "/subjects/a/versions", { schema: '{"type":"record"' });
      assert.deepEqual([bad.status, code(bad)], [422, 42201]);
      assert.match(bad.body.message, /^Invalid schema/);
      assert.equal(code(await call("POST", "/subjects/a/versions", { schema: "x", schemaType: "XML" })), 42201);
      assert.equal(code(await call("POST", "/subjects/a/versions", {})), 42201);
      assert.equal(code(await call("POST", "/subjects/a/versions", "{nope")), 422);
      assert.equal(code(await call("GET", "/no/such/path")), 404);
    }));

  test("compatibility: 409 with Confluent's message; /compatibility answers is_compatible (verbose messages); NONE allows anything", () =>
    withRegistry(async (call) => {
      await call("POST", "/subjects/s/versions", { schema: AVRO([F_ID]) });
      const refused = await call("POST", "/subjects/s/versions", { schema: AVRO([F_ID, F_REQ]) });
      assert.deepEqual([refused.status, code(refused)], [409, 409]);
      assert.match(
        refused.body.message,
        /^Schema being registered is incompatible with an earlier schema for subject "s"/,
      );
      assert.deepEqual(
        (await call("POST", "/compatibility/subjects/s/versions/latest", { schema: AVRO([F_ID, F_REQ]) })).body,
        {
          is_compatible: false,
        },
      );
      const verbose = await call("POST", "/compatibility/subjects/s/versions/1?verbose=true", {
        schema: AVRO([F_ID, F_OPT]),
      });
      assert.deepEqual(verbose.body, { is_compatible: true, messages: [] });
      assert.equal(code(await call("POST", "/compatibility/subjects/s/versions/7", { schema: AVRO([F_ID]) })), 40402);
      const unparsable = await call("POST", "/compatibility/subjects/s/versions/latest?verbose=true", { schema: "{" });
      assert.equal(unparsable.body.is_compatible, false);
      // A schema type change is incompatible unless the level is NONE.
      const json = { schemaType: "JSON", schema: '{"type":"object"}' };
      assert.equal((await call("POST", "/subjects/s/versions", json)).status, 409);
      assert.deepEqual((await call("PUT", "/config/s", { compatibility: "none" })).body, { compatibility: "NONE" });
      assert.deepEqual((await call("POST", "/subjects/s/versions", { schema: AVRO([F_ID, F_REQ]) })).body, { id: 2 });
      assert.deepEqual((await call("POST", "/subjects/s/versions", json)).body, { id: 3 });
    }));

  test("transitive levels check every live version; non-transitive ones only the latest", () =>
    withRegistry(async (call) => {
      for (const [subject, level] of [["t", "BACKWARD"], ["tt", "BACKWARD_TRANSITIVE"]]) {
        await call("PUT", `/config/${subject}`, { compatibility: level });
        await call("POST", `/subjects/${subject}/versions`, { schema: AVRO([F_ID]) });
        await call("POST", `/subjects/${subject}/versions`, { schema: AVRO([F_ID, { ...F_REQ, default: "d" }]) });
      }
      // {id, req} reads v2's data (req is there) but not v1's (no default for req).
      assert.equal((await call("POST", "/subjects/t/versions", { schema: AVRO([F_ID, F_REQ]) })).status, 200);
      assert.equal((await call("POST", "/subjects/tt/versions", { schema: AVRO([F_ID, F_REQ]) })).status, 409);
    }));

  test("config: 40408 unset, defaultToGlobal, global default BACKWARD, PUT/DELETE, 42203", () =>
    withRegistry(async (call) => {
      assert.equal(code(await call("GET", "/config/x")), 40408);
      assert.deepEqual((await call("GET", "/config/x?defaultToGlobal=true")).body, { compatibilityLevel: "BACKWARD" });
      assert.deepEqual((await call("GET", "/config")).body, { compatibilityLevel: "BACKWARD" });
      assert.deepEqual((await call("PUT", "/config", { compatibility: "full_transitive" })).body, {
        compatibility: "FULL_TRANSITIVE",
      });
      assert.deepEqual((await call("GET", "/config/x?defaultToGlobal=true")).body, {
        compatibilityLevel: "FULL_TRANSITIVE",
      });
      assert.equal(code(await call("PUT", "/config/x", { compatibility: "SIDEWAYS" })), 42203);
      await call("PUT", "/config/x", { compatibility: "FORWARD" });
      assert.deepEqual((await call("DELETE", "/config/x")).body, { compatibilityLevel: "FORWARD" });
      assert.equal(code(await call("GET", "/config/x")), 40408);
      assert.equal(code(await call("DELETE", "/config/x")), 40401);
    }, { "schema.compatibility.level": "BACKWARD" }));

  test("deletes: soft then permanent, 40404/40405/40406/40407; a re-registered schema keeps its id in a new version", () =>
    withRegistry(async (call) => {
      await call("POST", "/subjects/d/versions", { schema: AVRO([F_ID]) });
      await call("POST", "/subjects/d/versions", { schema: AVRO([F_ID, F_OPT]) });
      assert.equal(code(await call("DELETE", "/subjects/d/versions/1?permanent=true")), 40407);
      assert.deepEqual((await call("DELETE", "/subjects/d/versions/1")).body, 1);
      assert.equal(code(await call("DELETE", "/subjects/d/versions/1")), 40406);
      assert.deepEqual((await call("GET", "/subjects/d/versions")).body, [2]);
      assert.deepEqual((await call("GET", "/subjects/d/versions?deleted=true")).body, [1, 2]);
      assert.deepEqual((await call("GET", "/schemas/ids/1")).body, { schema: AVRO([F_ID]) }, "ids stay readable");
      assert.equal(code(await call("DELETE", "/subjects/d?permanent=true")), 40405);
      assert.deepEqual((await call("DELETE", "/subjects/d")).body, [2]);
      assert.equal(code(await call("DELETE", "/subjects/d")), 40404);
      assert.equal(code(await call("GET", "/subjects/d/versions")), 40401);
      assert.deepEqual((await call("GET", "/subjects?deleted=true")).body, ["d"]);
      assert.deepEqual((await call("GET", "/subjects?deletedOnly=true")).body, ["d"]);
      // Re-registering after a soft delete: the same id, version 3 (the old one goes).
      assert.deepEqual((await call("POST", "/subjects/d/versions", { schema: AVRO([F_ID]) })).body, { id: 1 });
      assert.deepEqual((await call("GET", "/subjects/d/versions?deleted=true")).body, [2, 3]);
      await call("DELETE", "/subjects/d");
      assert.deepEqual((await call("DELETE", "/subjects/d?permanent=true")).body, [2, 3]);
      assert.equal(code(await call("GET", "/schemas/ids/1")), 40403, "gone once every version using it is");
      assert.deepEqual((await call("GET", "/subjects?deleted=true")).body, []);
    }));

  test("references: resolved from other subjects, listed by referencedby, and protect their target (42206)", () =>
    withRegistry(async (call) => {
      const address = JSON.stringify({
        type: "record",
        name: "Address",
        namespace: "acme",
        fields: [{ name: "city", type: "string" }],
      });
      const a = await call("POST", "/subjects/address/versions", { schema: address });
      const person = JSON.stringify({
        type: "record",
        name: "Person",
        namespace: "acme",
        fields: [{ name: "home", type: "acme.Address" }],
      });
      const ref = [{ name: "acme.Address", subject: "address", version: 1 }];
      assert.equal(code(await call("POST", "/subjects/person/versions", { schema: person })), 42201, "unresolved");
      const p = await call("POST", "/subjects/person/versions", { schema: person, references: ref });
      assert.deepEqual(p.body, { id: a.body.id + 1 });
      assert.deepEqual((await call("GET", "/subjects/person/versions/1")).body.references, ref);
      assert.deepEqual((await call("GET", `/schemas/ids/${p.body.id}`)).body.references, ref);
      assert.deepEqual((await call("GET", "/subjects/address/versions/1/referencedby")).body, [p.body.id]);
      assert.equal(code(await call("DELETE", "/subjects/address")), 42206);
      assert.equal(
        code(
          await call("POST", "/subjects/person/versions", {
            schema: person,
            references: [{ name: "acme.Address", subject: "address", version: 5 }],
          }),
        ),
        42201,
      );
    }));

  test("modes: READONLY refuses writes (42205) but not an already-registered schema; IMPORT takes ids; 40409; 42204", () =>
    withRegistry(async (call) => {
      await call("POST", "/subjects/m/versions", { schema: AVRO([F_ID]) });
      assert.equal(code(await call("GET", "/mode/m")), 40409);
      assert.deepEqual((await call("GET", "/mode")).body, { mode: "READWRITE" });
      assert.deepEqual((await call("PUT", "/mode/m", { mode: "READONLY" })).body, { mode: "READONLY" });
      assert.deepEqual((await call("POST", "/subjects/m/versions", { schema: AVRO([F_ID]) })).body, { id: 1 });
      assert.equal(code(await call("POST", "/subjects/m/versions", { schema: AVRO([F_ID, F_OPT]) })), 42205);
      assert.equal(code(await call("DELETE", "/subjects/m")), 42205);
      assert.equal(code(await call("PUT", "/mode/m", { mode: "SOMETIMES" })), 42204);
      assert.deepEqual((await call("DELETE", "/mode/m")).body, { mode: "READONLY" });
      // IMPORT: refused while subjects exist unless forced; ids are taken from the request.
      assert.equal(code(await call("PUT", "/mode", { mode: "IMPORT" })), 42205);
      assert.deepEqual((await call("PUT", "/mode?force=true", { mode: "IMPORT" })).body, { mode: "IMPORT" });
      assert.equal(code(await call("POST", "/subjects/i/versions", { schema: AVRO([F_REQ]) })), 42205);
      assert.deepEqual(
        (await call("POST", "/subjects/i/versions", { schema: AVRO([F_REQ]), id: 100, version: 4 })).body,
        {
          id: 100,
        },
      );
      assert.deepEqual((await call("GET", "/subjects/i/versions")).body, [4]);
      assert.equal(
        code(await call("POST", "/subjects/j/versions", { schema: AVRO([F_OPT]), id: 100 })),
        42205,
        "another schema under a taken id",
      );
      await call("PUT", "/mode", { mode: "READWRITE" });
      assert.deepEqual((await call("POST", "/subjects/k/versions", { schema: AVRO([F_ID, F_OPT, F_REQ]) })).body, {
        id: 101,
      });
      assert.equal(code(await call("POST", "/subjects/k/versions", { schema: AVRO([F_ID]), id: 5 })), 42205);
    }));
});
