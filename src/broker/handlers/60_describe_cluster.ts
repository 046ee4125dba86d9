/**
 * DescribeCluster (key 60), v0–v2.
 *
 * Answers with the live brokers (this node alone on `file:` and `memory:`) and the controller, the
 * live broker with the lowest node id. v1 clients may ask for another
 * endpoint type (KIP-919); this is a broker endpoint, so, as Kafka's brokers answer
 * (`AuthHelper.computeDescribeClusterResponse`), CONTROLLER (2) gets MISMATCHED_ENDPOINT_TYPE and a
 * type Kafka does not know UNSUPPORTED_ENDPOINT_TYPE, each with Kafka's message and the rest of
 * the response left at its defaults (no cluster id, controller -1, no brokers). v2 may ask for
 * fenced brokers too (KIP-1073); this node is never fenced.
 *
 * @module
 */

import { DESCRIBE_CLUSTER_API } from "../../protocol/generated/60_describe_cluster.ts";
import { ErrorCode } from "../../protocol/generated/errors.ts";
import { controllerOf, liveBrokers } from "../context.ts";
import {
  AclOperation,
  allowedOperations,
  AUTHORIZED_OPERATIONS_OMITTED,
  CLUSTER_NAME,
  ResourceType,
} from "../acl/model.ts";
import { defineHandler } from "../registry.ts";

const ENDPOINT_TYPE_BROKER = 1;
/** Kafka's EndpointType values other than UNKNOWN (0). */
const ENDPOINT_TYPE_NAMES: Record<number, string> = { 1: "BROKER", 2: "CONTROLLER" };

export default defineHandler(DESCRIBE_CLUSTER_API, {
  minVersion: 0,
  maxVersion: 2,
  handle(request, ctx) {
    const { broker } = ctx;
    if (!ctx.allowed(AclOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME)) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        errorMessage: `${ctx.conn.principal} needs DESCRIBE on the cluster`,
        endpointType: request.endpointType,
        clusterId: broker.clusterId,
        controllerId: -1,
        brokers: [],
      };
    }
    if (request.endpointType !== ENDPOINT_TYPE_BROKER) {
      // v0 has no endpoint type (it reads as BROKER), so only v1+ gets here.
      const known = ENDPOINT_TYPE_NAMES[request.endpointType];
      return known === undefined
        ? {
          errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
          errorMessage: `Unsupported endpoint type ${request.endpointType}`,
        }
        : {
          errorCode: ErrorCode.MISMATCHED_ENDPOINT_TYPE,
          errorMessage:
            `The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type ${known}`,
        };
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      endpointType: ENDPOINT_TYPE_BROKER,
      clusterId: broker.clusterId,
      controllerId: controllerOf(broker),
      brokers: liveBrokers(broker, ctx.conn).map((b) => ({
        brokerId: b.nodeId,
        host: b.host,
        port: b.port,
        rack: b.rack,
        isFenced: false,
      })),
      clusterAuthorizedOperations: request.includeClusterAuthorizedOperations
        ? allowedOperations(ctx.allowed, ResourceType.CLUSTER, CLUSTER_NAME)
        : AUTHORIZED_OPERATIONS_OMITTED,
    };
  },
});
