/**
 * DescribeUserScramCredentials (key 50), v0: each named user's SCRAM mechanisms and iterations
 * (never salts or keys), or every user with credentials when none are named. Per user, as Kafka:
 * RESOURCE_NOT_FOUND for a user without credentials, DUPLICATE_RESOURCE for a name asked twice.
 *
 * @module
 */

import { DESCRIBE_USER_SCRAM_CREDENTIALS_API } from "../../protocol/generated/50_describe_user_scram_credentials.ts";
import { ErrorCode } from "../../protocol/generated/errors.ts";
import { AclOperation, CLUSTER_NAME, ResourceType } from "../acl/model.ts";
import { defineHandler } from "../registry.ts";
import { SCRAM_MECHANISMS } from "../sasl/scram.ts";

export default defineHandler(DESCRIBE_USER_SCRAM_CREDENTIALS_API, {
  minVersion: 0,
  maxVersion: 0,
  async handle(request, ctx) {
    const users = ctx.broker.users;
    if (!ctx.allowed(AclOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME)) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        errorMessage: `${ctx.conn.principal} needs DESCRIBE on the cluster`,
        results: [],
      };
    }
    const all = await users.list();
    const info = (mechanisms: (typeof all)[number]["mechanisms"]) =>
      mechanisms.map((m) => ({ mechanism: SCRAM_MECHANISMS[m.mechanism].id, iterations: m.iterations }));
    if (request.users === null || request.users.length === 0) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        results: all.map((u) => ({
          user: u.user,
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          credentialInfos: info(u.mechanisms),
        })),
      };
    }
    const names = request.users.map((u) => u.name);
    const results = names.map((user) => {
      if (names.filter((n) => n === user).length > 1) {
        return {
          user,
          errorCode: ErrorCode.DUPLICATE_RESOURCE,
          errorMessage: `Cannot describe SCRAM credentials for the same user twice in a single request: ${user}`,
          credentialInfos: [],
        };
      }
      const found = all.find((u) => u.user === user);
      if (!found) {
        return {
          user,
          errorCode: ErrorCode.RESOURCE_NOT_FOUND,
          errorMessage: `Attempt to describe a user credential that does not exist: ${user}`,
          credentialInfos: [],
        };
      }
      return { user, errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos: info(found.mechanisms) };
    });
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results };
  },
});
