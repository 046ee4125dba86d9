/**
 * The result type storage and coordinators return for Kafka outcomes. A Kafka error code is a
 * value (`{ ok: false, code }`), never an exception; exceptions are for bugs and I/O failures.
 *
 * @module
 */

/** A failed outcome carrying a Kafka error code. */
export interface Failure {
  readonly ok: false;
  /** Kafka error code, e.g. 3 for UNKNOWN_TOPIC_OR_PARTITION. */
  readonly code: number;
  readonly message?: string;
}

/** A successful outcome. */
export interface Success<T> {
  readonly ok: true;
  readonly value: T;
}

/**
 * Either a value or a Kafka error code.
 * @example
 * const r: Result<number> = ok(1);
 * if (!r.ok) return { errorCode: r.code, errorMessage: r.message ?? null };
 */
export type Result<T> = Success<T> | Failure;

/**
 * Wraps a value as a successful result.
 * @param value the value
 * @returns `{ ok: true, value }`
 */
export function ok<T>(value: T): Success<T> {
  return { ok: true, value };
}

/**
 * Builds a failed result.
 * @param code Kafka error code
 * @param message optional human-readable detail for `errorMessage`
 * @returns `{ ok: false, code, message? }`
 */
export function fail(code: number, message?: string): Failure {
  return message === undefined ? { ok: false, code } : { ok: false, code, message };
}
