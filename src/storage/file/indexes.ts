/**
 * Sparse offset and time indexes of one segment, kept in memory as typed arrays and persisted
 * in Kafka's on-disk layout: `.index` holds (relative offset INT32, position INT32) pairs and
 * `.timeindex` holds (timestamp INT64, relative offset INT32) entries, big-endian.
 *
 * An entry is added every `index.interval.bytes` of appended data, at a batch boundary, so a
 * lookup lands at most one interval (plus one batch) before the wanted batch.
 *
 * @module
 */

/** Offset → file position index. */
export class OffsetIndex {
  #rel = new Int32Array(64);
  #pos = new Int32Array(64);
  #length = 0;

  get length(): number {
    return this.#length;
  }

  /** Adds an entry; entries must be added in increasing offset and position order. */
  append(relativeOffset: number, position: number): void {
    if (this.#length > 0 && relativeOffset <= this.#rel[this.#length - 1]!) return;
    if (this.#length === this.#rel.length) {
      const rel = new Int32Array(this.#length * 2);
      rel.set(this.#rel);
      this.#rel = rel;
      const pos = new Int32Array(this.#length * 2);
      pos.set(this.#pos);
      this.#pos = pos;
    }
    this.#rel[this.#length] = relativeOffset;
    this.#pos[this.#length] = position;
    this.#length++;
  }

  /** Position of the last entry at or before `relativeOffset` (0 when none). */
  floorPosition(relativeOffset: number): number {
    let lo = 0;
    let hi = this.#length - 1;
    let best = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.#rel[mid]! <= relativeOffset) {
        best = this.#pos[mid]!;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return best;
  }

  /** The last entry, or null. */
  last(): { relativeOffset: number; position: number } | null {
    if (this.#length === 0) return null;
    return { relativeOffset: this.#rel[this.#length - 1]!, position: this.#pos[this.#length - 1]! };
  }

  /** Drops entries whose position is at or past `position` (after a truncation). */
  truncateToPosition(position: number): void {
    while (this.#length > 0 && this.#pos[this.#length - 1]! >= position) this.#length--;
  }

  serialize(): Uint8Array {
    const out = new Uint8Array(this.#length * 8);
    const v = new DataView(out.buffer);
    for (let i = 0; i < this.#length; i++) {
      v.setInt32(i * 8, this.#rel[i]!);
      v.setInt32(i * 8 + 4, this.#pos[i]!);
    }
    return out;
  }

  /** Parses a persisted index; null when it is not a valid, increasing index within `fileSize`. */
  static parse(bytes: Uint8Array, fileSize: number): OffsetIndex | null {
    if (bytes.length % 8 !== 0) return null;
    const idx = new OffsetIndex();
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < bytes.length; i += 8) {
      const rel = v.getInt32(i);
      const pos = v.getInt32(i + 4);
      const prev = idx.last();
      if (rel < 0 || pos < 0 || pos >= fileSize || (prev && (rel <= prev.relativeOffset || pos <= prev.position))) {
        return null;
      }
      idx.append(rel, pos);
    }
    return idx;
  }
}

/** Timestamp → offset index: entries only when the maximum timestamp grows. */
export class TimeIndex {
  #ts = new Float64Array(64);
  #rel = new Int32Array(64);
  #length = 0;

  get length(): number {
    return this.#length;
  }

  append(timestampMs: number, relativeOffset: number): void {
    if (this.#length > 0 && timestampMs <= this.#ts[this.#length - 1]!) return;
    if (this.#length === this.#ts.length) {
      const ts = new Float64Array(this.#length * 2);
      ts.set(this.#ts);
      this.#ts = ts;
      const rel = new Int32Array(this.#length * 2);
      rel.set(this.#rel);
      this.#rel = rel;
    }
    this.#ts[this.#length] = timestampMs;
    this.#rel[this.#length] = relativeOffset;
    this.#length++;
  }

  /** Relative offset of the last entry with timestamp < `timestampMs` (0 when none): scanning from it finds the first batch at or after the time. */
  floorOffset(timestampMs: number): number {
    let lo = 0;
    let hi = this.#length - 1;
    let best = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.#ts[mid]! < timestampMs) {
        best = this.#rel[mid]!;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return best;
  }

  /** The last entry, or null. */
  last(): { timestampMs: number; relativeOffset: number } | null {
    if (this.#length === 0) return null;
    return { timestampMs: this.#ts[this.#length - 1]!, relativeOffset: this.#rel[this.#length - 1]! };
  }

  /** Drops entries at or past `relativeOffset`. */
  truncateToOffset(relativeOffset: number): void {
    while (this.#length > 0 && this.#rel[this.#length - 1]! >= relativeOffset) this.#length--;
  }

  serialize(): Uint8Array {
    const out = new Uint8Array(this.#length * 12);
    const v = new DataView(out.buffer);
    for (let i = 0; i < this.#length; i++) {
      v.setBigInt64(i * 12, BigInt(this.#ts[i]!));
      v.setInt32(i * 12 + 8, this.#rel[i]!);
    }
    return out;
  }

  static parse(bytes: Uint8Array): TimeIndex | null {
    if (bytes.length % 12 !== 0) return null;
    const idx = new TimeIndex();
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < bytes.length; i += 12) {
      const ts = Number(v.getBigInt64(i));
      const rel = v.getInt32(i + 8);
      if (rel < 0 || (idx.#length > 0 && (ts <= idx.#ts[idx.#length - 1]! || rel < idx.#rel[idx.#length - 1]!))) {
        return null;
      }
      idx.append(ts, rel);
    }
    return idx;
  }
}
