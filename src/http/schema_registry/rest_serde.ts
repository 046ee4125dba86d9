/**
 * The Schema Registry's part in the REST proxy: the proxy's `SchemaSerde` (rest_proxy/records.ts)
 * over the registry's serde (serde/): resolve a key's or value's schema (by id, subject and version,
 * the subject's latest, or an inline schema registered under the subject), encode the JSON datum
 * in Confluent's wire format, and decode consumed bytes back to JSON.
 *
 * @module
 */

import type { SchemaSerde as RestSchemaSerde } from "../rest_proxy/records.ts";
import type { SchemaRegistry } from "./registry.ts";
import { registrySerde, type SchemaSerde } from "./serde/mod.ts";

/**
 * The REST proxy's serde over this broker's registry.
 * @param registryOf the registry (created on first use, as the routes share it)
 * @returns what `createRestProxy({ serde })` takes
 */
export function restSchemaSerde(registryOf: () => SchemaRegistry): RestSchemaSerde {
  let cached: { registry: SchemaRegistry; serde: SchemaSerde } | null = null;
  const serdeOf = (): SchemaSerde => {
    const registry = registryOf();
    if (cached?.registry !== registry) cached = { registry, serde: registrySerde(registry) };
    return cached.serde;
  };
  return {
    async serialize(req) {
      const serde = serdeOf();
      const resolved = await serde.resolve({
        topic: req.topic,
        isKey: req.isKey,
        ...(req.format === null ? {} : { format: req.format }),
        ...(req.subject === null ? {} : { subject: req.subject }),
        ...(req.subjectNameStrategy === null ? {} : { subjectNameStrategy: req.subjectNameStrategy }),
        ...(req.schemaId === null ? {} : { schemaId: req.schemaId }),
        ...(req.schemaVersion === null ? {} : { schemaVersion: req.schemaVersion }),
        ...(req.rawSchema === null ? {} : { rawSchema: req.rawSchema }),
      });
      if (!resolved.ok) return { ok: false, errorCode: resolved.code, message: resolved.message };
      const out = serde.serialize(resolved, req.data);
      if (!out.ok) return { ok: false, errorCode: out.code, message: out.message };
      return {
        ok: true,
        bytes: out.bytes,
        format: resolved.format,
        subject: resolved.subject ?? "",
        schemaId: resolved.id,
        schemaVersion: resolved.version ?? null,
      };
    },
    async deserialize(req) {
      const out = await serdeOf().deserialize(req.bytes);
      if (!out.ok) return { ok: false, errorCode: out.code, message: out.message };
      return { ok: true, data: out.value, schemaId: out.schemaId };
    },
  };
}
