/**
 * ListTransactions (key 66), v0–v2 (KIP-664; v1 duration filter, KIP-994; v2 transactional id
 * pattern, KIP-1152).
 *
 * Lists the transactional ids of the coordinator shards this broker leads (a client asks every
 * broker, as `kafka-transactions.sh list` does), with producer id and state, filtered as Kafka's
 * `listTransactionStates` does (`txn/listing.ts`): state names exactly as Kafka spells them (an
 * unknown name is echoed in `unknown_state_filters` and matches nothing), producer ids, v1+
 * transactions running longer than `duration_filter` ms, v2+ ids wholly matching a regular
 * expression (JavaScript syntax; Kafka uses RE2/J, which agrees on common patterns). A pattern
 * that does not compile answers INVALID_REGULAR_EXPRESSION. Dead ids are never listed. Left out:
 * ACLs (Kafka lists only the ids the caller may DESCRIBE).
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import { LIST_TRANSACTIONS_API } from "../../protocol/generated/66_list_transactions.ts";
import { compileListFilters } from "../txn/listing.ts";
import { AclOperation, ResourceType } from "../acl/model.ts";
import { defineHandler } from "../registry.ts";

export default defineHandler(LIST_TRANSACTIONS_API, {
  minVersion: 0,
  maxVersion: 2,
  async handle(request, ctx) {
    const { broker, version } = ctx;
    const filters = compileListFilters({
      stateFilters: request.stateFilters,
      producerIdFilters: request.producerIdFilters,
      durationFilterMs: version >= 1 ? request.durationFilter : -1n,
      transactionalIdPattern: version >= 2 ? request.transactionalIdPattern : null,
    });
    if (!filters.ok) {
      return { throttleTimeMs: 0, errorCode: filters.code, unknownStateFilters: [], transactionStates: [] };
    }
    const now = broker.clock.now();
    const transactionStates = (await broker.transactions.listCoordinated())
      .filter((meta) => filters.value.matches(meta, now))
      // ACLs: only the ids the principal may describe.
      .filter((meta) => ctx.allowed(AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, meta.transactionalId))
      .map((meta) => ({
        transactionalId: meta.transactionalId,
        producerId: meta.producerId,
        transactionState: meta.state,
      }));
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      unknownStateFilters: filters.value.unknownStateFilters,
      transactionStates,
    };
  },
});
