/**
 * The Schema Registry's log: the compacted topic `_schemas` (one partition), where every change
 * is a record with Confluent's JSON key and value (see `state.ts`), written and read through the
 * broker's own storage, so it is durable on every engine and survives restarts. Only the broker
 * that leads the partition writes (on PostgreSQL the others forward requests to it, `routes.ts`).
 *
 * @module
 */

import type { BrokerContext } from "../../broker/context.ts";
import { ErrorCode } from "../../protocol/generated/errors.ts";
import { Attributes, scanBatches } from "../../protocol/records/batch.ts";
import { batchRecords, buildBatch } from "../../protocol/records/records.ts";
import type { PartitionStorage, Topic } from "../../storage/engine.ts";

/** The topic Confluent's registry keeps its state in. */
export const SCHEMAS_TOPIC = "_schemas";

/** One record of the log: its offset, key and value (null: a tombstone). */
export interface SchemaLogRecord {
  offset: number;
  key: string;
  value: string | null;
}

/** What the registry needs of its log. */
export interface SchemasLog {
  /**
   * The broker that writes the log (leads its partition), creating the topic on first use and
   * waiting a while for a leader; -1 when none is found.
   */
  leader(): Promise<number>;
  /** Appends records durably, in order. */
  append(records: readonly { key: string; value: string | null }[]): Promise<void>;
  /** The records from `offset` to the end of the log (at most a few MiB per call), and where to go on. */
  readFrom(offset: number): Promise<{ records: SchemaLogRecord[]; next: number; end: number }>;
}

/** Raised when the log cannot be written or read; the routes answer 50001 (Confluent's store error). */
export class SchemaStoreError extends Error {
  override name = "SchemaStoreError";
}

const READ_BYTES = 4 << 20;
const LEADER_WAIT_MS = 5000;
const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * The registry's log on a broker's storage: creates `_schemas` (one partition,
 * `cleanup.policy=compact`) on first use.
 * @param broker the broker
 * @param topic the topic name (`kbin.schema.registry.topic`)
 * @returns the log
 */
export function brokerSchemasLog(broker: BrokerContext, topic = SCHEMAS_TOPIC): SchemasLog {
  let creating: Promise<Topic> | null = null;
  const topicOf = async (): Promise<Topic> => {
    const t = broker.storage.topics.get(topic);
    if (t.ok) return t.value;
    creating ??= (async () => {
      const created = await broker.storage.topics.create({
        name: topic,
        partitions: 1,
        configs: { "cleanup.policy": "compact" },
      });
      if (created.ok) {
        broker.logger.info("Created the Schema Registry's topic", { topic });
        return created.value;
      }
      // Another broker (or an earlier call) made it meanwhile.
      const again = broker.storage.topics.get(topic);
      if (again.ok) return again.value;
      throw new SchemaStoreError(`Cannot create the topic ${topic}: ${created.message ?? created.code}`);
    })().finally(() => (creating = null));
    return await creating;
  };
  let opened: { topicId: string; partition: PartitionStorage } | null = null;
  const partition = async (): Promise<PartitionStorage> => {
    const t = await topicOf();
    if (opened?.topicId === t.id && !opened.partition.failure) return opened.partition;
    const p = await broker.storage.partition({ topicName: t.name, topicId: t.id, partition: 0 });
    opened = { topicId: t.id, partition: p };
    return p;
  };
  const leader = async (): Promise<number> => {
    const t = await topicOf();
    const ref = { topicName: t.name, topicId: t.id, partition: 0 };
    for (let waited = 0; waited < LEADER_WAIT_MS; waited += 50) {
      const l = broker.storage.cluster.partitionLeader(ref).leader;
      if (l >= 0 || broker.storage.cluster.brokers().length === 0) return l < 0 ? broker.nodeId : l;
      await new Promise((r) => setTimeout(r, 50));
    }
    return -1;
  };
  return {
    leader,
    async append(records) {
      if (records.length === 0) return;
      const p = await partition();
      const batch = buildBatch(records.map((r) => ({
        key: enc.encode(r.key),
        value: r.value === null ? null : enc.encode(r.value),
      })));
      const out = await p.append(batch);
      if (out.kind === "error") {
        throw new SchemaStoreError(
          `Cannot write to ${topic}: ${out.message} (${
            out.code === ErrorCode.NOT_LEADER_OR_FOLLOWER ? "not its leader" : out.code
          })`,
        );
      }
      if (out.kind === "appended") {
        await p.waitDurable(out.lastOffset + 1);
        await out.written;
      }
    },
    async readFrom(offset) {
      const p = await partition();
      const start = Math.max(offset, p.logStartOffset);
      // Nothing new: most reads end here, without touching storage.
      if (start >= p.highWatermark) return { records: [], next: start, end: p.highWatermark };
      const read = await p.read(start, READ_BYTES, { minOneBatch: true });
      if (!read.ok) throw new SchemaStoreError(`Cannot read ${topic}: ${read.message ?? read.code}`);
      const buf = read.value.records;
      const out: SchemaLogRecord[] = [];
      let next = start;
      for (const { at } of scanBatches(buf).batches) {
        const { header, records } = batchRecords(buf, at, { decompress: (c, d) => broker.codecs.decompress(c, d) });
        next = Number(header.baseOffset) + header.lastOffsetDelta + 1;
        if ((header.attributes & Attributes.CONTROL) !== 0) continue;
        for (const r of records) {
          if (r.key === null || Number(r.offset) < start) continue;
          out.push({
            offset: Number(r.offset),
            key: dec.decode(r.key),
            value: r.value === null ? null : dec.decode(r.value),
          });
        }
      }
      return { records: out, next, end: read.value.highWatermark };
    },
  };
}
