/**
 * Broker configuration with Kafka's property names. Values come from (lowest first) Kafka's
 * defaults, kbin's defaults where a single node differs, `--config FILE`, then `--set`.
 * Unknown names are reported as warnings, as Kafka does ("was supplied but isn't a known config");
 * a value of the wrong type is an error.
 *
 * @module
 */

import { BROKER_CONFIGS } from "../protocol/generated/configs.ts";

/** Thrown for a configuration that cannot be used. */
export class ConfigError extends TypeError {
  readonly code = "KBIN_CONFIG_INVALID";
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/**
 * Defaults where kbin, a zero-configuration single node, differs from Kafka: Kafka requires a
 * node id and uses /tmp for logs.
 */
const KBIN_DEFAULTS: Record<string, string> = {
  "node.id": "1",
  "log.dirs": "./kbin-data",
  "listeners": "PLAINTEXT://127.0.0.1:9092",
  // Kafka's default is GSSAPI (Kerberos), which kbin does not implement.
  "sasl.enabled.mechanisms": "SCRAM-SHA-256,SCRAM-SHA-512",
};

/** Settings that only kbin knows, with their defaults. */
export const KBIN_CONFIGS: Record<string, { type: string; default: string }> = {
  /** How often TLS listeners re-read their PEM files to pick up renewed certificates (0: never). */
  "kbin.ssl.reload.check.ms": { type: "long", default: "10000" },
  // Kafka's SASL/OAUTHBEARER server settings (KIP-768), which its broker config table does not list.
  /** JWKS of the token issuer: https://…, http://… or file:PATH; "" validates unsecured JWS tokens (development only). */
  "sasl.oauthbearer.jwks.endpoint.url": { type: "string", default: "" },
  "sasl.oauthbearer.jwks.endpoint.refresh.ms": { type: "long", default: "3600000" },
  /** Audiences one of which a token's `aud` must hold ("" accepts any). */
  "sasl.oauthbearer.expected.audience": { type: "list", default: "" },
  /** The `iss` a token must carry ("" accepts any). */
  "sasl.oauthbearer.expected.issuer": { type: "string", default: "" },
  "sasl.oauthbearer.sub.claim.name": { type: "string", default: "sub" },
  "sasl.oauthbearer.scope.claim.name": { type: "string", default: "scope" },
  "sasl.oauthbearer.clock.skew.seconds": { type: "int", default: "30" },
  "kbin.log.level": { type: "string", default: "info" },
  /** Where all state is kept: file:DIR, memory: or postgres://… ("" for file: at log.dirs). */
  "kbin.storage": { type: "string", default: "" },
  /** Advertise and accept only what this Kafka release did ("" for everything kbin serves). */
  "kbin.emulate.kafka.version": { type: "string", default: "" },
  /** Brokers sharing PostgreSQL storage: a broker that did not renew its lease for this long is expelled. */
  "kbin.cluster.lease.ms": { type: "int", default: "6000" },
  /** How often a broker renews its lease and looks for dead brokers. */
  "kbin.cluster.heartbeat.ms": { type: "int", default: "500" },
  /** PostgreSQL storage: bytes of recently committed batches a broker keeps to serve reads at the tail (0: none). */
  "kbin.postgres.tail.cache.bytes": { type: "long", default: "67108864" },
  /** file: storage: below this many free bytes in the data directory, produce is refused (KAFKA_STORAGE_ERROR). */
  "kbin.log.dir.min.free.bytes": { type: "long", default: "104857600" },
  /** How old the ACLs the authorizer decides with may be: brokers sharing PostgreSQL agree within this. */
  "kbin.acl.refresh.ms": { type: "long", default: "1000" },
  /** The HTTP plane (health, metrics; docs/http.md): one `http://HOST:PORT` or `https://HOST:PORT` ("" for none). */
  "kbin.http.listeners": { type: "list", default: "" },
  /** How HTTP clients authenticate: "" (nobody needs to), `basic` (SCRAM users), `bearer` (OAUTHBEARER tokens), or both. */
  "kbin.http.authentication": { type: "list", default: "" },
  /** Paths served without authentication even when `kbin.http.authentication` is set. */
  "kbin.http.authentication.open.paths": { type: "list", default: "/healthz,/readyz" },
  /** Whether the HTTP plane serves the Schema Registry (docs/schema-registry.md). */
  "kbin.schema.registry.enable": { type: "boolean", default: "true" },
  /** The Schema Registry's topic (Confluent's `kafkastore.topic`). */
  "kbin.schema.registry.topic": { type: "string", default: "_schemas" },
  /** The compatibility level of subjects without one (Confluent's `schema.compatibility.level`). */
  "schema.compatibility.level": { type: "string", default: "BACKWARD" },
  /** Serve the REST proxy (Confluent v3 and v2 API, docs/rest-proxy.md) on the HTTP listener. */
  "kbin.rest.enable": { type: "boolean", default: "true" },
  /** REST proxy: v2 consumer instances beyond this many are refused (429). */
  "kbin.rest.max.consumer.instances": { type: "int", default: "1000" },
  // The REST proxy's settings named as Confluent's REST Proxy names them.
  /** A v2 consumer instance idle this long is closed and leaves its group. */
  "consumer.instance.timeout.ms": { type: "int", default: "300000" },
  /** The longest a v2 `GET …/records` waits (a request's `timeout` and the instance's setting may lower it). */
  "consumer.request.timeout.ms": { type: "int", default: "1000" },
  /** The most key and value bytes a v2 `GET …/records` answers. */
  "consumer.request.max.bytes": { type: "long", default: "67108864" },
  /** Entries one v3 `records:batch` request may carry. */
  "api.v3.produce.batch.maximum.entries": { type: "int", default: "10" },
  /** Beyond this many per-partition series, partition-level metrics are exported per topic (docs/metrics.md). */
  "kbin.metrics.max.partition.series": { type: "int", default: "10000" },
  /** Kafka's internal switch for versions its specs mark unstable (InitProducerId v6 in 4.3.1). */
  "unstable.api.versions.enable": { type: "boolean", default: "false" },
};

const BY_NAME = new Map(BROKER_CONFIGS.map((c) => [c.name, c]));

function checkType(name: string, type: string, value: string): string | null {
  const v = value.trim();
  switch (type) {
    case "int":
    case "short":
    case "long":
      return /^-?\d+$/.test(v) ? null : `"${name}" must be an integer, got "${value}"`;
    case "double":
      return v !== "" && !Number.isNaN(Number(v)) ? null : `"${name}" must be a number, got "${value}"`;
    case "boolean":
      return /^(true|false)$/i.test(v) ? null : `"${name}" must be true or false, got "${value}"`;
    default:
      return null;
  }
}

/**
 * A per-listener setting (`listener.name.NAME.SETTING`, NAME lower-cased as Kafka writes it), or a
 * mechanism's JAAS line (`[listener.name.NAME.]MECHANISM.sasl.jaas.config`): the definition of the
 * setting it overrides.
 */
function listenerScoped(name: string): { type: string } | undefined {
  const m = /^(?:listener\.name\.[a-z0-9_]+\.)?(?:(?:plain|scram-sha-256|scram-sha-512|oauthbearer)\.)?(.+)$/.exec(
    name,
  );
  if (!m || m[0] === m[1]) return undefined;
  return BY_NAME.get(m[1]!) ?? KBIN_CONFIGS[m[1]!];
}

/** Resolved broker configuration. */
export class BrokerConfig {
  readonly #explicit: Map<string, string>;
  /** Names that were set but are unknown to Kafka and kbin. */
  readonly unknown: string[];

  /**
   * @param settings explicit settings in the order they were given (later wins)
   * @throws ConfigError when a known setting has a value of the wrong type
   */
  constructor(settings: Iterable<[string, string]> = []) {
    this.#explicit = new Map();
    this.unknown = [];
    for (const [k, v] of settings) {
      const def = BY_NAME.get(k) ?? KBIN_CONFIGS[k] ?? listenerScoped(k);
      if (!def) this.unknown.push(k);
      else {
        const err = checkType(k, def.type, v);
        if (err) throw new ConfigError(`Cannot use configuration: ${err}`);
      }
      this.#explicit.set(k, v.trim());
    }
  }

  /** True when the name was set explicitly (file or --set). */
  isSet(name: string): boolean {
    return this.#explicit.has(name);
  }

  /** Explicit settings, for DescribeConfigs sources. */
  explicit(): ReadonlyMap<string, string> {
    return this.#explicit;
  }

  /** The effective value as a string, or null when unset and without default. */
  get(name: string): string | null {
    const v = this.#explicit.get(name);
    if (v !== undefined) return v;
    if (name in KBIN_DEFAULTS) return KBIN_DEFAULTS[name]!;
    return BY_NAME.get(name)?.default ?? KBIN_CONFIGS[name]?.default ?? null;
  }

  /** The value as a JavaScript number (for int, long within 2^53, and double settings). */
  number(name: string): number {
    const v = this.get(name);
    const n = v === null ? NaN : Number(v);
    if (!Number.isFinite(n)) throw new ConfigError(`Cannot read configuration "${name}" as a number: "${v}"`);
    return n;
  }

  bool(name: string): boolean {
    return (this.get(name) ?? "").toLowerCase() === "true";
  }

  /** Comma-separated list settings. */
  list(name: string): string[] {
    return (this.get(name) ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
  }
}

/** Parses a listener such as "PLAINTEXT://127.0.0.1:9092" or "127.0.0.1:9092". */
export function parseListener(text: string): { name: string; host: string; port: number } {
  const m = /^(?:([A-Za-z_][A-Za-z0-9_]*):\/\/)?(\[[^\]]*\]|[^:]*):(\d+)$/.exec(text.trim());
  if (!m) throw new ConfigError(`Cannot parse listener "${text}": expected [NAME://]HOST:PORT`);
  const port = Number(m[3]);
  if (port > 65535) throw new ConfigError(`Cannot parse listener "${text}": port ${port} is out of range`);
  const host = m[2]!.startsWith("[") ? m[2]!.slice(1, -1) : m[2]!;
  return { name: m[1] ?? "PLAINTEXT", host, port };
}
