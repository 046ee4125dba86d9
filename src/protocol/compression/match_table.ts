/**
 * The hash table of positions that the lz4 and snappy match finders share a design for.
 * Entries hold `base + position`, and every compression call reserves a fresh base above all
 * earlier entries, so entries left by earlier calls read as "before the block" and the table
 * never needs clearing between calls (only when the bases would overflow int32).
 *
 * @module
 */

/** A reusable match-finder table of `2^hashLog` slots. */
export class MatchTable {
  /** The slots, read and written directly by the compressor's inner loop. */
  readonly slots: Int32Array;
  #nextBase = 1;

  constructor(hashLog: number) {
    this.slots = new Int32Array(1 << hashLog);
  }

  /** Reserves bases for a block of `length` bytes; returns the block's base. */
  reserve(length: number): number {
    if (this.#nextBase + length + 1 > 0x7fff0000) {
      this.slots.fill(0);
      this.#nextBase = 1;
    }
    const base = this.#nextBase;
    this.#nextBase += length + 1;
    return base;
  }
}
