/**
 * FindCoordinator (key 10), v0–v6.
 *
 * A GROUP key is answered with the live broker leading its coordinator shard (Kafka's
 * `abs(hashCode) % shards`; this node alone on `file:` and `memory:`), or COORDINATOR_NOT_AVAILABLE
 * while the shard has no live leader; batched keys from v4. TRANSACTION keys (transactional ids) are located like groups; until the transaction
 * coordinator exists; SHARE keys (KIP-932) get INVALID_REQUEST.
 *
 * v0 is served although Kafka 4.0 deprecates it: librdkafka enables lz4 only when FindCoordinator
 * v0 is advertised (its RD_KAFKA_FEATURE_LZ4 depends on it), the same reason Kafka 4.0 keeps
 * advertising Produce v0 (KAFKA-18659).
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import { FIND_COORDINATOR_API } from "../../protocol/generated/10_find_coordinator.ts";
import type { ConnState } from "../conn_state.ts";
import { type BrokerContext, coordinatorOf, endpointFor } from "../context.ts";
import { defineHandler, type RequestContext } from "../registry.ts";
import { AclOperation, ResourceType } from "../acl/model.ts";

const KEY_TYPE_GROUP = 0;
const KEY_TYPE_TRANSACTION = 1;

type Located = { errorCode: number; errorMessage: string | null; nodeId: number; host: string; port: number };

const NONE = { nodeId: -1, host: "", port: -1 };

function locate(
  broker: BrokerContext,
  keyType: number,
  key: string,
  conn: ConnState,
  allowed: RequestContext["allowed"],
): Located {
  // ACLs: DESCRIBE on the group or the transactional id.
  if (keyType === KEY_TYPE_GROUP && !allowed(AclOperation.DESCRIBE, ResourceType.GROUP, key)) {
    return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, errorMessage: null, ...NONE };
  }
  if (keyType === KEY_TYPE_TRANSACTION && !allowed(AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, key)) {
    return { errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, errorMessage: null, ...NONE };
  }
  if (keyType === KEY_TYPE_GROUP || keyType === KEY_TYPE_TRANSACTION) {
    // Transactional ids hash onto the same shards as group ids (as Kafka's __transaction_state).
    const b = coordinatorOf(broker, key);
    // The coordinator as the client's listener reaches it (none when it lacks that listener).
    const at = b === null ? null : endpointFor(broker, b, conn);
    return b === null || at === null
      ? { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: "The coordinator is not available.", ...NONE }
      : { errorCode: ErrorCode.NONE, errorMessage: null, nodeId: b.nodeId, host: at.host, port: at.port };
  }
  return {
    errorCode: ErrorCode.INVALID_REQUEST,
    errorMessage: `Key type ${keyType} is not supported by node ${broker.nodeId}`,
    ...NONE,
  };
}

export default defineHandler(FIND_COORDINATOR_API, {
  minVersion: 0,
  maxVersion: 6,
  handle(request, ctx) {
    const { broker, version } = ctx;
    if (version < 4) {
      return { throttleTimeMs: 0, ...locate(broker, request.keyType, request.key, ctx.conn, ctx.allowed) };
    }
    return {
      throttleTimeMs: 0,
      coordinators: request.coordinatorKeys.map((key) => ({
        key,
        ...locate(broker, request.keyType, key, ctx.conn, ctx.allowed),
      })),
    };
  },
});
