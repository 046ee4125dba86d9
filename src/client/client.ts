/**
 * A small Kafka client for the CLI: bootstrap, metadata, connections per broker and version
 * negotiation. It speaks only the Kafka protocol, so it works against any cluster.
 *
 * @module
 */

import type { ApiDescriptor } from "../protocol/generated/api_keys.ts";
import { METADATA_API, type MetadataResponse } from "../protocol/generated/03_metadata.ts";
import type { Input } from "../protocol/types.ts";
import type { ConnectFn, TlsClientOptions } from "../ports.ts";
import { type ConnectionOptions, KafkaConnection, type SaslOptions } from "./connection.ts";
import { KafkaClientError } from "./errors.ts";

/** Options for {@link KafkaClient}. */
export interface KafkaClientOptions {
  /** "host:port" entries, tried in order. */
  bootstrap: string[];
  connect: ConnectFn;
  clientId?: string;
  requestTimeoutMs?: number;
  /** TLS for every connection (SSL and SASL_SSL listeners). */
  tls?: TlsClientOptions;
  /** SASL for every connection (SASL_PLAINTEXT and SASL_SSL listeners). */
  sasl?: SaslOptions;
}

/** Splits "host:port" (IPv6 as "[::1]:9092"); the port defaults to 9092. */
export function parseHostPort(text: string, defaultPort = 9092): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(text) ?? /^([^:]*)(?::(\d+))?$/.exec(text);
  if (!m) throw new KafkaClientError(`Cannot parse address "${text}": expected host:port`, { code: null });
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new KafkaClientError(`Cannot parse address "${text}": bad port`, { code: null });
  }
  return { host: m[1] || "localhost", port };
}

/** Client over a cluster. Close it when done. */
export class KafkaClient {
  readonly #options: KafkaClientOptions;
  readonly #byNode = new Map<number, Promise<KafkaConnection>>();
  #bootstrap: Promise<KafkaConnection> | null = null;
  #brokers = new Map<number, { host: string; port: number }>();

  constructor(options: KafkaClientOptions) {
    this.#options = options;
  }

  #open(host: string, port: number): Promise<KafkaConnection> {
    return this.connectTo(host, port);
  }

  /**
   * A new connection of the caller's own to a broker, outside the shared pool; the caller closes
   * it. A group member keeps its coordinator requests here: a broker answers one request per
   * connection at a time, so a JoinGroup that waits for a rebalance must not hold up fetches.
   * @param options.requestTimeoutMs this connection's request timeout (default the client's)
   */
  connectTo(host: string, port: number, options: { requestTimeoutMs?: number } = {}): Promise<KafkaConnection> {
    const opts: ConnectionOptions = {
      connect: this.#options.connect,
      ...(this.#options.tls ? { tls: this.#options.tls } : {}),
      ...(this.#options.sasl ? { sasl: this.#options.sasl } : {}),
    };
    if (this.#options.clientId !== undefined) opts.clientId = this.#options.clientId;
    const timeoutMs = options.requestTimeoutMs ?? this.#options.requestTimeoutMs;
    if (timeoutMs !== undefined) opts.requestTimeoutMs = timeoutMs;
    return KafkaConnection.open(host, port, opts);
  }

  /** The request timeout of this client's connections. */
  get requestTimeoutMs(): number {
    return this.#options.requestTimeoutMs ?? 30000;
  }

  /** A connection to any reachable bootstrap broker. */
  async any(): Promise<KafkaConnection> {
    // A connection the broker closed is dropped, so the next call connects again.
    const current = this.#bootstrap;
    if (current && (await current.catch(() => null))?.closed && this.#bootstrap === current) this.#bootstrap = null;
    if (!this.#bootstrap) {
      this.#bootstrap = (async () => {
        const errors: string[] = [];
        for (const entry of this.#options.bootstrap) {
          const { host, port } = parseHostPort(entry.trim());
          try {
            return await this.#open(host, port);
          } catch (err) {
            errors.push((err as Error).message);
          }
        }
        throw new KafkaClientError(`Cannot reach any bootstrap broker (${errors.join("; ")})`, { code: null });
      })();
      this.#bootstrap.catch(() => (this.#bootstrap = null));
    }
    return this.#bootstrap;
  }

  /** A connection to the broker with this node id (from the last metadata). */
  async node(nodeId: number): Promise<KafkaConnection> {
    let p = this.#byNode.get(nodeId);
    if (p && (await p.catch(() => null))?.closed) {
      if (this.#byNode.get(nodeId) === p) this.#byNode.delete(nodeId);
      p = undefined;
    }
    if (!p) {
      const b = this.#brokers.get(nodeId);
      if (!b) {
        await this.metadata([]);
        if (!this.#brokers.has(nodeId)) {
          throw new KafkaClientError(`Broker ${nodeId} is not in the cluster metadata`, { code: null });
        }
        return this.node(nodeId);
      }
      p = this.#open(b.host, b.port);
      this.#byNode.set(nodeId, p);
      p.catch(() => this.#byNode.delete(nodeId));
    }
    return p;
  }

  /**
   * Sends a request at the highest version both sides support.
   * @param options.to a connection (defaults to any bootstrap broker)
   * @param options.maxVersion cap on the version, when the caller depends on older semantics
   */
  async send<Req, Res>(
    api: ApiDescriptor<Req, Res>,
    body: (version: number) => Input<Req>,
    options: { to?: KafkaConnection; maxVersion?: number; minVersion?: number } = {},
  ): Promise<{ response: Res; version: number }> {
    const conn = options.to ?? (await this.any());
    const version = conn.pickVersion(api as ApiDescriptor<unknown, unknown>, options.maxVersion, options.minVersion);
    if (version === null) {
      throw new KafkaClientError(
        `Broker ${conn.address} does not support ${api.name} in the versions this command needs`,
        { code: null },
      );
    }
    const response = await conn.request(api, version, body(version));
    return { response, version };
  }

  /** Fetches metadata for the named topics (null = all) and remembers broker addresses. */
  async metadata(
    topics: string[] | null,
    options: { allowAutoTopicCreation?: boolean } = {},
  ): Promise<MetadataResponse> {
    const { response } = await this.send(METADATA_API, (v) => ({
      topics: topics === null ? (v === 0 ? [] : null) : topics.map((name) => ({ name })),
      allowAutoTopicCreation: options.allowAutoTopicCreation ?? false,
    }), { maxVersion: 12 });
    for (const b of response.brokers) this.#brokers.set(b.nodeId, { host: b.host, port: b.port });
    return response;
  }

  /** Closes every connection. */
  async close(): Promise<void> {
    const all = [...this.#byNode.values()];
    if (this.#bootstrap) all.push(this.#bootstrap);
    this.#byNode.clear();
    this.#bootstrap = null;
    for (const p of all) {
      try {
        (await p).close();
      } catch {
        // never connected
      }
    }
  }
}
