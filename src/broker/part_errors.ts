/**
 * Errors stay with their part. A failure inside a handler (a segment read that throws, a
 * recompression bug, a metadata store error) is caught per topic-partition, group or resource,
 * logged with its context, and answered for that part only: KAFKA_STORAGE_ERROR when it came from
 * storage I/O, UNKNOWN_SERVER_ERROR otherwise. The rest of the request and the connection carry
 * on, as Kafka's request handlers do.
 *
 * @module
 */

import { ErrorCode } from "../protocol/generated/errors.ts";
import type { Logger } from "../ports.ts";
import { StorageError } from "../storage/engine.ts";
import { CloseConnection } from "./conn_state.ts";

/** An unexpected failure, classified: its Kafka error code and a message safe to send. */
export interface PartFailure {
  code: number;
  message: string;
}

/** Whether `err` came from storage I/O (kbin's StorageError, or an errno-style system error). */
function isStorageFailure(err: unknown): boolean {
  if (err instanceof StorageError) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^E[A-Z0-9]+$/.test(code);
}

/**
 * The Kafka error code for an unexpected exception, logged once with `context`.
 * @param err what was thrown
 * @param options.logger where to log it
 * @param options.context what failed (API, topic, partition, group, resource)
 * @returns KAFKA_STORAGE_ERROR or UNKNOWN_SERVER_ERROR with a short message, or the retriable code
 *   of a storage write fenced because its role moved to another broker
 */
export function partFailure(
  err: unknown,
  options: { logger: Logger; context: Record<string, unknown> },
): PartFailure {
  if (err instanceof CloseConnection) throw err;
  if (err instanceof StorageError && err.errorCode !== ErrorCode.KAFKA_STORAGE_ERROR) {
    // A role that moved to another broker (NOT_LEADER_OR_FOLLOWER, NOT_COORDINATOR): expected, retriable.
    options.logger.info("A request part met a role that moved to another broker", {
      ...options.context,
      error: err.message,
    });
    return { code: err.errorCode, message: err.message };
  }
  const storage = isStorageFailure(err);
  options.logger.error(storage ? "Storage failure while serving a request part" : "Internal error in a request part", {
    ...options.context,
    error: err instanceof Error ? (err.stack ?? err.message) : String(err),
  });
  const detail = err instanceof Error ? err.message : String(err);
  return storage
    ? { code: ErrorCode.KAFKA_STORAGE_ERROR, message: `Storage failure: ${detail}` }
    : { code: ErrorCode.UNKNOWN_SERVER_ERROR, message: "The server experienced an unexpected error" };
}

/**
 * Runs one part of a request; an exception becomes `onError(failure)` for that part alone.
 * @param fn the part's work
 * @param options.logger where failures are logged
 * @param options.context what the part is, for the log line
 * @param options.onError the part's answer for a failure
 * @returns the part's answer
 */
export async function guardPart<T>(
  fn: () => T | Promise<T>,
  options: { logger: Logger; context: Record<string, unknown>; onError: (failure: PartFailure) => T },
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    return options.onError(partFailure(err, options));
  }
}

/**
 * Synchronous {@link guardPart}.
 * @param fn the part's work
 * @param options.logger where failures are logged
 * @param options.context what the part is, for the log line
 * @param options.onError the part's answer for a failure
 * @returns the part's answer
 */
export function guardPartSync<T>(
  fn: () => T,
  options: { logger: Logger; context: Record<string, unknown>; onError: (failure: PartFailure) => T },
): T {
  try {
    return fn();
  } catch (err) {
    return options.onError(partFailure(err, options));
  }
}

/**
 * Maps items one at a time, in order (admin changes apply in the order a request lists them).
 * @param items the items
 * @param fn the async mapping
 * @returns the results, in order
 */
export async function mapInOrder<T, R>(items: readonly T[], fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i++) out.push(await fn(items[i]!, i));
  return out;
}
