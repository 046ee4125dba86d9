/**
 * DescribeAcls (key 29), v0–v3: the ACL bindings a filter matches, grouped by resource pattern
 * (v0, removed by Kafka 4.0, served as Kafka 3.9 did: its filter has no pattern type, so LITERAL).
 * As Kafka's `AclApis`: the caller needs DESCRIBE on the cluster when an authorizer is configured
 * (CLUSTER_AUTHORIZATION_FAILED otherwise); without one the answer is SECURITY_DISABLED. The filter
 * follows Kafka's `AclBindingFilter` (ANY, MATCH, null names; see `filterMatches`).
 *
 * Deliberately different: a filter with an UNKNOWN value (0, or a code Kafka does not define) is
 * answered INVALID_REQUEST with a message; Kafka fails to parse the request and closes the
 * connection, which clients retry until they time out.
 *
 * @module
 */

import { DESCRIBE_ACLS_API, type DescribeAclsResource } from "../../protocol/generated/29_describe_acls.ts";
import { ErrorCode } from "../../protocol/generated/errors.ts";
import { defineHandler } from "../registry.ts";
import { type AclFilter, AclOperation, compareBindings, filterError, filterMatches } from "../acl/model.ts";
import { clusterDenied } from "../acl/requests.ts";

export default defineHandler(DESCRIBE_ACLS_API, {
  minVersion: 0,
  maxVersion: 3,
  async handle(request, ctx) {
    const fail = (errorCode: number, errorMessage: string) => ({
      throttleTimeMs: 0,
      errorCode,
      errorMessage,
      resources: [],
    });
    const acls = ctx.broker.acls;
    const authorizer = await acls.authorizer();
    const denied = clusterDenied(authorizer, { conn: ctx.conn, operation: AclOperation.DESCRIBE, api: "DescribeAcls" });
    if (denied !== null) return fail(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, denied);
    if (!authorizer.enabled) return fail(ErrorCode.SECURITY_DISABLED, "No Authorizer is configured on the broker");
    const filter: AclFilter = {
      resourceType: request.resourceTypeFilter,
      resourceName: request.resourceNameFilter,
      patternType: request.patternTypeFilter,
      principal: request.principalFilter,
      host: request.hostFilter,
      operation: request.operation,
      permissionType: request.permissionType,
    };
    const invalid = filterError(filter);
    if (invalid !== null) return fail(ErrorCode.INVALID_REQUEST, invalid);
    const matched = (await acls.store.list()).filter((b) => filterMatches(filter, b)).sort(compareBindings);
    const resources: DescribeAclsResource[] = [];
    for (const b of matched) {
      let r = resources.at(-1);
      if (
        !r || r.resourceType !== b.resourceType || r.resourceName !== b.resourceName || r.patternType !== b.patternType
      ) {
        resources.push(
          r = { resourceType: b.resourceType, resourceName: b.resourceName, patternType: b.patternType, acls: [] },
        );
      }
      r.acls.push({ principal: b.principal, host: b.host, operation: b.operation, permissionType: b.permissionType });
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, resources };
  },
});
