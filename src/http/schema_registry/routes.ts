/**
 * The Schema Registry's HTTP API at the root of the HTTP plane, as Confluent serves it
 * (`../shared/schema-registry.md` §1 and §3): JSON bodies whatever the content type, answers as
 * `application/vnd.schemaregistry.v1+json`, errors as `{"error_code", "message"}` with the status
 * the code's first three digits give.
 *
 * The broker that leads `_schemas` serves the registry; on a PostgreSQL cluster the others forward
 * each request to it (its HTTP address is in the cluster's registry), as Confluent's followers
 * forward to their leader: 50004 when no broker leads it, 50003 when forwarding fails.
 *
 * @module
 */

import { Hono } from "hono";
import type { Context } from "hono";
import type { Broker } from "../../broker/broker.ts";
import type { Logger } from "../../ports.ts";
import type { HttpEnv } from "../auth.ts";
import { brokerHttpUrl } from "../peers.ts";
import { parseVersion, RegistryError, SchemaRegistry, type SchemaRequest } from "./registry.ts";
import { brokerSchemasLog, SCHEMAS_TOPIC } from "./schemas_log.ts";
import { CompatibilityLevel, compatibilityLevelOf } from "./types.ts";

const CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
/** A header set on forwarded requests, so a request is forwarded once at most. */
const FORWARDED = "x-kbin-forwarded";

/** What the routes need. */
export interface SchemaRegistryOptions {
  broker: () => Broker | null;
  logger: Logger;
  /** `schema.compatibility.level` (BACKWARD). */
  defaultLevel?: string;
  /** The topic (`_schemas`). */
  topic?: string;
  /** For tests: what `fetch` forwards with. */
  fetch?: typeof fetch;
  /** The registry, shared with the REST proxy (see {@link schemaRegistryOf}); made here when absent. */
  registry?: () => SchemaRegistry;
}

/**
 * This broker's registry, made on first use (and again for a new broker object).
 * @param options the broker (lazily), the default level and the topic
 * @returns a function giving the registry; RegistryError 50002 while the broker starts
 */
export function schemaRegistryOf(
  options: Pick<SchemaRegistryOptions, "broker" | "defaultLevel" | "topic">,
): () => SchemaRegistry {
  const level = compatibilityLevelOf(options.defaultLevel ?? "BACKWARD") ?? CompatibilityLevel.BACKWARD;
  let registry: { broker: Broker; registry: SchemaRegistry } | null = null;
  return () => {
    const broker = options.broker();
    if (!broker) throw new RegistryError(50002, "The broker is starting; try again");
    if (registry?.broker !== broker) {
      registry = {
        broker,
        registry: new SchemaRegistry(brokerSchemasLog(broker, options.topic ?? SCHEMAS_TOPIC), { defaultLevel: level }),
      };
    }
    return registry.registry;
  };
}

function json(c: Context<HttpEnv>, body: unknown, status = 200): Response {
  return c.body(JSON.stringify(body), status as 200, { "content-type": CONTENT_TYPE });
}

function errorResponse(c: Context<HttpEnv>, code: number, message: string): Response {
  const status = code < 1000 ? code : Math.floor(code / 100);
  return json(c, { error_code: code, message }, status);
}

const bool = (v: string | undefined) => v === "true";

async function bodyOf(c: Context<HttpEnv>): Promise<SchemaRequest> {
  const text = await c.req.text();
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text) as SchemaRequest;
  } catch (err) {
    throw new RegistryError(422, `Unrecognized request body: ${(err as Error).message}`);
  }
}

function idOf(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) throw new RegistryError(40403, `Schema ${text} not found`);
  return n;
}

/**
 * The Schema Registry's routes (mounted at `/` of the HTTP plane).
 * @param options the broker (lazily), a logger and the settings
 * @returns the Hono router
 */
export function schemaRegistryRoutes(options: SchemaRegistryOptions): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  const registryOf = options.registry ?? schemaRegistryOf(options);
  /** The leader's answer when another broker writes the registry (PostgreSQL). */
  const forward = async (c: Context<HttpEnv>): Promise<Response | null> => {
    const broker = options.broker();
    if (!broker) return null;
    const leader = await registryOf().leader();
    if (leader === broker.nodeId) return null;
    if (c.req.header(FORWARDED)) {
      throw new RegistryError(50004, "Unknown leader: this broker was sent a forwarded request it does not lead");
    }
    const base = brokerHttpUrl(broker, leader);
    if (base === null) {
      throw new RegistryError(50004, `Unknown leader: no broker with an HTTP listener leads ${SCHEMAS_TOPIC}`);
    }
    const url = new URL(c.req.url);
    const target = `${base}${url.pathname}${url.search}`;
    const headers = new Headers();
    for (const h of ["authorization", "content-type", "accept"]) {
      const v = c.req.header(h);
      if (v) headers.set(h, v);
    }
    headers.set(FORWARDED, String(broker.nodeId));
    const method = c.req.method;
    try {
      const res = await (options.fetch ?? fetch)(target, {
        method,
        headers,
        ...(method === "GET" || method === "HEAD" ? {} : { body: await c.req.text() }),
      });
      return new Response(await res.text(), {
        status: res.status,
        headers: { "content-type": res.headers.get("content-type") ?? CONTENT_TYPE },
      });
    } catch (err) {
      throw new RegistryError(
        50003,
        `Error while forwarding the request to the leader (broker ${leader}): ${(err as Error).message}`,
      );
    }
  };

  /** Runs a handler: forwarded when another broker leads, errors as Confluent's JSON. */
  const handle = (fn: (c: Context<HttpEnv>, r: SchemaRegistry) => Promise<unknown>) => async (c: Context<HttpEnv>) => {
    try {
      const forwarded = await forward(c);
      if (forwarded) return forwarded;
      const out = await fn(c, registryOf());
      return out instanceof Response ? out : json(c, out);
    } catch (err) {
      if (err instanceof RegistryError) return errorResponse(c, err.code, err.message);
      options.logger.error("Schema Registry request failed", { path: c.req.path, error: String(err) });
      return errorResponse(c, 50001, `Error in the backend data store: ${(err as Error).message}`);
    }
  };
  const subject = (c: Context<HttpEnv>) => c.req.param("subject")!;
  const version = (c: Context<HttpEnv>) => parseVersion(c.req.param("version")!);
  const q = (c: Context<HttpEnv>, name: string) => c.req.query(name);

  app.get("/", (c) => json(c, {}));
  app.get("/schemas/types", (c) => json(c, ["JSON", "PROTOBUF", "AVRO"]));
  app.get("/contexts", (c) => json(c, ["."]));
  app.get(
    "/v1/metadata/id",
    handle((_c, _r) => {
      const broker = options.broker()!;
      return Promise.resolve({
        scope: { path: [], clusters: { "kafka-cluster": broker.storage.clusterId, "schema-registry-cluster": "kbin" } },
      });
    }),
  );
  app.get("/v1/metadata/version", (c) => json(c, { version: "7.6.0-kbin", commitId: "kbin" }));

  app.get(
    "/subjects",
    handle((c, r) =>
      r.subjects({
        ...(q(c, "subjectPrefix") ? { prefix: q(c, "subjectPrefix")! } : {}),
        deleted: bool(q(c, "deleted")),
        deletedOnly: bool(q(c, "deletedOnly")),
      })
    ),
  );
  app.get(
    "/subjects/:subject/versions",
    handle((c, r) =>
      r.versions(subject(c), { deleted: bool(q(c, "deleted")), deletedOnly: bool(q(c, "deletedOnly")) })
    ),
  );
  app.post(
    "/subjects/:subject/versions",
    handle(async (c, r) => r.register(subject(c), await bodyOf(c), { normalize: bool(q(c, "normalize")) })),
  );
  app.get(
    "/subjects/:subject/versions/:version",
    handle((c, r) => r.version(subject(c), version(c), { deleted: bool(q(c, "deleted")) })),
  );
  app.get(
    "/subjects/:subject/versions/:version/schema",
    handle(async (c, r) => {
      const v = await r.version(subject(c), version(c), { deleted: bool(q(c, "deleted")) });
      return c.body(v.schema, 200, { "content-type": CONTENT_TYPE });
    }),
  );
  app.get(
    "/subjects/:subject/versions/:version/referencedby",
    handle((c, r) => r.referencedBy(subject(c), version(c))),
  );
  app.delete(
    "/subjects/:subject/versions/:version",
    handle((c, r) => r.deleteVersion(subject(c), version(c), { permanent: bool(q(c, "permanent")) })),
  );
  app.post(
    "/subjects/:subject",
    handle(async (c, r) =>
      r.lookup(subject(c), await bodyOf(c), { normalize: bool(q(c, "normalize")), deleted: bool(q(c, "deleted")) })
    ),
  );
  app.delete(
    "/subjects/:subject",
    handle((c, r) => r.deleteSubject(subject(c), { permanent: bool(q(c, "permanent")) })),
  );

  app.get(
    "/schemas",
    handle((c, r) =>
      r.schemas({
        ...(q(c, "subjectPrefix") ? { prefix: q(c, "subjectPrefix")! } : {}),
        deleted: bool(q(c, "deleted")),
        latestOnly: bool(q(c, "latestOnly")),
      })
    ),
  );
  app.get(
    "/schemas/ids/:id",
    handle((c, r) => r.schemaById(idOf(c.req.param("id")!), { fetchMaxId: bool(q(c, "fetchMaxId")) })),
  );
  app.get(
    "/schemas/ids/:id/schema",
    handle(async (c, r) => {
      const s = await r.schemaById(idOf(c.req.param("id")!));
      return c.body(s.schema, 200, { "content-type": CONTENT_TYPE });
    }),
  );
  app.get(
    "/schemas/ids/:id/subjects",
    handle(async (c, r) => {
      const versions = await r.versionsOfId(idOf(c.req.param("id")!), { deleted: bool(q(c, "deleted")) });
      return [...new Set(versions.map((v) => v.subject))];
    }),
  );
  app.get(
    "/schemas/ids/:id/versions",
    handle((c, r) => r.versionsOfId(idOf(c.req.param("id")!), { deleted: bool(q(c, "deleted")) })),
  );

  const compatibility = (withVersion: boolean) =>
    handle(async (c, r) =>
      r.compatibility(subject(c), withVersion ? version(c) : null, await bodyOf(c), {
        verbose: bool(q(c, "verbose")),
        normalize: bool(q(c, "normalize")),
      })
    );
  app.post("/compatibility/subjects/:subject/versions/:version", compatibility(true));
  app.post("/compatibility/subjects/:subject/versions", compatibility(false));

  const configOf = async (c: Context<HttpEnv>, r: SchemaRegistry, s: string | null) => {
    const cfg = await r.config(s, { defaultToGlobal: bool(q(c, "defaultToGlobal")) });
    return {
      compatibilityLevel: cfg.compatibilityLevel,
      ...(cfg.normalize === undefined ? {} : { normalize: cfg.normalize }),
    };
  };
  app.get("/config", handle((c, r) => configOf(c, r, null)));
  app.put("/config", handle(async (c, r) => r.setConfig(null, await bodyOf(c))));
  app.delete("/config", handle((_c, r) => r.deleteConfig(null)));
  app.get("/config/:subject", handle((c, r) => configOf(c, r, subject(c))));
  app.put("/config/:subject", handle(async (c, r) => r.setConfig(subject(c), await bodyOf(c))));
  app.delete("/config/:subject", handle((c, r) => r.deleteConfig(subject(c))));

  app.get("/mode", handle((_c, r) => r.mode(null, { defaultToGlobal: true })));
  app.put("/mode", handle(async (c, r) => r.setMode(null, await bodyOf(c), { force: bool(q(c, "force")) })));
  app.delete("/mode", handle((_c, r) => r.deleteMode(null)));
  app.get("/mode/:subject", handle((c, r) => r.mode(subject(c), { defaultToGlobal: bool(q(c, "defaultToGlobal")) })));
  app.put(
    "/mode/:subject",
    handle(async (c, r) => r.setMode(subject(c), await bodyOf(c), { force: bool(q(c, "force")) })),
  );
  app.delete("/mode/:subject", handle((c, r) => r.deleteMode(subject(c))));
  return app;
}
