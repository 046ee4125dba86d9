/**
 * DeleteAcls (key 31), v0–v3 (v0, removed by Kafka 4.0, served as Kafka 3.9 did: its filters have
 * no pattern type, so LITERAL). One result per filter, with every binding it matched, now deleted
 * (a binding two filters match is listed under both, as Kafka's controller does); a filter with
 * an UNKNOWN value is INVALID_REQUEST ("Unknown patternFilter." / "Unknown entryFilter.", Kafka's
 * `AclControlManager.validateFilter`). Every filter fails with CLUSTER_AUTHORIZATION_FAILED when
 * the caller lacks ALTER on the cluster, and with SECURITY_DISABLED when no authorizer is
 * configured. A storage failure answers UNKNOWN_SERVER_ERROR for the valid filters and is logged.
 *
 * @module
 */

import { DELETE_ACLS_API, type DeleteAclsFilterResult } from "../../protocol/generated/31_delete_acls.ts";
import { ErrorCode } from "../../protocol/generated/errors.ts";
import type { Input } from "../../protocol/types.ts";
import { defineHandler } from "../registry.ts";
import { type AclBinding, type AclFilter, describeBinding, filterError } from "../acl/model.ts";
import { aclChangeGate } from "../acl/requests.ts";

export default defineHandler(DELETE_ACLS_API, {
  minVersion: 0,
  maxVersion: 3,
  async handle(request, ctx) {
    const { acls, logger } = ctx.broker;
    const all = (errorCode: number, errorMessage: string) => ({
      throttleTimeMs: 0,
      filterResults: request.filters.map(() => ({ errorCode, errorMessage, matchingAcls: [] })),
    });
    const gate = await aclChangeGate(ctx, "DeleteAcls");
    if (gate !== null) return all(gate.code, gate.message);
    const filters: AclFilter[] = request.filters.map((f) => ({
      resourceType: f.resourceTypeFilter,
      resourceName: f.resourceNameFilter,
      patternType: f.patternTypeFilter,
      principal: f.principalFilter,
      host: f.hostFilter,
      operation: f.operation,
      permissionType: f.permissionType,
    }));
    const errors = filters.map(filterError);
    const valid = filters.filter((_, i) => errors[i] === null);
    let deleted: AclBinding[][] = [];
    let failure: string | null = null;
    try {
      deleted = await acls.delete(valid);
    } catch (err) {
      failure = `Cannot delete ACLs: ${(err as Error).message}`;
      logger.error("Cannot delete ACLs", { principal: ctx.conn.principal, error: String(err) });
    }
    if (failure === null) {
      for (const b of new Set(deleted.flat())) {
        logger.info("Deleted ACL", { acl: describeBinding(b), by: ctx.conn.principal });
      }
    }
    let next = 0;
    const filterResults: Input<DeleteAclsFilterResult>[] = errors.map((e) => {
      if (e !== null) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: e, matchingAcls: [] };
      if (failure !== null) {
        return { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: failure, matchingAcls: [] };
      }
      return {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        matchingAcls: (deleted[next++] ?? []).map((b) => ({
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          resourceType: b.resourceType,
          resourceName: b.resourceName,
          patternType: b.patternType,
          principal: b.principal,
          host: b.host,
          operation: b.operation,
          permissionType: b.permissionType,
        })),
      };
    });
    return { throttleTimeMs: 0, filterResults };
  },
});
