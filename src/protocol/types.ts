/**
 * Shared helper types for the generated codecs.
 *
 * @module
 */

/**
 * The shape an encoder accepts: every field optional, recursively. A missing field is written
 * as its spec default, so handlers only set what they mean.
 */
export type Input<T> = T extends Uint8Array | bigint | string | number | boolean | null | undefined ? T
  : T extends readonly (infer E)[] ? Input<E>[]
  : { [K in keyof T]?: Input<T[K]> };
