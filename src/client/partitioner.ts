/**
 * Kafka's default partitioning: murmur2 of the key, exactly as the Java client's
 * `Utils.murmur2`, so a key lands on the same partition whichever client wrote it; records
 * without a key stick to one partition for a batch's worth of bytes, then move on (KIP-794).
 *
 * @module
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/**
 * The 32-bit murmur2 hash of Kafka's Java client (`org.apache.kafka.common.utils.Utils.murmur2`).
 * @param data the key bytes
 * @returns a signed 32-bit integer, equal to what Java returns
 * @example
 * murmur2(new TextEncoder().encode("foobar")); // -790332482
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  // Java's switch on length % 4 falls through from case 3 to case 1.
  const tail = length & ~3;
  const rest = length & 3;
  if (rest === 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's `Utils.toPositive`: clears the sign bit (not `Math.abs`, which fails for MIN_VALUE). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/**
 * The partition Kafka's default partitioner picks for a non-null key.
 * @param key the serialized key
 * @param partitionCount the topic's number of partitions (all of them, available or not)
 */
export function partitionForKey(key: Uint8Array, partitionCount: number): number {
  return toPositive(murmur2(key)) % partitionCount;
}

/**
 * Picks partitions for records without a key: one partition until `batchSizeBytes` have gone
 * to it, then the next, starting from a random one (Kafka's built-in uniform sticky partitioner,
 * without its load-based weighting).
 */
export class StickyPartitioner {
  #current = -1;
  #bytes = 0;
  readonly #batchSizeBytes: number;
  readonly #random: () => number;

  constructor(options: { batchSizeBytes: number; random?: () => number }) {
    this.#batchSizeBytes = options.batchSizeBytes;
    this.#random = options.random ?? Math.random;
  }

  /**
   * @param sizeBytes the record's approximate size
   * @param partitionCount the topic's number of partitions
   * @returns the partition for this record
   */
  next(sizeBytes: number, partitionCount: number): number {
    if (this.#current < 0 || this.#current >= partitionCount) {
      this.#current = Math.floor(this.#random() * partitionCount);
      this.#bytes = 0;
    } else if (this.#bytes >= this.#batchSizeBytes) {
      this.#current = (this.#current + 1) % partitionCount;
      this.#bytes = 0;
    }
    this.#bytes += sizeBytes;
    return this.#current;
  }
}
