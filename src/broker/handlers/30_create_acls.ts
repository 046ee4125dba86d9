/**
 * CreateAcls (key 30), v0–v3 (v0, removed by Kafka 4.0, served as Kafka 3.9 did: LITERAL patterns
 * only, its creations carry no pattern type). One result per creation, in order, as Kafka's
 * `AclApis` and controller (`AclControlManager.validateNewAcl`) give them: INVALID_REQUEST for an
 * UNKNOWN or ANY resource type, operation or permission, a pattern type other than LITERAL or
 * PREFIXED, an empty resource name, a principal without "Type:", a CLUSTER resource not named
 * "kafka-cluster"; a binding that exists already succeeds and changes nothing. Every creation
 * fails with CLUSTER_AUTHORIZATION_FAILED when the caller lacks ALTER on the cluster, and with
 * SECURITY_DISABLED when no authorizer is configured. A storage failure answers
 * UNKNOWN_SERVER_ERROR for the valid creations and is logged.
 *
 * @module
 */

import { CREATE_ACLS_API } from "../../protocol/generated/30_create_acls.ts";
import { ErrorCode } from "../../protocol/generated/errors.ts";
import { defineHandler } from "../registry.ts";
import { type AclBinding, bindingError, describeBinding } from "../acl/model.ts";
import { aclChangeGate } from "../acl/requests.ts";

export default defineHandler(CREATE_ACLS_API, {
  minVersion: 0,
  maxVersion: 3,
  async handle(request, ctx) {
    const { acls, logger } = ctx.broker;
    const all = (errorCode: number, errorMessage: string) => ({
      throttleTimeMs: 0,
      results: request.creations.map(() => ({ errorCode, errorMessage })),
    });
    const gate = await aclChangeGate(ctx, "CreateAcls");
    if (gate !== null) return all(gate.code, gate.message);
    const bindings: AclBinding[] = request.creations.map((c) => ({
      resourceType: c.resourceType,
      resourceName: c.resourceName,
      patternType: c.resourcePatternType,
      principal: c.principal,
      host: c.host,
      operation: c.operation,
      permissionType: c.permissionType,
    }));
    const errors = bindings.map(bindingError);
    const valid = bindings.filter((_, i) => errors[i] === null);
    let failure: string | null = null;
    try {
      await acls.create(valid);
    } catch (err) {
      failure = `Cannot store ACLs: ${(err as Error).message}`;
      logger.error("Cannot create ACLs", { principal: ctx.conn.principal, error: String(err) });
    }
    if (failure === null) {
      for (const b of valid) logger.info("Created ACL", { acl: describeBinding(b), by: ctx.conn.principal });
    }
    return {
      throttleTimeMs: 0,
      results: errors.map((e) =>
        e !== null
          ? { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: e }
          : failure !== null
          ? { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: failure }
          : { errorCode: ErrorCode.NONE, errorMessage: null }
      ),
    };
  },
});
