/**
 * What the ACL APIs share: the session a connection authorizes as, and Kafka's check that the
 * caller may manage ACLs (`AuthHelper.authorizeClusterOperation`: ALTER on the cluster to create
 * or delete, DESCRIBE to list).
 *
 * @module
 */

import type { ConnState } from "../conn_state.ts";
import type { Authorizer, Session } from "./authorizer.ts";
import { CLUSTER_NAME, hostOfRemote, operationName, ResourceType } from "./model.ts";

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
