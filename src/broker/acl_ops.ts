/**
 * Authorized-operations bit fields (KIP-430) for Metadata, DescribeCluster and
 * DescribeTopicPartitions. Until ACLs exist every operation is allowed, so these are the
 * operations each resource type supports.
 *
 * @module
 */

/** AclOperation codes (enums.json). */
export const AclOperation = {
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
  CREATE_TOKENS: 13,
  DESCRIBE_TOKENS: 14,
} as const;

/** Kafka's "not requested" value for authorized-operations fields. */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

function bits(ops: readonly number[]): number {
  return ops.reduce((acc, op) => acc | (1 << op), 0);
}

const A = AclOperation;
/** Operations that apply to a topic. */
export const TOPIC_OPERATIONS: number = bits([
  A.READ,
  A.WRITE,
  A.CREATE,
  A.DELETE,
  A.ALTER,
  A.DESCRIBE,
  A.DESCRIBE_CONFIGS,
  A.ALTER_CONFIGS,
]);
/**
 * Operations that apply to the cluster (Kafka's `AclEntry.supportedOperations(CLUSTER)`); the
 * token operations belong to USER resources, not to the cluster.
 */
export const CLUSTER_OPERATIONS: number = bits([
  A.CREATE,
  A.ALTER,
  A.DESCRIBE,
  A.CLUSTER_ACTION,
  A.DESCRIBE_CONFIGS,
  A.ALTER_CONFIGS,
  A.IDEMPOTENT_WRITE,
]);
