/**
 * The tail cache of the `postgres:` engine: the batches a leader committed most recently, kept in
 * memory up to a byte budget shared by every partition of the broker, so that consumers reading
 * at the tail (the common case) are served without a query. The broker's memory is the budget,
 * whatever the size of the log (`kbin.postgres.tail.cache.bytes`, 0 to disable).
 *
 * Batches are copied into one ring buffer of the budget's size, allocated on first use, in the
 * order they are committed; a new batch overwrites the oldest ones (in every partition), so there
 * is no allocation per batch and nothing for the garbage collector to chase. A partition's cached
 * batches are always a contiguous run ending at its high watermark; a read the cache does not
 * cover goes to PostgreSQL. Reads copy out of the ring, since the ring is overwritten later.
 *
 * @module
 */

interface Entry {
  log: TailLog;
  base: number;
  last: number;
  /** Where the batch is in the ring, and its size. */
  at: number;
  size: number;
  gone: boolean;
}

/** The cache of one broker: a ring buffer shared by its partitions. */
export class TailCache {
  readonly budget: number;
  #ring: Uint8Array | null = null;
  /** Where the next batch goes. */
  #write = 0;
  #bytes = 0;
  /** Every entry in ring order from the oldest (gone ones are skipped). */
  #order: Entry[] = [];
  #head = 0;

  /** @param budget bytes kept at most (0: nothing is cached) */
  constructor(budget: number) {
    this.budget = Math.max(0, Math.floor(budget));
  }

  /** Bytes of live batches held now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** A partition's part of the cache. */
  log(): TailLog {
    return new TailLog(this);
  }

  /** @internal Copies a batch in as the newest entry, overwriting the oldest ones; null when it cannot fit. */
  add(log: TailLog, base: number, last: number, bytes: Uint8Array): Entry | null {
    const size = bytes.length;
    if (size === 0 || size > this.budget) return null;
    this.#ring ??= new Uint8Array(this.budget);
    let at = this.#write;
    const wraps = at + size > this.budget;
    // The oldest entries are those right after the write position, in ring order: free the
    // region the batch takes (and, on wrapping, the unused end of the ring).
    while (this.#head < this.#order.length) {
      const e = this.#order[this.#head]!;
      const inTail = wraps && e.at >= at;
      const start = wraps ? 0 : at;
      const overlaps = e.at < start + size && start < e.at + e.size;
      if (!e.gone && !inTail && !overlaps) break;
      this.#head++;
      if (!e.gone) {
        e.gone = true;
        this.#bytes -= e.size;
        e.log.evicted(e);
      }
    }
    if (wraps) at = 0;
    this.#ring.set(bytes, at);
    this.#write = at + size;
    const entry: Entry = { log, base, last, at, size, gone: false };
    this.#order.push(entry);
    this.#bytes += size;
    if (this.#head > 1024 && this.#head * 2 > this.#order.length) {
      this.#order = this.#order.slice(this.#head);
      this.#head = 0;
    }
    return entry;
  }

  /** @internal A log dropped its entries (their space is reused when the ring comes round). */
  dropped(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.gone) continue;
      e.gone = true;
      this.#bytes -= e.size;
    }
  }

  /** @internal The entries' bytes back to back, copied out of the ring. */
  copy(entries: readonly Entry[]): Uint8Array {
    let total = 0;
    for (const e of entries) total += e.size;
    const out = new Uint8Array(total);
    let at = 0;
    for (const e of entries) {
      out.set(this.#ring!.subarray(e.at, e.at + e.size), at);
      at += e.size;
    }
    return out;
  }
}

/** One partition's cached batches: a contiguous run of the newest ones. */
export class TailLog {
  readonly #cache: TailCache;
  #entries: Entry[] = [];
  #head = 0;

  constructor(cache: TailCache) {
    this.#cache = cache;
  }

  /**
   * Adds the newest committed batch (its bytes are copied). A batch that does not follow the
   * previous one empties the log first, so the run stays contiguous.
   */
  add(base: number, last: number, bytes: Uint8Array): void {
    if (this.#cache.budget === 0) return;
    const newest = this.#entries[this.#entries.length - 1];
    if (newest !== undefined && this.#head < this.#entries.length && newest.last + 1 !== base) this.clear();
    const entry = this.#cache.add(this, base, last, bytes);
    if (entry) this.#entries.push(entry);
    else this.clear();
  }

  /** @internal The cache overwrote this log's oldest entry. */
  evicted(entry: Entry): void {
    if (this.#entries[this.#head] === entry) this.#head++;
    if (this.#head > 256 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }

  /** First offset cached, or null when nothing is. */
  get firstOffset(): number | null {
    return this.#head < this.#entries.length ? this.#entries[this.#head]!.base : null;
  }

  /**
   * Whole batches from the one holding `offset`, before `upTo`, within `maxBytes` (the first
   * whole with `minOneBatch`), as PostgreSQL would return them, copied; null when the cache does
   * not hold `offset`.
   */
  read(offset: number, upTo: number, maxBytes: number, minOneBatch: boolean): Uint8Array | null {
    const first = this.firstOffset;
    if (first === null || offset < first) return null;
    let lo = this.#head;
    let hi = this.#entries.length - 1;
    if (this.#entries[hi]!.last < offset) return null;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#entries[mid]!.last < offset) lo = mid + 1;
      else hi = mid;
    }
    const taken: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < this.#entries.length; i++) {
      const e = this.#entries[i]!;
      if (e.base >= upTo) break;
      if (bytes + e.size > maxBytes && !(taken.length === 0 && minOneBatch)) break;
      taken.push(e);
      bytes += e.size;
    }
    return this.#cache.copy(taken);
  }

  /** Forgets every cached batch of this partition. */
  clear(): void {
    this.#cache.dropped(this.#entries.slice(this.#head));
    this.#entries = [];
    this.#head = 0;
  }
}
