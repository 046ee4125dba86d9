/**
 * AlterUserScramCredentials (key 51), v0: deletes and upserts users' SCRAM credentials. The
 * client sends the salt and the salted password (never the password); the broker keeps the salt,
 * the iterations, StoredKey and ServerKey. One result per user: all of a user's changes apply or
 * none, with Kafka's errors: UNSUPPORTED_SASL_MECHANISM for an unknown mechanism,
 * UNACCEPTABLE_CREDENTIAL for an empty name, iterations outside 4096–16384 or an empty salt or
 * salted password, DUPLICATE_RESOURCE for a user and mechanism named twice, RESOURCE_NOT_FOUND
 * when deleting a credential that does not exist.
 *
 * @module
 */

import { ALTER_USER_SCRAM_CREDENTIALS_API } from "../../protocol/generated/51_alter_user_scram_credentials.ts";
import { ErrorCode } from "../../protocol/generated/errors.ts";
import { AclOperation, CLUSTER_NAME, ResourceType } from "../acl/model.ts";
import { defineHandler } from "../registry.ts";
import {
  credentialOf,
  MAX_ITERATIONS,
  MIN_ITERATIONS,
  type ScramCredential,
  type ScramMechanism,
  scramMechanismById,
} from "../sasl/scram.ts";

type Failure = { errorCode: number; errorMessage: string };

export default defineHandler(ALTER_USER_SCRAM_CREDENTIALS_API, {
  minVersion: 0,
  maxVersion: 0,
  async handle(request, ctx) {
    const { broker } = ctx;
    if (!ctx.allowed(AclOperation.ALTER, ResourceType.CLUSTER, CLUSTER_NAME)) {
      const names = [...new Set([...request.deletions, ...request.upsertions].map((x) => x.name))];
      return {
        throttleTimeMs: 0,
        results: names.map((user) => ({
          user,
          errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
          errorMessage: `${ctx.conn.principal} needs ALTER on the cluster`,
        })),
      };
    }
    const byUser = new Map<
      string,
      { deletions: ScramMechanism[]; upsertions: [ScramMechanism, ScramCredential][]; failure: Failure | null }
    >();
    const entry = (user: string) => {
      let e = byUser.get(user);
      if (!e) byUser.set(user, e = { deletions: [], upsertions: [], failure: null });
      return e;
    };
    const seen = new Set<string>();
    const check = (user: string, mechanismId: number): ScramMechanism | Failure => {
      if (user === "") {
        return { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: "Username must not be empty" };
      }
      const mechanism = scramMechanismById(mechanismId);
      if (mechanism === null) {
        return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, errorMessage: "Unknown SCRAM mechanism" };
      }
      const key = `${user}\0${mechanism}`;
      if (seen.has(key)) {
        return {
          errorCode: ErrorCode.DUPLICATE_RESOURCE,
          errorMessage: "A user credential cannot be altered twice in the same request",
        };
      }
      seen.add(key);
      return mechanism;
    };
    for (const d of request.deletions) {
      const e = entry(d.name);
      const m = check(d.name, d.mechanism);
      if (typeof m !== "string") e.failure ??= m;
      else e.deletions.push(m);
    }
    for (const u of request.upsertions) {
      const e = entry(u.name);
      const m = check(u.name, u.mechanism);
      if (typeof m !== "string") {
        e.failure ??= m;
        continue;
      }
      if (u.iterations < MIN_ITERATIONS || u.iterations > MAX_ITERATIONS) {
        e.failure ??= {
          errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL,
          errorMessage: u.iterations < MIN_ITERATIONS ? "Too few iterations" : "Too many iterations",
        };
        continue;
      }
      if (u.salt.length === 0 || u.saltedPassword.length === 0) {
        e.failure ??= {
          errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL,
          errorMessage: "Salt and salted password must not be empty",
        };
        continue;
      }
      e.upsertions.push([m, await credentialOf(m, u.salt.slice(), u.saltedPassword, u.iterations)]);
    }
    const results = [];
    for (const [user, e] of byUser) {
      if (e.failure) {
        results.push({ user, ...e.failure });
        continue;
      }
      const ok = await broker.users.alter(user, e.deletions, e.upsertions);
      if (!ok) {
        results.push({
          user,
          errorCode: ErrorCode.RESOURCE_NOT_FOUND,
          errorMessage: "Attempt to delete a user credential that does not exist",
        });
        continue;
      }
      broker.logger.info("Altered SCRAM credentials", {
        user,
        upserted: e.upsertions.map(([m]) => m).join(","),
        deleted: e.deletions.join(","),
      });
      results.push({ user, errorCode: ErrorCode.NONE, errorMessage: null });
    }
    return { throttleTimeMs: 0, results };
  },
});
