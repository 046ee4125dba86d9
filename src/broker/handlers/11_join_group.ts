/**
 * JoinGroup (key 11), v0–v9: the classic group protocol's join phase.
 *
 * v4+ clients joining without a member id first get MEMBER_ID_REQUIRED with their new id
 * (KIP-394); v5+ carry `group.instance.id` for static membership (KIP-345), where a restarted
 * instance takes over its old member without a rebalance when its protocols are unchanged;
 * v7+ echo the protocol type; v9 lets a static leader skip re-assigning (KIP-814). The answer
 * waits for the rebalance: until every member has rejoined or the rebalance timeout passes,
 * and for an empty group at least `group.initial.rebalance.delay.ms`.
 * Session timeouts outside `group.min/max.session.timeout.ms` get INVALID_SESSION_TIMEOUT;
 * `group.max.size` is enforced (GROUP_MAX_SIZE_REACHED).
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import { JOIN_GROUP_API } from "../../protocol/generated/11_join_group.ts";
import { AclOperation } from "../acl/model.ts";
import { groupGate } from "../acl/requests.ts";
import { defineHandler } from "../registry.ts";

export default defineHandler(JOIN_GROUP_API, {
  minVersion: 0,
  maxVersion: 9,
  async handle(request, ctx) {
    const { version } = ctx;
    const notCoordinator = groupGate(ctx, AclOperation.READ, request.groupId);
    if (notCoordinator !== ErrorCode.NONE) {
      return {
        throttleTimeMs: 0,
        errorCode: notCoordinator,
        generationId: -1,
        protocolType: null,
        protocolName: version >= 7 ? null : "",
        leader: "",
        skipAssignment: false,
        memberId: request.memberId,
        members: [],
      };
    }
    const result = await ctx.broker.groups.join(request.groupId, {
      memberId: request.memberId,
      groupInstanceId: request.groupInstanceId,
      clientId: ctx.header.clientId ?? "",
      clientHost: `/${ctx.conn.remote.replace(/:\d+$/, "")}`,
      sessionTimeoutMs: request.sessionTimeoutMs,
      // v0 has no rebalance timeout; Kafka uses the session timeout for it.
      rebalanceTimeoutMs: version >= 1 ? request.rebalanceTimeoutMs : request.sessionTimeoutMs,
      protocolType: request.protocolType,
      protocols: request.protocols.map((p) => ({ name: p.name, metadata: p.metadata.slice() })),
      requireKnownMemberId: version >= 4,
      supportsSkipAssignment: version >= 9,
    });
    return {
      throttleTimeMs: 0,
      errorCode: result.errorCode,
      generationId: result.generationId,
      protocolType: result.protocolType,
      // Before v7 the protocol name is not nullable.
      protocolName: version >= 7 ? result.protocolName : (result.protocolName ?? ""),
      leader: result.leader,
      skipAssignment: result.skipAssignment,
      memberId: result.memberId,
      members: result.members,
    };
  },
});
