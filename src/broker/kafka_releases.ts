/**
 * What each Apache Kafka release advertised in its ApiVersions response, so that kbin can cap
 * its own versions and behave like an older broker (STYLE.md §7.12).
 *
 * Scope of every entry:
 *
 * - The broker as it ran with default settings, seen from a client listener: for 0.10.0 … 3.9 a
 *   ZooKeeper-mode broker, for 4.x a KRaft broker (4.0 removed ZooKeeper). Default settings mean
 *   `unstable.api.versions.enable` off (a version marked `latestVersionUnstable` is not listed),
 *   no ZooKeeper-to-KRaft migration (a migrating ZooKeeper broker forwards to the controller and
 *   intersects its versions with the controller's), and no client-telemetry reporter.
 * - GetTelemetrySubscriptions and PushTelemetry (keys 71, 72, KIP-714, since 3.7) are left out
 *   everywhere: a broker lists them only when a metrics reporter that accepts client telemetry is
 *   configured, which is not the default.
 * - Every key the broker listed is here, broker-to-broker ones included (LeaderAndIsr,
 *   WriteTxnMarkers, …). Callers intersect with what they implement.
 * - A release "x.y" is its x.y.0. Patch releases did not change what was advertised (checked
 *   for every branch up to 3.9 as of October 2024), with one known exception: 4.0.1 put JoinGroup
 *   v0–1 back (KAFKA-19444), which the table shows from 4.1 on.
 * - The table starts at 0.10.0, the first release that answers ApiVersions (KIP-35). Older
 *   brokers cannot be asked, so there is nothing to emulate.
 *
 * The data is written as a base release plus one delta per release, and the cumulative maps are
 * built once when the module loads. The facts were taken from Kafka's sources at each release tag
 * (the request schemas, `ApiKeys`, and from 2.8 the specs' `listeners` and
 * `latestVersionUnstable`), cross-checked with franz-go's `kversion` tables, and for 4.x with the
 * 4.3.1 spec set in `shared/kafka-protocol-4.3/`. Where franz-go differs, the comment says so.
 *
 * @module
 */

import { ApiKey } from "../protocol/generated/api_keys.ts";

/** One API key as a release advertised it in ApiVersions. */
export interface ReleaseApi {
  /** The lowest version the broker listed. */
  minVersion: number;
  /** The highest version the broker listed. */
  maxVersion: number;
  /** Advertised but refused when used, e.g. Kafka 4.x Produce v0–2 (KAFKA-18659). */
  refusedVersions?: readonly [number, number];
}

/** API names as the 4.3.1 specs spell them (the generated key table). */
type ApiName = keyof typeof ApiKey;

/** One change between a release and the one before it. */
type Step =
  | { readonly kind: "add"; readonly api: ApiName; readonly minVersion: number; readonly maxVersion: number }
  | { readonly kind: "max"; readonly api: ApiName; readonly maxVersion: number }
  | { readonly kind: "min"; readonly api: ApiName; readonly minVersion: number }
  | { readonly kind: "remove"; readonly api: ApiName }
  | { readonly kind: "refuse"; readonly api: ApiName; readonly versions: readonly [number, number] };

/** A key the release lists for the first time, with versions `minVersion`–`maxVersion`. */
function add(api: ApiName, minVersion: number, maxVersion: number): Step {
  return { kind: "add", api, minVersion, maxVersion };
}

/** The release raises the key's highest version to `maxVersion`. */
function max(api: ApiName, maxVersion: number): Step {
  return { kind: "max", api, maxVersion };
}

/** The release moves the key's lowest version to `minVersion`. */
function min(api: ApiName, minVersion: number): Step {
  return { kind: "min", api, minVersion };
}

/** The release no longer lists the key. */
function remove(api: ApiName): Step {
  return { kind: "remove", api };
}

/** The release lists versions `from`–`to` of the key but refuses requests that use them. */
function refuse(api: ApiName, from: number, to: number): Step {
  return { kind: "refuse", api, versions: [from, to] };
}

interface ReleaseDelta {
  readonly release: string;
  readonly steps: readonly Step[];
}

const HISTORY: readonly ReleaseDelta[] = [
  {
    release: "0.10.0",
    // The base: everything 0.9 had, plus what 0.10.0 added.
    steps: [
      add("Produce", 0, 2), // v2: message format v1 with timestamps (KIP-31, KIP-32)
      add("Fetch", 0, 2), // v2: same, on the read side
      add("ListOffsets", 0, 0),
      add("Metadata", 0, 1), // v1: controller id and rack (KIP-4)
      add("LeaderAndIsr", 0, 0),
      add("StopReplica", 0, 0),
      add("UpdateMetadata", 0, 2), // v2: rack (KIP-36)
      // v0 used a header without client id and was handled by a legacy code path that ApiVersions
      // did not know about, so only v1 was listed until 1.0. franz-go says 0–1 here (it records
      // maxima only).
      add("ControlledShutdown", 1, 1),
      add("OffsetCommit", 0, 2),
      add("OffsetFetch", 0, 1),
      add("FindCoordinator", 0, 0), // then called GroupCoordinator
      add("JoinGroup", 0, 0),
      add("Heartbeat", 0, 0),
      add("LeaveGroup", 0, 0),
      add("SyncGroup", 0, 0),
      add("DescribeGroups", 0, 0),
      add("ListGroups", 0, 0),
      add("SaslHandshake", 0, 0), // KIP-43
      add("ApiVersions", 0, 0), // KIP-35
    ],
  },
  {
    release: "0.10.1",
    steps: [
      max("Fetch", 3), // response size limit (KIP-74)
      max("ListOffsets", 1), // offsets by timestamp (KIP-79)
      max("Metadata", 2), // cluster id (KIP-78)
      max("JoinGroup", 1), // rebalance timeout (KIP-62)
      add("CreateTopics", 0, 0), // KIP-4
      add("DeleteTopics", 0, 0), // KIP-4
    ],
  },
  {
    release: "0.10.2",
    steps: [
      max("UpdateMetadata", 3), // listener names (KIP-103)
      // Fetch all of a group's offsets with a null topic list (KIP-88, KAFKA-3853). franz-go puts
      // this bump in 0.11.0, but 0.10.2.0's Protocol.java already has OFFSET_FETCH_REQUEST_V2.
      max("OffsetFetch", 2),
      max("CreateTopics", 1), // validateOnly (KIP-108)
    ],
  },
  {
    release: "0.11.0",
    steps: [
      // Message format v2, idempotence and transactions (KIP-98).
      max("Produce", 3),
      max("Fetch", 5), // v4 isolation level (KIP-98), v5 log start offset (KIP-107)
      max("ListOffsets", 2), // isolation level (KIP-98)
      max("Metadata", 4), // v3 throttle time (KIP-124), v4 allowAutoTopicCreation (KAFKA-5291)
      max("FindCoordinator", 1), // transaction coordinators (KIP-98)
      add("DeleteRecords", 0, 0), // KIP-107
      add("InitProducerId", 0, 0), // KIP-98
      add("OffsetForLeaderEpoch", 0, 0), // KIP-101
      add("AddPartitionsToTxn", 0, 0), // KIP-98
      add("AddOffsetsToTxn", 0, 0), // KIP-98
      add("EndTxn", 0, 0), // KIP-98
      add("WriteTxnMarkers", 0, 0), // KIP-98
      add("TxnOffsetCommit", 0, 0), // KIP-98
      add("DescribeAcls", 0, 0), // KIP-140
      add("CreateAcls", 0, 0), // KIP-140
      add("DeleteAcls", 0, 0), // KIP-140
      add("DescribeConfigs", 0, 0), // KIP-133
      add("AlterConfigs", 0, 0), // KIP-133
      // Throttle time in every response (KIP-124).
      max("OffsetCommit", 3),
      max("OffsetFetch", 3),
      max("JoinGroup", 2),
      max("Heartbeat", 1),
      max("LeaveGroup", 1),
      max("SyncGroup", 1),
      max("DescribeGroups", 1),
      max("ListGroups", 1),
      max("ApiVersions", 1),
      max("CreateTopics", 2),
      max("DeleteTopics", 1),
    ],
  },
  {
    release: "1.0",
    steps: [
      max("Produce", 5), // v4 KAFKA_STORAGE_ERROR (KIP-112), v5 log start offset (KAFKA-5793)
      max("Fetch", 6), // KIP-112
      max("Metadata", 5), // offline replicas (KIP-112)
      max("LeaderAndIsr", 1), // KIP-112
      max("UpdateMetadata", 4), // KIP-112
      // The legacy v0 path was folded into the common schemas (KAFKA-2507), so v0 is listed.
      min("ControlledShutdown", 0),
      max("SaslHandshake", 1), // SASL frames wrapped in SaslAuthenticate (KIP-152)
      add("AlterReplicaLogDirs", 0, 0), // KIP-113
      add("DescribeLogDirs", 0, 0), // KIP-113
      add("SaslAuthenticate", 0, 0), // KIP-152
      add("CreatePartitions", 0, 0), // KIP-195
    ],
  },
  {
    release: "1.1",
    steps: [
      max("Fetch", 7), // incremental fetch sessions (KIP-227)
      max("DescribeConfigs", 1), // synonyms (KIP-226)
      add("CreateDelegationToken", 0, 0), // KIP-48
      add("RenewDelegationToken", 0, 0), // KIP-48
      add("ExpireDelegationToken", 0, 0), // KIP-48
      add("DescribeDelegationToken", 0, 0), // KIP-48
      add("DeleteGroups", 0, 0), // KIP-229
    ],
  },
  {
    release: "2.0",
    steps: [
      // Each of these bumps only says "the client throttles itself now" (KIP-219).
      max("Produce", 6),
      max("Fetch", 8),
      max("ListOffsets", 3),
      max("Metadata", 6),
      max("OffsetCommit", 4),
      max("OffsetFetch", 4),
      max("FindCoordinator", 2),
      max("JoinGroup", 3),
      max("Heartbeat", 2),
      max("LeaveGroup", 2),
      max("SyncGroup", 2),
      max("DescribeGroups", 2),
      max("ListGroups", 2),
      max("ApiVersions", 2),
      max("CreateTopics", 3),
      max("DeleteTopics", 2),
      max("DeleteRecords", 1),
      max("InitProducerId", 1),
      max("AddPartitionsToTxn", 1),
      max("AddOffsetsToTxn", 1),
      max("EndTxn", 1),
      max("TxnOffsetCommit", 1),
      max("DescribeConfigs", 2),
      max("AlterConfigs", 1),
      max("AlterReplicaLogDirs", 1),
      max("DescribeLogDirs", 1),
      max("CreatePartitions", 1),
      max("CreateDelegationToken", 1),
      max("RenewDelegationToken", 1),
      max("ExpireDelegationToken", 1),
      max("DescribeDelegationToken", 1),
      max("DeleteGroups", 1),
      max("DescribeAcls", 1), // prefixed ACLs (KIP-290)
      max("CreateAcls", 1), // KIP-290
      max("DeleteAcls", 1), // KIP-290
      max("OffsetForLeaderEpoch", 1), // leader epoch in the response (KIP-279)
    ],
  },
  {
    release: "2.1",
    steps: [
      max("Produce", 7), // zstd (KIP-110)
      max("Fetch", 10), // v9 current leader epoch (KIP-320), v10 zstd (KIP-110)
      max("ListOffsets", 4), // KIP-320
      max("Metadata", 7), // KIP-320
      max("OffsetCommit", 6), // v5 no retention time (KIP-211), v6 leader epoch (KIP-320)
      max("OffsetFetch", 5), // KIP-320
      max("OffsetForLeaderEpoch", 2), // KIP-320
      max("TxnOffsetCommit", 2), // KIP-320
      max("DeleteTopics", 3), // KIP-322
    ],
  },
  {
    release: "2.2",
    steps: [
      max("ListOffsets", 5), // KIP-207
      max("JoinGroup", 4), // member id required (KIP-394)
      max("SaslAuthenticate", 1), // session lifetime (KIP-368)
      // Broker epochs fence stale controller requests (KIP-380).
      max("LeaderAndIsr", 2),
      max("StopReplica", 1),
      max("UpdateMetadata", 5),
      max("ControlledShutdown", 2),
      add("ElectLeaders", 0, 0), // then ElectPreferredLeaders (KIP-183)
    ],
  },
  {
    release: "2.3",
    steps: [
      max("Metadata", 8), // authorized operations (KIP-430)
      max("DescribeGroups", 3), // KIP-430
      max("Fetch", 11), // fetch from the closest replica (KIP-392)
      max("OffsetForLeaderEpoch", 3), // KIP-392
      // Static membership (KIP-345).
      max("JoinGroup", 5),
      max("OffsetCommit", 7),
      max("Heartbeat", 3),
      max("SyncGroup", 3),
      add("IncrementalAlterConfigs", 0, 0), // KIP-339
    ],
  },
  {
    release: "2.4",
    steps: [
      add("AlterPartitionReassignments", 0, 0), // KIP-455
      add("ListPartitionReassignments", 0, 0), // KIP-455
      add("OffsetDelete", 0, 0), // KIP-496
      max("DescribeGroups", 4), // group instance id (KIP-345)
      max("ElectLeaders", 1), // election types (KIP-460)
      max("Produce", 8), // per-record errors (KIP-467)
      // Flexible versions with tagged fields (KIP-482); some of these also carry other changes:
      // LeaderAndIsr v3 adding/removing replicas (KIP-455), LeaveGroup v3 batch leave (KIP-345),
      // CreateTopics v4 optional partitions (KIP-464) and v5 configs (KIP-525), ApiVersions v3
      // client name and version (KIP-511).
      max("Metadata", 9),
      max("LeaderAndIsr", 4),
      max("StopReplica", 2),
      max("UpdateMetadata", 6),
      max("ControlledShutdown", 3),
      max("OffsetCommit", 8),
      max("OffsetFetch", 6),
      max("FindCoordinator", 3),
      max("JoinGroup", 6),
      max("Heartbeat", 4),
      max("LeaveGroup", 4),
      max("SyncGroup", 4),
      max("DescribeGroups", 5),
      max("ListGroups", 3),
      max("ApiVersions", 3),
      max("CreateTopics", 5),
      max("DeleteTopics", 4),
      max("InitProducerId", 2),
      max("CreateDelegationToken", 2),
      max("DeleteGroups", 2),
      max("ElectLeaders", 2),
      max("IncrementalAlterConfigs", 1),
    ],
  },
  {
    release: "2.5",
    steps: [
      max("InitProducerId", 3), // producer epoch bump on recovery (KIP-360)
      max("OffsetFetch", 7), // require stable offsets (KIP-447)
      max("TxnOffsetCommit", 3), // group metadata (KIP-447)
      max("JoinGroup", 7), // protocol type and name (KIP-559)
      max("SyncGroup", 5), // KIP-559
      // Flexible versions (KIP-482).
      max("DescribeAcls", 2),
      max("CreateAcls", 2),
      max("DeleteAcls", 2),
      max("SaslAuthenticate", 2),
      max("CreatePartitions", 2),
      max("RenewDelegationToken", 2),
      max("ExpireDelegationToken", 2),
      max("DescribeDelegationToken", 2),
    ],
  },
  {
    release: "2.6",
    steps: [
      max("DeleteRecords", 2), // flexible versions (KIP-482)
      max("DescribeLogDirs", 2), // KIP-482
      max("StopReplica", 3), // leader epoch per partition (KIP-570)
      max("ListGroups", 4), // state filter (KIP-518)
      max("DescribeConfigs", 3), // documentation and types (KIP-569)
      add("DescribeClientQuotas", 0, 0), // KIP-546
      add("AlterClientQuotas", 0, 0), // KIP-546
    ],
  },
  {
    release: "2.7",
    steps: [
      max("Fetch", 12), // flexible, last fetched epoch (KIP-595)
      max("CreateTopics", 6), // THROTTLING_QUOTA_EXCEEDED (KIP-599)
      max("DeleteTopics", 5), // KIP-599
      max("CreatePartitions", 3), // KIP-599
      max("InitProducerId", 4), // PRODUCER_FENCED (KIP-588)
      max("AddPartitionsToTxn", 2), // KIP-588
      max("AddOffsetsToTxn", 2), // KIP-588
      max("EndTxn", 2), // KIP-588
      add("DescribeUserScramCredentials", 0, 0), // KIP-554
      add("AlterUserScramCredentials", 0, 0), // KIP-554
      add("AlterPartition", 0, 0), // then AlterIsr (KIP-497)
      add("UpdateFeatures", 0, 0), // KIP-584
      // 2.7's ApiKeys also had Vote, BeginQuorumEpoch, EndQuorumEpoch and DescribeQuorum, marked
      // disabled, so ApiVersions left them out.
    ],
  },
  {
    release: "2.8",
    steps: [
      // Flexible versions (KIP-482).
      max("Produce", 9),
      max("ListOffsets", 6),
      max("OffsetForLeaderEpoch", 4),
      max("AddPartitionsToTxn", 3),
      max("AddOffsetsToTxn", 3),
      max("EndTxn", 3),
      max("WriteTxnMarkers", 1),
      max("DescribeConfigs", 4),
      max("AlterConfigs", 2),
      max("AlterReplicaLogDirs", 2),
      max("DescribeClientQuotas", 1),
      max("AlterClientQuotas", 1),
      // Topic ids (KIP-516).
      max("LeaderAndIsr", 5),
      max("UpdateMetadata", 7),
      max("CreateTopics", 7),
      max("DeleteTopics", 6),
      max("Metadata", 11), // v10 topic ids (KIP-516), v11 cluster operations moved out (KIP-700)
      add("DescribeCluster", 0, 0), // KIP-700
      add("DescribeProducers", 0, 0), // KIP-664
    ],
  },
  {
    release: "3.0",
    steps: [
      add("DescribeTransactions", 0, 0), // KIP-664
      add("ListTransactions", 0, 0), // KIP-664
      add("AllocateProducerIds", 0, 0), // KIP-730; in ZooKeeper mode the controller is a broker
      max("ListOffsets", 7), // max timestamp (KIP-734)
      max("FindCoordinator", 4), // batched keys (KIP-699)
      max("OffsetFetch", 8), // several groups at once (KIP-709)
    ],
  },
  {
    release: "3.1",
    steps: [
      max("Fetch", 13), // topic ids (KIP-516)
      max("Metadata", 12), // KIP-516
    ],
  },
  {
    release: "3.2",
    steps: [
      max("JoinGroup", 9), // v8 reason (KIP-800), v9 (KIP-814)
      max("LeaveGroup", 5), // reason (KIP-800)
      max("DescribeLogDirs", 3), // KIP-784
      max("LeaderAndIsr", 6), // leader recovery state (KIP-704)
      max("AlterPartition", 1), // KIP-704
    ],
  },
  {
    release: "3.3",
    steps: [
      max("UpdateFeatures", 1), // validate only (KIP-778)
      max("DescribeLogDirs", 4), // total and usable bytes (KIP-827)
      max("AlterPartition", 2), // topic ids (KIP-841)
      // User resources and token requesters (KIP-373).
      max("DescribeAcls", 3),
      max("CreateAcls", 3),
      max("DeleteAcls", 3),
      max("CreateDelegationToken", 3),
      max("DescribeDelegationToken", 3),
    ],
  },
  {
    release: "3.4",
    steps: [
      // ZooKeeper-to-KRaft migration (KIP-866): the KRaft controller id in the controller's
      // requests, and Envelope now listed for ZooKeeper brokers.
      max("LeaderAndIsr", 7),
      max("StopReplica", 4),
      max("UpdateMetadata", 8),
      add("Envelope", 0, 0),
    ],
  },
  {
    release: "3.5",
    steps: [
      max("Fetch", 15), // v14 tiered storage (KIP-405), v15 replica state (KIP-903)
      max("ListOffsets", 8), // local log start offset (KIP-405)
      max("AlterPartition", 3), // KIP-903
    ],
  },
  {
    release: "3.6",
    steps: [
      max("AddPartitionsToTxn", 4), // verify only, batching (KIP-890 part 1)
    ],
  },
  {
    release: "3.7",
    steps: [
      max("Produce", 10), // new leader hints (KIP-951)
      max("Fetch", 16), // KIP-951
      max("OffsetCommit", 9), // new consumer group protocol (KIP-848)
      max("OffsetFetch", 9), // KIP-848
      max("DescribeCluster", 1), // endpoint type (KIP-919)
      // KIP-848. Its spec lists ZooKeeper brokers, which answer UNSUPPORTED_VERSION unless the new
      // group coordinator is switched on. GetTelemetrySubscriptions and PushTelemetry (KIP-714)
      // also arrive in 3.7, but for KRaft brokers with a telemetry reporter only.
      add("ConsumerGroupHeartbeat", 0, 0),
    ],
  },
  {
    release: "3.8",
    steps: [
      // TRANSACTION_ABORTABLE (KIP-890).
      max("Produce", 11),
      max("FindCoordinator", 5),
      max("InitProducerId", 5),
      max("AddPartitionsToTxn", 5),
      max("AddOffsetsToTxn", 4),
      max("EndTxn", 4),
      max("TxnOffsetCommit", 4),
      max("ListGroups", 5), // type filter (KIP-848)
      max("ListTransactions", 1), // duration filter (KIP-994)
      add("ConsumerGroupDescribe", 0, 0), // KIP-848
    ],
  },
  {
    release: "3.9",
    steps: [
      max("Fetch", 17), // replica directory id (KIP-853)
      max("ListOffsets", 9), // last tiered offset (KIP-1005)
      max("FindCoordinator", 6), // share coordinators (KIP-932)
      max("ApiVersions", 4), // KAFKA-17011: features with minimum version 0
    ],
  },
  {
    release: "4.0",
    steps: [
      // ZooKeeper mode is gone (KIP-500): from here on the table describes a KRaft broker. The
      // ZooKeeper controller's requests went with it; the next three are served by the KRaft
      // controller only, never on a broker listener.
      remove("LeaderAndIsr"),
      remove("StopReplica"),
      remove("UpdateMetadata"),
      remove("ControlledShutdown"),
      remove("AlterPartition"),
      remove("Envelope"),
      remove("AllocateProducerIds"),
      // KRaft brokers listed these before 4.0, ZooKeeper brokers never did.
      add("DescribeQuorum", 0, 2), // KIP-595; v1 KIP-836, v2 KIP-853
      add("UnregisterBroker", 0, 0), // KIP-631
      add("ListConfigResources", 0, 0), // then ListClientMetricsResources (KIP-714)
      add("DescribeTopicPartitions", 0, 0), // KIP-966
      add("AddRaftVoter", 0, 0), // KIP-853
      add("RemoveRaftVoter", 0, 0), // KIP-853
      // Versions that no client has needed since Kafka 2.1 are removed (KIP-896).
      min("Fetch", 4),
      min("ListOffsets", 1),
      min("OffsetCommit", 2),
      min("OffsetFetch", 1),
      min("JoinGroup", 2), // put back in 4.0.1 (KAFKA-19444)
      min("CreateTopics", 2),
      min("DeleteTopics", 1),
      min("OffsetForLeaderEpoch", 2),
      min("WriteTxnMarkers", 1),
      min("DescribeAcls", 1),
      min("CreateAcls", 1),
      min("DeleteAcls", 1),
      min("DescribeConfigs", 1),
      min("AlterReplicaLogDirs", 1),
      min("DescribeLogDirs", 1),
      min("CreateDelegationToken", 1),
      min("RenewDelegationToken", 1),
      min("ExpireDelegationToken", 1),
      min("DescribeDelegationToken", 1),
      // Produce v0–2 went too, but ApiVersions still lists v0: librdkafka only enables
      // compression when the broker lists the old Produce versions (KAFKA-18659).
      refuse("Produce", 0, 2),
      max("Produce", 12), // implicit AddPartitionsToTxn (KIP-890 part 2)
      max("ListOffsets", 10), // asynchronous remote offsets (KIP-1075)
      max("Metadata", 13), // top-level error code, REBOOTSTRAP_REQUIRED (KIP-1102)
      max("DescribeGroups", 6), // GROUP_ID_NOT_FOUND (KIP-1043)
      max("EndTxn", 5), // epoch bump per transaction (KIP-890 part 2)
      max("TxnOffsetCommit", 5), // KIP-890 part 2
      max("UpdateFeatures", 2), // no per-feature results (KAFKA-16308)
      max("DescribeCluster", 2), // fenced brokers (KIP-1073)
      max("ConsumerGroupHeartbeat", 1), // regex subscriptions (KIP-848), client member ids (KIP-1082)
      max("ConsumerGroupDescribe", 1), // member type (KIP-1099)
      // The share-group APIs (KIP-932) exist in 4.0 as unstable v0 only, so they are not listed.
    ],
  },
  {
    release: "4.1",
    steps: [
      max("Produce", 13), // topic ids (KIP-516)
      max("Fetch", 18), // high watermark for KRaft fetchers (KIP-1166)
      min("JoinGroup", 0), // v0–1 put back (KAFKA-19444, also in 4.0.1)
      max("AlterPartitionReassignments", 1), // replication factor change (KIP-860)
      max("ListTransactions", 2), // transactional id pattern (KIP-1152)
      max("ListConfigResources", 1), // resource types (KIP-1142)
      // Share groups (KIP-932). The 4.0 early-access v0 was dropped, so the group APIs start at
      // v1; franz-go lists them from v0 (it records maxima only).
      add("ShareGroupHeartbeat", 1, 1),
      add("ShareGroupDescribe", 1, 1),
      add("ShareFetch", 1, 1),
      add("ShareAcknowledge", 1, 1),
      add("InitializeShareGroupState", 0, 0),
      add("ReadShareGroupState", 0, 0),
      add("WriteShareGroupState", 0, 0),
      add("DeleteShareGroupState", 0, 0),
      add("ReadShareGroupStateSummary", 0, 0),
      add("DescribeShareGroupOffsets", 0, 0),
      add("AlterShareGroupOffsets", 0, 0),
      add("DeleteShareGroupOffsets", 0, 0),
      // Unstable in 4.1, hence not listed: OffsetCommit v10, OffsetFetch v10, InitProducerId v6
      // and the streams-group APIs.
    ],
  },
  {
    release: "4.2",
    steps: [
      max("ListOffsets", 11), // earliest pending upload (KIP-1023)
      max("OffsetCommit", 10), // topic ids (KIP-848)
      max("OffsetFetch", 10), // topic ids (KIP-848)
      max("WriteTxnMarkers", 2), // transaction version (KIP-1228)
      max("ShareFetch", 2), // acquire mode (KIP-1206), renew (KIP-1222)
      max("ShareAcknowledge", 2), // renew (KIP-1222)
      max("AddRaftVoter", 1), // ack when committed (KAFKA-19400, KIP-1186)
      max("WriteShareGroupState", 1), // delivery complete count (KIP-1226)
      max("ReadShareGroupStateSummary", 1), // KIP-1226
      max("DescribeShareGroupOffsets", 1), // lag (KIP-1226)
      add("StreamsGroupHeartbeat", 0, 0), // KIP-1071
      add("StreamsGroupDescribe", 0, 0), // KIP-1071
    ],
  },
  {
    release: "4.3",
    steps: [
      max("DescribeLogDirs", 5), // cordoned log directories (KIP-1066)
      // InitProducerId v6 (two-phase commit, KIP-939) is still unstable.
    ],
  },
];

/** Every release the table describes, oldest first. */
export const KAFKA_RELEASES: readonly string[] = Object.freeze(HISTORY.map((delta) => delta.release));

const TABLE: ReadonlyMap<string, ReadonlyMap<number, ReleaseApi>> = buildTable();

function buildTable(): Map<string, ReadonlyMap<number, ReleaseApi>> {
  const table = new Map<string, ReadonlyMap<number, ReleaseApi>>();
  let apis = new Map<number, ReleaseApi>();
  for (const { release, steps } of HISTORY) {
    apis = new Map(apis);
    for (const step of steps) applyStep(apis, step, release);
    table.set(release, new Map([...apis].sort(([a], [b]) => a - b)));
  }
  return table;
}

function applyStep(apis: Map<number, ReleaseApi>, step: Step, release: string): void {
  const key = ApiKey[step.api];
  const current = apis.get(key);
  const fail = (why: string): never => {
    throw new Error(`Cannot build the Kafka ${release} API table: ${step.api} ${why}`);
  };
  if (step.kind === "add") {
    if (current) fail("is already listed");
    if (step.minVersion > step.maxVersion) fail(`has min ${step.minVersion} above max ${step.maxVersion}`);
    apis.set(key, entry(step.minVersion, step.maxVersion, undefined));
    return;
  }
  if (!current) return fail("is not listed yet");
  switch (step.kind) {
    case "max":
      if (step.maxVersion <= current.maxVersion) fail(`max ${step.maxVersion} does not raise ${current.maxVersion}`);
      apis.set(key, entry(current.minVersion, step.maxVersion, current.refusedVersions));
      return;
    case "min":
      if (step.minVersion === current.minVersion || step.minVersion > current.maxVersion) {
        fail(`min ${step.minVersion} does not fit ${current.minVersion}–${current.maxVersion}`);
      }
      apis.set(key, entry(step.minVersion, current.maxVersion, current.refusedVersions));
      return;
    case "remove":
      apis.delete(key);
      return;
    case "refuse": {
      const [from, to] = step.versions;
      if (from < current.minVersion || to >= current.maxVersion) fail(`cannot refuse ${from}–${to}`);
      apis.set(key, entry(current.minVersion, current.maxVersion, step.versions));
      return;
    }
  }
}

function entry(minVersion: number, maxVersion: number, refused: readonly [number, number] | undefined): ReleaseApi {
  return Object.freeze(
    refused ? { minVersion, maxVersion, refusedVersions: Object.freeze(refused) } : { minVersion, maxVersion },
  );
}

const RELEASE_PATTERN = /^v?(0\.\d+\.\d+|[1-9]\d*\.\d+)(?:\.\d+)?$/;

/**
 * Reads a Kafka version as people write it and returns the matching entry of
 * {@link KAFKA_RELEASES}. A patch number is dropped ("2.8.1" → "2.8", "0.10.2.2" → "0.10.2"), and a
 * leading "v" is allowed.
 *
 * @param text a version such as "3.9", "3.9.1", "v2.8" or "0.10.0.1"
 * @returns the canonical release, e.g. "3.9"
 * @throws {RangeError} when the text is not a version or names a release outside the table
 * @example
 * parseKafkaRelease("0.10.2.2"); // "0.10.2"
 */
export function parseKafkaRelease(text: string): string {
  const release = RELEASE_PATTERN.exec(text)?.[1];
  if (release === undefined || !TABLE.has(release)) {
    throw new RangeError(
      `Cannot use Kafka release "${text}": expected one of ${KAFKA_RELEASES.join(", ")}, ` +
        `optionally with a patch number (such as "3.9.1") or a leading "v"`,
    );
  }
  return release;
}

/**
 * What a broker of the given release listed in ApiVersions, by API key. Keys the release did not
 * list are absent. The map is shared: treat it as read-only.
 *
 * @param release a release as {@link parseKafkaRelease} accepts it, e.g. "2.8" or "2.8.1"
 * @returns the advertised version range of each key, in key order
 * @throws {RangeError} for a release outside the table
 * @example
 * releaseApiVersions("2.0").get(0); // { minVersion: 0, maxVersion: 6 }  (Produce)
 */
export function releaseApiVersions(release: string): ReadonlyMap<number, ReleaseApi> {
  return TABLE.get(parseKafkaRelease(release))!;
}
