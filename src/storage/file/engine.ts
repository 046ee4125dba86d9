/**
 * The `file:DIR` engine, kbin's default: partition logs as Kafka lays them out (segments of
 * batches stored byte for byte, offset and time indexes, crash recovery: `log_manager.ts`,
 * `partition_log.ts`), topics and producer id blocks in SQLite (`metadata_db.ts`), and offsets,
 * group state and the state of later features in a crash-safe journal with group commit
 * (`state_journal.ts`), so that an offset commit never waits for an fsync on the event loop.
 *
 * Layout: `DIR/metadata.db`, `DIR/state/`, `DIR/<topic>-<partition>/`.
 *
 * @module
 */

import type { FileSystem, OpenDatabaseFn } from "../../ports.ts";
import { ErrorCode } from "../../protocol/generated/errors.ts";
import { DEFAULT_LOG_CONFIG, type LogDir, type PartitionRef, type Storage, type StorageOptions } from "../engine.ts";
import { kvGroupStorage, kvStateStorage } from "../kv_state.ts";
import type { Result } from "../result.ts";
import { singleNodeCluster } from "../single_node.ts";
import { TopicCatalog } from "../topic_catalog.ts";
import { LogManager } from "./log_manager.ts";
import { type MetadataDb, openMetadataDb } from "./metadata_db.ts";
import { StateJournal } from "./state_journal.ts";

/** Options for {@link openFileStorage}. */
export interface FileStorageOptions extends StorageOptions {
  fs: FileSystem;
  openDatabase: OpenDatabaseFn;
  /** The data directory (created if missing). */
  dir: string;
}

/**
 * Opens (creating or recovering) a data directory.
 * @param o file system, SQLite opener, directory and the common storage options
 * @returns the storage; every known partition is open (and recovered) when it resolves
 * @throws MetadataVersionError when the directory was written by a newer kbin
 */
export async function openFileStorage(o: FileStorageOptions): Promise<Storage> {
  await o.fs.mkdir(o.dir);
  const meta: MetadataDb = openMetadataDb(o.openDatabase(`${o.dir}/metadata.db`));
  let journal: StateJournal | null = null;
  let logs: LogManager | null = null;
  try {
    journal = await StateJournal.open({
      fs: o.fs,
      dir: `${o.dir}/state`,
      logger: o.logger,
      ...(o.observer ? { observer: o.observer } : {}),
    });
    const groups = kvGroupStorage(journal);
    await moveLegacyGroups(meta, groups);
    const topics: TopicCatalog = new TopicCatalog({
      insertTopic: (t) => meta.backend.insertTopic(t),
      async deleteTopic(t) {
        meta.backend.deleteTopic(t);
        // The topic is gone once SQLite says so; a log directory that cannot be removed now is
        // removed by the next start (LogManager.open sweeps directories of unknown partitions).
        await logs!.deleteTopic(t.name, t.partitions).catch((err) => {
          o.logger.warn("Could not remove the logs of a deleted topic; they are removed at the next start", {
            topic: t.name,
            error: String(err),
          });
        });
      },
      addPartitions: (t, from, to) => meta.backend.addPartitions(t, from, to),
      writeConfigs: (t, configs) => meta.backend.writeConfigs(t, configs),
    }, { now: () => o.clock.now(), loaded: meta.loadTopics() });
    logs = await LogManager.open(
      {
        fs: o.fs,
        dataDir: o.dir,
        clock: o.clock,
        logger: o.logger,
        decompress: o.decompress,
        ...(o.compress ? { compress: o.compress } : {}),
        minFreeBytes: o.minFreeBytes ?? 0,
        ...(o.observer ? { observer: o.observer } : {}),
        configFor: (name) => {
          const t = topics.get(name);
          return t.ok ? o.logConfig(t.value) : DEFAULT_LOG_CONFIG;
        },
      },
      topics.list().flatMap((t) =>
        Array.from({ length: t.partitions }, (_, partition) => ({ topicName: t.name, topicId: t.id, partition }))
      ),
    );
    const openLogs = logs;
    const openJournal = journal;
    let closed: Promise<void> | null = null;
    const leaderEpoch = (ref: PartitionRef) => openLogs.opened(ref)?.leaderEpoch ?? 0;
    return {
      clusterId: meta.clusterId,
      claimNode: (nodeId: number): Promise<Result<number>> => Promise.resolve(meta.claimNode(nodeId)),
      topics,
      partition: (ref: PartitionRef) => openLogs.get(ref),
      leaderEpoch,
      cluster: singleNodeCluster(leaderEpoch),
      groups,
      reserveProducerIds: (count: number) => Promise.resolve(meta.reserveProducerIds(count)),
      state: kvStateStorage(openJournal),
      async logDirs(): Promise<LogDir[]> {
        try {
          const { totalBytes, usableBytes } = await o.fs.statfs(o.dir);
          return [{ path: o.dir, totalBytes, usableBytes, errorCode: 0 }];
        } catch (err) {
          o.logger.warn("Cannot read the size of the data directory", { dir: o.dir, error: String(err) });
          return [{ path: o.dir, totalBytes: -1, usableBytes: -1, errorCode: ErrorCode.KAFKA_STORAGE_ERROR }];
        }
      },
      close(): Promise<void> {
        closed ??= (async () => {
          try {
            await openLogs.close();
            await openJournal.close();
          } finally {
            topics.clear();
            meta.close();
          }
        })();
        return closed;
      },
    };
  } catch (err) {
    await logs?.close().catch(() => {});
    await journal?.close().catch(() => {});
    meta.close();
    throw err;
  }
}

/** Offsets and groups of a data dir written before the journal move into it, once. */
async function moveLegacyGroups(
  meta: MetadataDb,
  groups: ReturnType<typeof kvGroupStorage>,
): Promise<void> {
  const legacy = meta.legacyGroups();
  if (legacy.offsets.length === 0 && legacy.groups.length === 0) return;
  // Rewritten whole every time rows are left: the broker serves nothing before this finishes, so
  // the journal cannot hold anything newer for these keys.
  {
    const byGroup = new Map<string, typeof legacy.offsets[number][1][]>();
    for (const [groupId, offset] of legacy.offsets) {
      let list = byGroup.get(groupId);
      if (!list) byGroup.set(groupId, list = []);
      list.push(offset);
    }
    for (const [groupId, offsets] of byGroup) await groups.commitOffsets(groupId, offsets);
    for (const g of legacy.groups) await groups.saveGroup(g);
  }
  // Durable in the journal first; a crash before this line moves them again (idempotently).
  meta.dropLegacyGroups();
}
