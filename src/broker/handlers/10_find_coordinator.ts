/**
 * FindCoordinator (key 10), v0–v6.
 *
 * This node coordinates every consumer group, so a GROUP key is answered with itself (batched
 * keys from v4). TRANSACTION keys get COORDINATOR_NOT_AVAILABLE until the transaction
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
import type { BrokerContext } from "../context.ts";
import { defineHandler } from "../registry.ts";

const KEY_TYPE_GROUP = 0;
const KEY_TYPE_TRANSACTION = 1;

function locate(broker: BrokerContext, keyType: number): { errorCode: number; errorMessage: string | null } {
  if (keyType === KEY_TYPE_GROUP) return { errorCode: ErrorCode.NONE, errorMessage: null };
  if (keyType === KEY_TYPE_TRANSACTION) {
    return {
      errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
      errorMessage: "Transactions are not supported by this broker yet",
    };
  }
  return {
    errorCode: ErrorCode.INVALID_REQUEST,
    errorMessage: `Key type ${keyType} is not supported by node ${broker.nodeId}`,
  };
}

export default defineHandler(FIND_COORDINATOR_API, {
  minVersion: 0,
  maxVersion: 6,
  handle(request, ctx) {
    const { broker, version } = ctx;
    const node = { nodeId: broker.nodeId, host: broker.advertised.host, port: broker.advertised.port };
    const none = { nodeId: -1, host: "", port: -1 };
    if (version < 4) {
      const r = locate(broker, request.keyType);
      return { throttleTimeMs: 0, ...r, ...(r.errorCode === ErrorCode.NONE ? node : none) };
    }
    return {
      throttleTimeMs: 0,
      coordinators: request.coordinatorKeys.map((key) => {
        const r = locate(broker, request.keyType);
        return { key, ...r, ...(r.errorCode === ErrorCode.NONE ? node : none) };
      }),
    };
  },
});
