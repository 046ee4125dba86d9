/**
 * The HTTP listeners of a cluster's brokers: each broker registers its HTTP endpoint in the
 * cluster registry as a listener named `kbin-http` or `kbin-https` (PostgreSQL clusters), so a
 * broker can forward a request to another broker's HTTP plane (the Schema Registry's leader, a
 * partition's leader for REST produce).
 *
 * @module
 */

import type { Broker } from "../broker/broker.ts";

/**
 * The base URL of a broker's HTTP listener.
 * @param broker this broker (its view of the cluster registry)
 * @param nodeId the broker to reach
 * @returns `http(s)://host:port`, or null when that broker is unknown or has no HTTP listener
 */
export function brokerHttpUrl(broker: Broker, nodeId: number): string | null {
  const info = broker.storage.cluster.brokers().find((b) => b.nodeId === nodeId);
  const endpoint = info?.listeners?.find((e) => e.name === "kbin-http" || e.name === "kbin-https");
  if (!endpoint) return null;
  const scheme = endpoint.name === "kbin-https" ? "https" : "http";
  const host = endpoint.host.includes(":") ? `[${endpoint.host}]` : endpoint.host;
  return `${scheme}://${host}:${endpoint.port}`;
}
