/**
 * Schema Registry throughput: one kbin (`--http`) on file:, CONCURRENCY clients at once.
 * - registration: new Avro schemas (a record with one more optional field each time, so every one is
 *   a new, BACKWARD-compatible version: parse, compatibility check against the latest, a durable
 *   append to `_schemas`) — registrations per second;
 * - lookup: `GET /schemas/ids/{id}` (what deserializers call) and `POST /subjects/{s}` (what
 *   serializers with auto.register.schemas=false call) — per second;
 * - baseline: `GET /healthz` round trips per second in the same run (the HTTP floor), and the
 *   ratio of each to it.
 *
 * Usage: bash scripts/bench/run.sh schema-registry [SECONDS] [CONCURRENCY]
 *        (or bun scripts/bench/schema_registry.ts …; defaults 3 and 8)
 * Environment: KBIN_BIN (a kbin executable; default kbin from source on Bun).
 *
 * @module
 */

import { startHttpBroker } from "./http_broker.ts";

const SECONDS = Number(process.argv[2] ?? 3);
const CONCURRENCY = Number(process.argv[3] ?? 8);
const log = (s: string) => process.stderr.write(`schema-registry: ${s}\n`);
const TYPE = "application/vnd.schemaregistry.v1+json";

const schemaWith = (fields: number) =>
  JSON.stringify({
    type: "record",
    name: "Bench",
    fields: [
      { name: "id", type: "long" },
      ...Array.from({ length: fields }, (_, i) => ({ name: `f${i}`, type: ["null", "string"], default: null })),
    ],
  });

const broker = await startHttpBroker("sr");
try {
  const { url } = broker;

  const call = async (method: string, path: string, body?: string) => {
    const r = await fetch(`${url}${path}`, { method, headers: { "content-type": TYPE }, ...(body ? { body } : {}) });
    const text = await r.text();
    if (r.status !== 200) throw new Error(`${method} ${path}: ${r.status} ${text.slice(0, 300)}`);
    return text;
  };
  /** Runs `op` from CONCURRENCY loops for SECONDS; operations per second. */
  const rate = async (name: string, op: (worker: number, i: number) => Promise<unknown>) => {
    const deadline = performance.now() + SECONDS * 1000;
    let done = 0;
    const started = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, async (_, w) => {
      for (let i = 0; performance.now() < deadline; i++) {
        await op(w, i);
        done++;
      }
    }));
    const perSecond = done / ((performance.now() - started) / 1000);
    log(`${name}: ${perSecond.toFixed(0)}/s`);
    return perSecond;
  };

  // Warm up the HTTP path and the registry (creates _schemas).
  for (let i = 0; i < 50; i++) await call("GET", "/healthz");
  await call("POST", "/subjects/warm-value/versions", JSON.stringify({ schema: schemaWith(0) }));

  const health = await rate("GET /healthz", () => call("GET", "/healthz"));
  let fields = 0;
  const registered: { subject: string; fields: number; id: number }[] = [];
  const register = await rate("register", async (w) => {
    const subject = `bench-${w}-value`;
    const n = fields++;
    const out = JSON.parse(
      await call("POST", `/subjects/${subject}/versions`, JSON.stringify({ schema: schemaWith(n) })),
    );
    registered.push({ subject, fields: n, id: out.id });
  });
  const byId = await rate("GET /schemas/ids/{id}", (_w, i) => {
    const r = registered[i % registered.length]!;
    return call("GET", `/schemas/ids/${r.id}`);
  });
  const lookup = await rate("POST /subjects/{s} (lookup)", (_w, i) => {
    const r = registered[i % registered.length]!;
    return call("POST", `/subjects/${r.subject}`, JSON.stringify({ schema: schemaWith(r.fields) }));
  });
  console.log(
    `\nSchema Registry on file:, ${CONCURRENCY} concurrent clients, ${SECONDS} s each, ${registered.length} schemas registered\n`,
  );
  console.log("| operation | per second | vs GET /healthz |");
  console.log("| --- | --- | --- |");
  for (
    const [name, r] of [
      ["register a new version (parse, BACKWARD check, durable append)", register],
      ["GET /schemas/ids/{id}", byId],
      ["POST /subjects/{s} (lookup)", lookup],
      ["GET /healthz (baseline)", health],
    ] as const
  ) {
    console.log(`| ${name} | ${r.toFixed(0)} | ${(r / health).toFixed(2)} |`);
  }
} finally {
  await broker.stop();
}
