/**
 * Reads what a cluster says about itself (cluster id, controller, brokers, topics with their ids
 * and partition counts) through kbin's own Kafka client, for end-to-end tests that compare a
 * broker before and after a restart.
 *
 * @module
 */

import { KafkaClient } from "../../src/client/client.ts";
import type { ConnectFn } from "../../src/ports.ts";
import { runtimeName } from "./runtime.ts";

// A computed specifier keeps each runtime from resolving (or type-checking) the other's adapter.
const netModule = (await import(`../../src/runtime/${runtimeName}/net.ts`)) as { connect: ConnectFn };

/** One topic as Metadata describes it. */
export interface TopicInfo {
  readonly topicId: string;
  readonly partitions: number;
  readonly errorCode: number;
}

/** A cluster as Metadata describes it. */
export interface ClusterInfo {
  readonly clusterId: string | null;
  readonly controllerId: number;
  readonly brokers: { nodeId: number; host: string; port: number }[];
  /** Non-internal topics by name. */
  readonly topics: Map<string, TopicInfo>;
}

/** Sends one Metadata request for every topic to `bootstrap` ("host:port"). */
export async function clusterInfo(bootstrap: string): Promise<ClusterInfo> {
  const client = new KafkaClient({ bootstrap: [bootstrap], connect: netModule.connect, clientId: "kbin-test" });
  try {
    const md = await client.metadata(null);
    const topics = new Map<string, TopicInfo>();
    for (const t of md.topics) {
      if (t.name === null || t.isInternal) continue;
      topics.set(t.name, { topicId: String(t.topicId), partitions: t.partitions.length, errorCode: t.errorCode });
    }
    return {
      clusterId: md.clusterId,
      controllerId: md.controllerId,
      brokers: md.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port })),
      topics,
    };
  } finally {
    await client.close();
  }
}
