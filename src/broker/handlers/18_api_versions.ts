/**
 * ApiVersions (key 18), v0–v4.
 *
 * Lists the version window of every registered handler, so the answer always matches what
 * the dispatcher accepts. From v3 the client sends its software name and version, which Kafka
 * validates against a pattern (INVALID_REQUEST otherwise). An unknown ApiVersions version is
 * answered by the dispatcher at v0 with UNSUPPORTED_VERSION.
 *
 * From v3 the answer carries the supported and finalized feature levels (KIP-584,
 * `txn/features.ts`): `transaction.version` 2, as Kafka 4.x. A broker emulating a release before
 * 4.0 (`kbin.emulate.kafka.version`) lists none.
 *
 * @module
 */

import { API_VERSIONS_API } from "../../protocol/generated/18_api_versions.ts";
import { ErrorCode } from "../../protocol/generated/errors.ts";
import { defineHandler } from "../registry.ts";
import { FEATURES, FEATURES_EPOCH } from "../txn/features.ts";

const SOFTWARE_PATTERN = /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/;

export default defineHandler(API_VERSIONS_API, {
  minVersion: 0,
  maxVersion: 4,
  handle(request, ctx) {
    const apiKeys = ctx.broker.handlers.versions();
    if (
      ctx.version >= 3 &&
      (!SOFTWARE_PATTERN.test(request.clientSoftwareName) || !SOFTWARE_PATTERN.test(request.clientSoftwareVersion))
    ) {
      return { errorCode: ErrorCode.INVALID_REQUEST, apiKeys };
    }
    // KIP-511: remembered so that the versions served can be told apart by client software.
    if (ctx.version >= 3 && ctx.conn.served) {
      ctx.conn.served.software = `${request.clientSoftwareName}/${request.clientSoftwareVersion}`;
    }
    const emulated = ctx.broker.handlers.emulatedRelease;
    const features = emulated !== null && Number(emulated.split(".")[0]) < 4 ? [] : FEATURES;
    return {
      errorCode: ErrorCode.NONE,
      apiKeys,
      throttleTimeMs: 0,
      supportedFeatures: features.map(({ name, minVersion, maxVersion }) => ({ name, minVersion, maxVersion })),
      finalizedFeaturesEpoch: features.length > 0 ? FEATURES_EPOCH : -1n,
      finalizedFeatures: features.map(({ name, level }) => ({ name, maxVersionLevel: level, minVersionLevel: level })),
    };
  },
});
