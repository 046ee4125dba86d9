/**
 * The inter-broker client: one Kafka-protocol connection per other broker of the cluster, opened
 * on first use from the address the cluster lists for it and opened again when that address
 * changes or the connection fails (a broker replaced or restarted).
 *
 * @module
 */

import type { InterBroker } from "../broker/inter_broker.ts";
import { KafkaConnection } from "../client/connection.ts";
import type { ApiDescriptor } from "../protocol/generated/api_keys.ts";
import type { Input } from "../protocol/types.ts";
import type { ConnectFn } from "../ports.ts";
import type { ClusterStorage } from "../storage/engine.ts";

/** Connections to the other brokers of a cluster. */
export class ClusterClient implements InterBroker {
  readonly #byNode = new Map<number, { address: string; conn: Promise<KafkaConnection> }>();
  readonly #o: { cluster: ClusterStorage; connect: ConnectFn; nodeId: number; requestTimeoutMs: number };

  constructor(o: { cluster: ClusterStorage; connect: ConnectFn; nodeId: number; requestTimeoutMs: number }) {
    this.#o = o;
  }

  async #connection(nodeId: number): Promise<KafkaConnection> {
    const b = this.#o.cluster.brokers().find((x) => x.nodeId === nodeId);
    if (!b) throw new Error(`Cannot reach broker ${nodeId}: it is not a live broker of the cluster`);
    const address = `${b.host}:${b.port}`;
    const known = this.#byNode.get(nodeId);
    if (known && known.address === address) {
      const conn = await known.conn.catch(() => null);
      if (conn && !conn.closed) return conn;
    }
    if (known) void known.conn.then((c) => c.close()).catch(() => {});
    const conn = KafkaConnection.open(b.host, b.port, {
      connect: this.#o.connect,
      clientId: `kbin-broker-${this.#o.nodeId}`,
      requestTimeoutMs: this.#o.requestTimeoutMs,
    });
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
