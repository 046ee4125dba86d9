/**
 * ListTransactions filters (KIP-664, KIP-994, KIP-1152), as Kafka's
 * `TransactionStateManager.listTransactionStates` applies them. Pure, so the rules are unit tested
 * without a broker.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import { fail, ok, type Result } from "../../storage/result.ts";
import type { TxnMetadata, TxnState } from "./transaction.ts";

/** Kafka's TransactionState names, as ListTransactions state filters spell them. */
export const TXN_STATES: readonly TxnState[] = [
  "Empty",
  "Ongoing",
  "PrepareCommit",
  "PrepareAbort",
  "CompleteCommit",
  "CompleteAbort",
  "PrepareEpochFence",
  "Dead",
];

/** A ListTransactions request's filters, as they come off the wire. */
export interface ListFilters {
  stateFilters: readonly string[];
  producerIdFilters: readonly bigint[];
  /** v1+: only transactions running longer than this (ms); < 0 (and before v1): no filter. */
  durationFilterMs: bigint;
  /** v2+: a regular expression the whole transactional id must match; null or "": no filter. */
  transactionalIdPattern: string | null;
}

/** A compiled filter: the state names the coordinator does not know, and the test per transaction. */
export interface CompiledFilters {
  unknownStateFilters: string[];
  matches(meta: TxnMetadata, nowMs: number): boolean;
}

/**
 * Compiles ListTransactions filters. State names are matched exactly (Kafka's `fromName`); an
 * unknown one is reported and matches nothing, so a request naming only unknown states lists
 * nothing. The duration compares `now - start` with the filter (Kafka keeps a start of -1 for an
 * id that never started a transaction, so such ids pass any duration). The pattern must match the
 * whole id (Java's `Matcher.matches`); one that does not compile is INVALID_REGULAR_EXPRESSION.
 * Dead ids are never listed.
 * @param f the request's filters
 * @returns the compiled filters, or INVALID_REGULAR_EXPRESSION
 */
export function compileListFilters(f: ListFilters): Result<CompiledFilters> {
  const known = new Set<string>();
  const unknownStateFilters: string[] = [];
  for (const s of f.stateFilters) {
    if ((TXN_STATES as readonly string[]).includes(s)) known.add(s);
    else if (!unknownStateFilters.includes(s)) unknownStateFilters.push(s);
  }
  let pattern: RegExp | null = null;
  if (f.transactionalIdPattern !== null && f.transactionalIdPattern !== "") {
    try {
      pattern = new RegExp(`^(?:${f.transactionalIdPattern})$`, "u");
    } catch (err) {
      return fail(
        ErrorCode.INVALID_REGULAR_EXPRESSION,
        `Cannot list transactions: bad transactional id pattern "${f.transactionalIdPattern}": ${
          (err as Error).message
        }`,
      );
    }
  }
  const producerIds = new Set(f.producerIdFilters);
  const stateFiltered = f.stateFilters.length > 0;
  return ok({
    unknownStateFilters,
    matches(meta, nowMs) {
      if (meta.state === "Dead") return false;
      if (producerIds.size > 0 && !producerIds.has(meta.producerId)) return false;
      if (stateFiltered && !known.has(meta.state)) return false;
      if (f.durationFilterMs >= 0n && BigInt(Math.floor(nowMs - meta.startMs)) <= f.durationFilterMs) return false;
      return pattern === null || pattern.test(meta.transactionalId);
    },
  });
}
