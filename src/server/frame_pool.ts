/**
 * Reused buffers for large request frames that arrive over several socket reads (a 1 MB
 * produce request spans two or three of Bun's 512 KiB reads). Such a frame must be copied into
 * one buffer, and a fresh large buffer costs more than the copy: the allocator hands back pages
 * it returned to the OS, so each one is zeroed and faulted in again. Under 1 KiB-record produce
 * load that was about a third of the broker's main thread. Pooled buffers stay resident.
 *
 * Blocks come in power-of-two sizes from {@link MIN_POOLED_BYTES} to {@link MAX_POOLED_BYTES};
 * at most `maxIdleBytes` of them wait in the pool, the rest are left to the garbage collector.
 * A buffer goes back with {@link FramePool.give} once nothing refers to it any more.
 *
 * @module
 */

/** Frames smaller than this are assembled into plain buffers. */
export const MIN_POOLED_BYTES = 64 * 1024;
/** Frames larger than this are assembled into plain buffers. */
export const MAX_POOLED_BYTES = 16 * 1024 * 1024;

/** Options for {@link FramePool}. */
export interface FramePoolOptions {
  /** Bytes of free blocks kept for reuse (default 32 MiB). */
  maxIdleBytes?: number;
}

/** A pool of frame buffers, shared by the connections of one server. */
export class FramePool {
  readonly #free = new Map<number, ArrayBuffer[]>();
  readonly #lent = new WeakSet<ArrayBuffer>();
  readonly #maxIdleBytes: number;
  #idleBytes = 0;

  constructor(options: FramePoolOptions = {}) {
    this.#maxIdleBytes = options.maxIdleBytes ?? 32 * 1024 * 1024;
  }

  /** Bytes of free blocks held for reuse. */
  get idleBytes(): number {
    return this.#idleBytes;
  }

  /**
   * Lends a buffer of exactly `size` bytes (its contents are whatever the last borrower left).
   * @returns the buffer, or `undefined` when `size` is outside the pooled range
   */
  take(size: number): Uint8Array | undefined {
    if (size < MIN_POOLED_BYTES || size > MAX_POOLED_BYTES) return undefined;
    const blockBytes = 2 ** Math.ceil(Math.log2(size));
    const block = this.#free.get(blockBytes)?.pop();
    if (block !== undefined) this.#idleBytes -= blockBytes;
    const buffer = block ?? new ArrayBuffer(blockBytes);
    this.#lent.add(buffer);
    return new Uint8Array(buffer, 0, size);
  }

  /**
   * Returns a buffer from {@link take}; other buffers are ignored, and so is a second return.
   * The caller guarantees nothing reads or writes it afterwards.
   */
  give(frame: Uint8Array): void {
    const buffer = frame.buffer as ArrayBuffer;
    if (!this.#lent.has(buffer)) return;
    this.#lent.delete(buffer);
    const blockBytes = buffer.byteLength;
    if (this.#idleBytes + blockBytes > this.#maxIdleBytes) return;
    const list = this.#free.get(blockBytes);
    if (list) list.push(buffer);
    else this.#free.set(blockBytes, [buffer]);
    this.#idleBytes += blockBytes;
  }
}
