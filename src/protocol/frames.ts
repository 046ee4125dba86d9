/**
 * Splits a byte stream into size-prefixed Kafka frames without copying when a frame lies in
 * one received chunk. The size is checked against the limit before anything is allocated.
 * A frame that spans chunks is copied into one buffer, which the caller may supply (a pool of
 * reused buffers: fresh allocations of large buffers cost page faults and zeroing).
 *
 * @module
 */

/** Outcome of feeding bytes: zero or more frames, or a fatal framing error. */
export type FrameEvent = { frame: Uint8Array } | { error: string };

/**
 * Supplies the buffer a frame spanning several chunks is assembled into.
 * @param size the frame's size (without the size prefix), at least 2
 * @param apiKey the frame's first two bytes as an int16 (a request's API key)
 * @returns a buffer of exactly `size` bytes, or `undefined` for a new one
 */
export type FrameAllocator = (size: number, apiKey: number) => Uint8Array | undefined;

/** Options for {@link FrameSplitter}. */
export interface FrameSplitterOptions {
  /** Where frames spanning chunks are assembled (default: a new buffer each). */
  allocate?: FrameAllocator;
}

/** Incremental frame splitter. */
export class FrameSplitter {
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #need = -1;
  readonly #maxBytes: number;
  readonly #allocate: FrameAllocator | undefined;

  constructor(maxBytes: number, options: FrameSplitterOptions = {}) {
    this.#maxBytes = maxBytes;
    this.#allocate = options.allocate;
  }

  /** Bytes received but not yet returned as a frame. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Adds received bytes and returns every frame completed by them. */
  push(chunk: Uint8Array): FrameEvent[] {
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    const out: FrameEvent[] = [];
    for (;;) {
      if (this.#need < 0) {
        if (this.#buffered < 4) break;
        const head = this.#take(4);
        const size = ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) | 0;
        if (size < 0 || size > this.#maxBytes) {
          out.push({
            error: `frame size ${size} is outside 0..${this.#maxBytes} (socket.request.max.bytes)`,
          });
          return out;
        }
        this.#need = size;
      }
      if (this.#buffered < this.#need) break;
      out.push({ frame: this.#take(this.#need, this.#allocate) });
      this.#need = -1;
    }
    return out;
  }

  #take(n: number, allocate?: FrameAllocator): Uint8Array {
    if (n === 0) return new Uint8Array(0);
    const first = this.#chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      this.#buffered -= n;
      return out;
    }
    let out: Uint8Array | undefined;
    if (allocate && n >= 2) {
      const hi = first[0]!;
      const lo = first.length >= 2 ? first[1]! : this.#chunks[1]![0]!;
      out = allocate(n, ((hi << 24) | (lo << 16)) >> 16);
      if (out !== undefined && out.length !== n) {
        throw new RangeError(`Frame allocator returned ${out.length} bytes for a ${n}-byte frame`);
      }
    }
    out ??= new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const c = this.#chunks[0]!;
      const k = Math.min(c.length, n - at);
      out.set(c.subarray(0, k), at);
      at += k;
      if (k === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(k);
    }
    this.#buffered -= n;
    return out;
  }
}
