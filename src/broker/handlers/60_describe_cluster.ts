/**
 * DescribeCluster (key 60), v0–v2.
 *
 * Answers with this node as the only broker and the controller. v1 clients may ask for the
 * controller endpoints (endpoint type 2); kbin has no separate controller listener, so that
 * gets UNSUPPORTED_ENDPOINT_TYPE, as a Kafka broker answers. v2 may ask for fenced brokers
 * too (KIP-1073); this node is never fenced.
 *
 * @module
 */

import { DESCRIBE_CLUSTER_API } from "../../protocol/generated/60_describe_cluster.ts";
import { ErrorCode } from "../../protocol/generated/errors.ts";
import { AUTHORIZED_OPERATIONS_OMITTED, CLUSTER_OPERATIONS } from "../acl_ops.ts";
import { defineHandler } from "../registry.ts";

const ENDPOINT_TYPE_BROKER = 1;

export default defineHandler(DESCRIBE_CLUSTER_API, {
  minVersion: 0,
  maxVersion: 2,
  handle(request, ctx) {
    const { broker } = ctx;
    if (ctx.version >= 1 && request.endpointType !== ENDPOINT_TYPE_BROKER) {
      return {
        errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
        errorMessage:
          "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER",
        endpointType: ENDPOINT_TYPE_BROKER,
        clusterId: broker.clusterId,
      };
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      endpointType: ENDPOINT_TYPE_BROKER,
      clusterId: broker.clusterId,
      controllerId: broker.nodeId,
      brokers: [{
        brokerId: broker.nodeId,
        host: broker.advertised.host,
        port: broker.advertised.port,
        rack: null,
        isFenced: false,
      }],
      clusterAuthorizedOperations: request.includeClusterAuthorizedOperations
        ? CLUSTER_OPERATIONS
        : AUTHORIZED_OPERATIONS_OMITTED,
    };
  },
});
