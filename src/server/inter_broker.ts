/**
 * The inter-broker client: one Kafka-protocol connection per other broker of the cluster, opened
 * on first use to its inter-broker listener's address as the cluster lists it, and opened again
 * when that address changes or the connection fails (a broker replaced or restarted). It speaks
 * the listener's protocol: TLS with the listener's PEM material and SASL with the broker's own
 * credentials (`interBrokerSecurity` in broker/listeners.ts).
 *
 * @module
 */

import type { InterBroker } from "../broker/inter_broker.ts";
import { KafkaConnection, type SaslOptions } from "../client/connection.ts";
import type { ApiDescriptor } from "../protocol/generated/api_keys.ts";
import type { Input } from "../protocol/types.ts";
import type { ConnectFn, TlsClientOptions } from "../ports.ts";
import type { ClusterStorage } from "../storage/engine.ts";

/** What a connection to another broker's inter-broker listener needs (read again per connection). */
export type InterBrokerCredentials = () => Promise<{ tls?: TlsClientOptions; sasl?: SaslOptions }>;

/** Options of a {@link ClusterClient}. */
export interface ClusterClientOptions {
  cluster: ClusterStorage;
  connect: ConnectFn;
  nodeId: number;
  requestTimeoutMs: number;
  /** The inter-broker listener's name: another broker is reached at its endpoint of that name. */
  listener?: string;
  /** TLS and SASL for the inter-broker listener (none for PLAINTEXT). */
  credentials?: InterBrokerCredentials;
}

/** Connections to the other brokers of a cluster. */
export class ClusterClient implements InterBroker {
  readonly #byNode = new Map<number, { address: string; conn: Promise<KafkaConnection> }>();
  readonly #o: ClusterClientOptions;

  constructor(o: ClusterClientOptions) {
    this.#o = o;
  }

  async #connection(nodeId: number): Promise<KafkaConnection> {
    const b = this.#o.cluster.brokers().find((x) => x.nodeId === nodeId);
    if (!b) throw new Error(`Cannot reach broker ${nodeId}: it is not a live broker of the cluster`);
    const at = b.listeners?.find((e) => e.name === this.#o.listener) ?? b;
    const address = `${at.host}:${at.port}`;
    const known = this.#byNode.get(nodeId);
    if (known && known.address === address) {
      const conn = await known.conn.catch(() => null);
      if (conn && !conn.closed) return conn;
    }
    if (known) void known.conn.then((c) => c.close()).catch(() => {});
    const conn = (async () =>
      KafkaConnection.open(at.host, at.port, {
        connect: this.#o.connect,
        clientId: `kbin-broker-${this.#o.nodeId}`,
        requestTimeoutMs: this.#o.requestTimeoutMs,
        ...(this.#o.credentials ? await this.#o.credentials() : {}),
      }))();
    this.#byNode.set(nodeId, { address, conn });
    conn.catch(() => {
      if (this.#byNode.get(nodeId)?.conn === conn) this.#byNode.delete(nodeId);
    });
    return conn;
  }

  async send<Req, Res>(
    nodeId: number,
    api: ApiDescriptor<Req, Res>,
    body: (version: number) => Input<Req>,
  ): Promise<Res> {
    const conn = await this.#connection(nodeId);
    const version = conn.pickVersion(api as ApiDescriptor<unknown, unknown>);
    if (version === null) throw new Error(`Broker ${nodeId} does not support ${api.name}`);
    return await conn.request(api, version, body(version));
  }

  /** Closes every connection. */
  close(): void {
    for (const { conn } of this.#byNode.values()) void conn.then((c) => c.close()).catch(() => {});
    this.#byNode.clear();
  }
}
