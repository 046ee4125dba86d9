/**
 * Every API handler the broker serves, in API-key order.
 *
 * @module
 */

import type { Handler } from "../registry.ts";
import produce from "./00_produce.ts";
import fetch from "./01_fetch.ts";
import listOffsets from "./02_list_offsets.ts";
import metadata from "./03_metadata.ts";
import findCoordinator from "./10_find_coordinator.ts";
import apiVersions from "./18_api_versions.ts";
import offsetCommit from "./08_offset_commit.ts";
import offsetFetch from "./09_offset_fetch.ts";
import joinGroup from "./11_join_group.ts";
import heartbeat from "./12_heartbeat.ts";
import leaveGroup from "./13_leave_group.ts";
import syncGroup from "./14_sync_group.ts";
import describeGroups from "./15_describe_groups.ts";
import listGroups from "./16_list_groups.ts";
import deleteGroups from "./42_delete_groups.ts";
import offsetDelete from "./47_offset_delete.ts";
import createTopics from "./19_create_topics.ts";
import deleteTopics from "./20_delete_topics.ts";
import deleteRecords from "./21_delete_records.ts";
import initProducerId from "./22_init_producer_id.ts";
import offsetForLeaderEpoch from "./23_offset_for_leader_epoch.ts";
import addPartitionsToTxn from "./24_add_partitions_to_txn.ts";
import addOffsetsToTxn from "./25_add_offsets_to_txn.ts";
import endTxn from "./26_end_txn.ts";
import writeTxnMarkers from "./27_write_txn_markers.ts";
import saslHandshake from "./17_sasl_handshake.ts";
import saslAuthenticate from "./36_sasl_authenticate.ts";
import describeUserScramCredentials from "./50_describe_user_scram_credentials.ts";
import alterUserScramCredentials from "./51_alter_user_scram_credentials.ts";
import txnOffsetCommit from "./28_txn_offset_commit.ts";
import describeAcls from "./29_describe_acls.ts";
import createAcls from "./30_create_acls.ts";
import deleteAcls from "./31_delete_acls.ts";
import describeConfigs from "./32_describe_configs.ts";
import describeLogDirs from "./35_describe_log_dirs.ts";
import alterConfigs from "./33_alter_configs.ts";
import createPartitions from "./37_create_partitions.ts";
import incrementalAlterConfigs from "./44_incremental_alter_configs.ts";
import describeCluster from "./60_describe_cluster.ts";
import describeProducers from "./61_describe_producers.ts";
import describeTransactions from "./65_describe_transactions.ts";
import listTransactions from "./66_list_transactions.ts";
import consumerGroupHeartbeat from "./68_consumer_group_heartbeat.ts";
import consumerGroupDescribe from "./69_consumer_group_describe.ts";
import listConfigResources from "./74_list_config_resources.ts";
import describeTopicPartitions from "./75_describe_topic_partitions.ts";

/** All handlers, registered by every broker. */
export const ALL_HANDLERS: readonly Handler[] = [
  produce,
  fetch,
  listOffsets,
  metadata,
  offsetCommit,
  offsetFetch,
  findCoordinator,
  joinGroup,
  heartbeat,
  leaveGroup,
  syncGroup,
  describeGroups,
  listGroups,
  apiVersions,
  createTopics,
  deleteTopics,
  deleteRecords,
  initProducerId,
  offsetForLeaderEpoch,
  addPartitionsToTxn,
  addOffsetsToTxn,
  endTxn,
  writeTxnMarkers,
  saslHandshake,
  saslAuthenticate,
  describeUserScramCredentials,
  alterUserScramCredentials,
  txnOffsetCommit,
  describeAcls,
  createAcls,
  deleteAcls,
  describeConfigs,
  describeLogDirs,
  alterConfigs,
  createPartitions,
  deleteGroups,
  incrementalAlterConfigs,
  offsetDelete,
  describeCluster,
  describeProducers,
  describeTransactions,
  listTransactions,
  consumerGroupHeartbeat,
  consumerGroupDescribe,
  listConfigResources,
  describeTopicPartitions,
] as Handler[];
