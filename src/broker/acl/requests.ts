/**
 * What the ACL APIs share: the session a connection authorizes as, and Kafka's check that the
 * caller may manage ACLs (`AuthHelper.authorizeClusterOperation`: ALTER on the cluster to create
 * or delete, DESCRIBE to list).
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import type { ConnState } from "../conn_state.ts";
import { type BrokerContext, notCoordinatorError } from "../context.ts";
import type { RequestContext } from "../registry.ts";
import type { Authorizer, Session } from "./authorizer.ts";
import { AclOperation, CLUSTER_NAME, hostOfRemote, operationName, ResourceType } from "./model.ts";

/**
 * The principal and host a connection is authorized as.
 * @param conn the connection
 * @returns its session
 */
export function sessionOf(conn: ConnState): Session {
  return { principal: conn.principal, host: hostOfRemote(conn.remote) };
}

/**
 * Why a connection may not perform an operation on the cluster, or null when it may (always,
 * without an authorizer).
 * @param authorizer the authorizer
 * @param options the connection, the operation and the API's name (for the message)
 * @returns Kafka's CLUSTER_AUTHORIZATION_FAILED message, or null
 */
export function clusterDenied(
  authorizer: Authorizer,
  options: { conn: ConnState; operation: number; api: string },
): string | null {
  const allowed = authorizer.authorize(sessionOf(options.conn), {
    operation: options.operation,
    resourceType: ResourceType.CLUSTER,
    resourceName: CLUSTER_NAME,
  });
  if (allowed) return null;
  return `Request ${options.api} is not authorized: ${options.conn.principal} needs ${
    operationName(options.operation)
  } on the cluster`;
}

/** Kafka's answer to the ACL APIs on a broker without an authorizer (SECURITY_DISABLED). */
export const NO_AUTHORIZER = "No Authorizer is configured.";

/**
 * A group request's gate, in Kafka's order: the ACL on the group first
 * (GROUP_AUTHORIZATION_FAILED), then whether this broker coordinates it (NOT_COORDINATOR).
 * @returns an error code, NONE when the request may go on
 */
export function groupGate(
  ctx: { broker: BrokerContext; allowed: RequestContext["allowed"] },
  operation: number,
  groupId: string,
): number {
  if (!ctx.allowed(operation, ResourceType.GROUP, groupId)) return ErrorCode.GROUP_AUTHORIZATION_FAILED;
  return notCoordinatorError(ctx.broker, groupId);
}

/**
 * The ACL check of a config resource (DescribeConfigs, AlterConfigs, IncrementalAlterConfigs):
 * a topic's on the topic, a broker's or broker logger's on the cluster, a group's on the group.
 * @returns Kafka's error and message, or null when allowed
 */
export function configDenied(
  ctx: { allowed: RequestContext["allowed"]; conn: ConnState },
  operation: number,
  resourceType: number,
  resourceName: string,
): { code: number; message: string } | null {
  const [type, name, code] = resourceType === 2
    ? [ResourceType.TOPIC, resourceName, ErrorCode.TOPIC_AUTHORIZATION_FAILED]
    : resourceType === 32
    ? [ResourceType.GROUP, resourceName, ErrorCode.GROUP_AUTHORIZATION_FAILED]
    : [ResourceType.CLUSTER, CLUSTER_NAME, ErrorCode.CLUSTER_AUTHORIZATION_FAILED];
  if (ctx.allowed(operation, type, name)) return null;
  return {
    code,
    message: `${ctx.conn.principal} needs ${operationName(operation)} on ${resourceName || "the cluster"}`,
  };
}

/**
 * The gate of CreateAcls and DeleteAcls: ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED),
 * then an authorizer at all (SECURITY_DISABLED), in Kafka's order.
 * @returns the error and message for every item, or null when the request may go on
 */
export async function aclChangeGate(
  ctx: { broker: BrokerContext; conn: ConnState },
  api: string,
): Promise<{ code: number; message: string } | null> {
  const authorizer = await ctx.broker.acls.authorizer();
  const denied = clusterDenied(authorizer, { conn: ctx.conn, operation: AclOperation.ALTER, api });
  if (denied !== null) return { code: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, message: denied };
  if (!authorizer.enabled) return { code: ErrorCode.SECURITY_DISABLED, message: NO_AUTHORIZER };
  return null;
}
