/**
 * Families computed when `/metrics` is scraped, from state the broker already keeps in memory:
 * partition offsets and sizes, consumer group offsets and lag, storage health, the process.
 * Nothing here runs between scrapes.
 *
 * Offsets, lag and groups use the names of kafka_exporter (`kafka_topic_partition_current_offset`,
 * `kafka_consumergroup_lag`, …), so existing lag dashboards work unchanged; their meaning is the
 * same (current offset = high watermark, lag = high watermark − committed offset).
 *
 * Cardinality is bounded by `maxPartitionSeries` (`kbin.metrics.max.partition.series`): when
 * this broker leads more partitions than that, every partition-level family is exported per
 * topic instead (values summed, the `partition` label dropped); likewise the consumer group
 * families when the (group, topic, partition) triples exceed it. `kbin_metrics_aggregated` says
 * which families were aggregated.
 *
 * @module
 */

import type { ProcessStats } from "../../ports.ts";
import type { PartitionStorage, Storage } from "../../storage/engine.ts";
import type { MetricFamily, Sample } from "./registry.ts";

/** What the partition and group families are computed from. */
export interface ClusterSources {
  storage: Storage;
  nodeId: number;
  /** The groups this node coordinates (GroupCoordinator.stats()). */
  groups: () => readonly {
    groupId: string;
    type: string;
    state: string;
    members: number;
    offsets: readonly { topic: string; partition: number; offset: number }[];
  }[];
  /** Beyond this many series a family is aggregated per topic. */
  maxPartitionSeries: number;
}

function gauge(name: string, help: string, labelNames: string[], samples: Sample[]): MetricFamily {
  return { name, help, type: "gauge", labelNames, samples };
}

/** Sums values per key, keeping the first label values seen for the key. */
function sumBy(samples: { key: string; labels: string[]; value: number }[]): Sample[] {
  const by = new Map<string, Sample & { labels: string[] }>();
  for (const s of samples) {
    const prev = by.get(s.key);
    if (prev) prev.value += s.value;
    else by.set(s.key, { labels: s.labels, value: s.value });
  }
  return [...by.values()];
}

/**
 * Partition, topic, broker and consumer group families.
 * @param src storage, groups and the series cap
 * @returns the families (empty ones included; the registry drops them)
 */
export async function clusterFamilies(src: ClusterSources): Promise<MetricFamily[]> {
  const { storage, nodeId } = src;
  const led: { topic: string; partition: number; log: PartitionStorage }[] = [];
  const partitionCounts: Sample[] = [];
  let offline = 0;
  for (const topic of storage.topics.list()) {
    partitionCounts.push({ labels: [topic.name], value: topic.partitions });
    for (let partition = 0; partition < topic.partitions; partition++) {
      const ref = { topicName: topic.name, topicId: topic.id, partition };
      if (storage.cluster.partitionLeader(ref).leader !== nodeId) continue;
      try {
        const log = await storage.partition(ref);
        if (log.failure) offline++;
        else led.push({ topic: topic.name, partition, log });
      } catch {
        offline++;
      }
    }
  }
  const perPartition = led.length <= src.maxPartitionSeries;
  const partLabels = perPartition ? ["topic", "partition"] : ["topic"];
  const partFamily = (name: string, help: string, value: (log: PartitionStorage) => number): MetricFamily => {
    const raw = led.map((p) => ({
      key: perPartition ? `${p.topic}\u0000${p.partition}` : p.topic,
      labels: perPartition ? [p.topic, String(p.partition)] : [p.topic],
      value: value(p.log),
    }));
    return gauge(name, help, partLabels, perPartition ? raw : sumBy(raw));
  };
  const highWatermarks = new Map<string, number>();
  for (const p of led) highWatermarks.set(`${p.topic}\u0000${p.partition}`, p.log.highWatermark);

  const groups = src.groups();
  let triples = 0;
  for (const g of groups) triples += g.offsets.length;
  const perGroupPartition = triples <= src.maxPartitionSeries;
  const groupLabels = perGroupPartition ? ["consumergroup", "topic", "partition"] : ["consumergroup", "topic"];
  const committed: { key: string; labels: string[]; value: number }[] = [];
  const lag: { key: string; labels: string[]; value: number }[] = [];
  const lagSum: { key: string; labels: string[]; value: number }[] = [];
  for (const g of groups) {
    for (const o of g.offsets) {
      if (o.offset < 0) continue;
      const key = perGroupPartition
        ? `${g.groupId}\u0000${o.topic}\u0000${o.partition}`
        : `${g.groupId}\u0000${o.topic}`;
      const labels = perGroupPartition ? [g.groupId, o.topic, String(o.partition)] : [g.groupId, o.topic];
      committed.push({ key, labels, value: o.offset });
      // Lag needs the high watermark: known for the partitions this node leads.
      const hw = highWatermarks.get(`${o.topic}\u0000${o.partition}`);
      if (hw === undefined) continue;
      lag.push({ key, labels, value: hw - o.offset });
      lagSum.push({ key: `${g.groupId}\u0000${o.topic}`, labels: [g.groupId, o.topic], value: hw - o.offset });
    }
  }
  return [
    gauge("kafka_brokers", "Live brokers in the cluster", [], [{
      labels: [],
      value: storage.cluster.brokers().length,
    }]),
    gauge("kafka_topic_partitions", "Partitions of each topic", ["topic"], partitionCounts),
    gauge("kbin_leader_partitions", "Partitions this broker leads and serves", [], [{ labels: [], value: led.length }]),
    partFamily(
      "kafka_topic_partition_current_offset",
      "High watermark: the offset the next record readers can see gets",
      (l) => l.highWatermark,
    ),
    partFamily(
      "kafka_topic_partition_oldest_offset",
      "Log start offset: the first offset still kept",
      (l) => l.logStartOffset,
    ),
    partFamily(
      "kbin_partition_log_end_offset",
      "Log end offset: the offset the next append gets",
      (l) => l.logEndOffset,
    ),
    partFamily("kbin_partition_size_bytes", "Bytes the partition's log holds", (l) => l.sizeBytes),
    gauge(
      "kbin_storage_offline_partitions",
      "Led partitions whose log failed (disk errors) and serves nothing",
      [],
      [{ labels: [], value: offline }],
    ),
    gauge(
      "kafka_consumergroup_current_offset",
      "Committed offset of a consumer group",
      groupLabels,
      perGroupPartition ? committed : sumBy(committed),
    ),
    gauge(
      "kafka_consumergroup_lag",
      "High watermark less the committed offset (partitions this broker leads)",
      groupLabels,
      perGroupPartition ? lag : sumBy(lag),
    ),
    gauge("kafka_consumergroup_lag_sum", "Lag of a consumer group summed over a topic's partitions", [
      "consumergroup",
      "topic",
    ], sumBy(lagSum)),
    gauge(
      "kafka_consumergroup_members",
      "Members of a consumer group",
      ["consumergroup"],
      groups.map((g) => ({ labels: [g.groupId], value: g.members })),
    ),
    gauge(
      "kbin_consumer_group_state",
      "1 for each group's current state and type",
      ["consumergroup", "type", "state"],
      groups.map((g) => ({ labels: [g.groupId, g.type, g.state], value: 1 })),
    ),
    gauge("kbin_metrics_aggregated", "1 when a family is exported per topic because of the series cap", [
      "family",
    ], [
      { labels: ["partition"], value: perPartition ? 0 : 1 },
      { labels: ["consumergroup"], value: perGroupPartition ? 0 : 1 },
    ]),
  ];
}

/**
 * Free and total space of each place the storage keeps data, and whether it can be read.
 * @param storage the storage engine
 * @returns the families
 */
export async function storageFamilies(storage: Storage): Promise<MetricFamily[]> {
  const dirs = await storage.logDirs();
  const known = (v: number) => v >= 0;
  return [
    gauge(
      "kbin_storage_log_dir_online",
      "1 when the log directory (or database) can be read, 0 after an error",
      ["path"],
      dirs.map((d) => ({ labels: [d.path], value: d.errorCode === 0 ? 1 : 0 })),
    ),
    gauge(
      "kbin_storage_disk_total_bytes",
      "Size of the file system holding the log directory",
      ["path"],
      dirs.filter((d) => known(d.totalBytes)).map((d) => ({ labels: [d.path], value: d.totalBytes })),
    ),
    gauge(
      "kbin_storage_disk_free_bytes",
      "Bytes free for the broker on the file system holding the log directory",
      ["path"],
      dirs.filter((d) => known(d.usableBytes)).map((d) => ({ labels: [d.path], value: d.usableBytes })),
    ),
  ];
}

/** What the process families are computed from. */
export interface ProcessSources {
  version: string;
  runtime: string;
  startTimeSeconds: number;
  stats: (() => ProcessStats) | null;
}

/**
 * Build information and the standard `process_*` families.
 * @param src version, runtime and the runtime's process statistics
 * @returns the families
 */
export function processFamilies(src: ProcessSources): MetricFamily[] {
  const out: MetricFamily[] = [
    {
      name: "kbin_build_info",
      help: "Always 1: the kbin version and the runtime it runs on",
      type: "info",
      labelNames: ["version", "runtime"],
      samples: [{ labels: [src.version, src.runtime], value: 1 }],
    },
    gauge("process_start_time_seconds", "Start time of the process since the Unix epoch", [], [{
      labels: [],
      value: src.startTimeSeconds,
    }]),
  ];
  const stats = src.stats?.();
  if (stats) {
    out.push(
      gauge("process_resident_memory_bytes", "Resident set size", [], [{ labels: [], value: stats.rssBytes }]),
      gauge("process_heap_bytes", "JavaScript heap in use", [], [{ labels: [], value: stats.heapUsedBytes }]),
      {
        name: "process_cpu_seconds",
        help: "User and system CPU time spent",
        type: "counter",
        labelNames: [],
        samples: [{ labels: [], value: stats.cpuUserSeconds + stats.cpuSystemSeconds }],
      },
    );
  }
  return out;
}

/**
 * Samples how late a repeating timer fires: a busy event loop delays every callback, requests
 * included. One timer, cleared by `stop()`.
 */
export class EventLoopMonitor {
  readonly #observe: (seconds: number) => void;
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(observe: (seconds: number) => void) {
    this.#observe = observe;
  }

  /** Starts sampling every `intervalMs`. */
  start(intervalMs = 100): void {
    if (this.#timer) return;
    let expected = performance.now() + intervalMs;
    this.#timer = setInterval(() => {
      const now = performance.now();
      this.#observe(Math.max(0, now - expected) / 1000);
      expected = now + intervalMs;
    }, intervalMs);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
