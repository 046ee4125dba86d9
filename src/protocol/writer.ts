/**
 * Growable big-endian writer for Kafka wire messages. Small values go into one buffer;
 * large byte fields (record batches) are kept as separate chunks so that serving a fetch never
 * copies segment data. {@link Writer.chunks} hands the result to the socket as a list.
 *
 * @module
 */

import { uuidFromString } from "./reader.ts";

const ENCODER = new TextEncoder();
/** Byte fields at least this long are passed through as their own chunk instead of copied. */
const ZERO_COPY_MIN_BYTES = 4096;

/** Byte length of a string once UTF-8 encoded. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/** Sequential writer producing a list of chunks. */
export class Writer {
  #buf: Uint8Array;
  #view: DataView;
  #pos = 0;
  #done: Uint8Array[] = [];
  #doneBytes = 0;

  constructor(initialBytes = 256) {
    this.#buf = new Uint8Array(initialBytes);
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Total bytes written so far. */
  get length(): number {
    return this.#doneBytes + this.#pos;
  }

  #ensure(n: number): number {
    const at = this.#pos;
    if (at + n > this.#buf.length) {
      let size = Math.max(64, this.#buf.length * 2);
      while (size < at + n) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.#buf.subarray(0, at));
      this.#buf = next;
      this.#view = new DataView(next.buffer);
    }
    this.#pos = at + n;
    return at;
  }

  // #ensure may replace #buf/#view, so it must run before either is read: in
  // `this.#buf[this.#ensure(1)] = x` the old buffer would be evaluated first.
  #byte(v: number): void {
    const at = this.#ensure(1);
    this.#buf[at] = v;
  }

  int8(v: number): this {
    const at = this.#ensure(1);
    this.#view.setInt8(at, v);
    return this;
  }
  int16(v: number): this {
    const at = this.#ensure(2);
    this.#view.setInt16(at, v);
    return this;
  }
  uint16(v: number): this {
    const at = this.#ensure(2);
    this.#view.setUint16(at, v);
    return this;
  }
  int32(v: number): this {
    const at = this.#ensure(4);
    this.#view.setInt32(at, v);
    return this;
  }
  uint32(v: number): this {
    const at = this.#ensure(4);
    this.#view.setUint32(at, v);
    return this;
  }
  int64(v: bigint): this {
    const at = this.#ensure(8);
    this.#view.setBigInt64(at, BigInt.asIntN(64, v));
    return this;
  }
  float64(v: number): this {
    const at = this.#ensure(8);
    this.#view.setFloat64(at, v);
    return this;
  }
  bool(v: boolean): this {
    const at = this.#ensure(1);
    this.#buf[at] = v ? 1 : 0;
    return this;
  }
  uuid(v: string): this {
    const bytes = uuidFromString(v);
    const at = this.#ensure(16);
    this.#buf.set(bytes, at);
    return this;
  }

  uvarint(v: number): this {
    let n = v >>> 0;
    while (n >= 0x80) {
      this.#byte((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    this.#byte(n);
    return this;
  }
  varint(v: number): this {
    return this.uvarint(((v << 1) ^ (v >> 31)) >>> 0);
  }
  varlong(v: bigint): this {
    let n = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
    while (n >= 0x80n) {
      this.#byte(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    this.#byte(Number(n));
    return this;
  }

  /** Appends raw bytes; large ones become their own chunk (no copy). */
  raw(bytes: Uint8Array): this {
    if (bytes.length >= ZERO_COPY_MIN_BYTES) {
      this.#flush();
      this.#done.push(bytes);
      this.#doneBytes += bytes.length;
    } else if (bytes.length > 0) {
      const at = this.#ensure(bytes.length);
      this.#buf.set(bytes, at);
    }
    return this;
  }

  #flush(): void {
    if (this.#pos > 0) {
      this.#done.push(this.#buf.subarray(0, this.#pos));
      this.#doneBytes += this.#pos;
      this.#buf = new Uint8Array(Math.max(256, this.#buf.length - this.#pos));
      this.#view = new DataView(this.#buf.buffer);
      this.#pos = 0;
    }
  }

  #utf8(s: string): Uint8Array {
    return ENCODER.encode(s);
  }

  string(s: string): this {
    const b = this.#utf8(s);
    if (b.length > 0x7fff) throw new RangeError(`Cannot write string: ${b.length} bytes exceeds 32767`);
    return this.int16(b.length).raw(b);
  }
  nullableString(s: string | null): this {
    return s === null ? this.int16(-1) : this.string(s);
  }
  compactString(s: string): this {
    const b = this.#utf8(s);
    return this.uvarint(b.length + 1).raw(b);
  }
  compactNullableString(s: string | null): this {
    return s === null ? this.uvarint(0) : this.compactString(s);
  }
  bytes(b: Uint8Array): this {
    return this.int32(b.length).raw(b);
  }
  nullableBytes(b: Uint8Array | null): this {
    return b === null ? this.int32(-1) : this.bytes(b);
  }
  compactBytes(b: Uint8Array): this {
    return this.uvarint(b.length + 1).raw(b);
  }
  compactNullableBytes(b: Uint8Array | null): this {
    return b === null ? this.uvarint(0) : this.compactBytes(b);
  }
  /** Classic array count; pass -1 for null. */
  arrayLength(n: number): this {
    return this.int32(n);
  }
  /** Compact array count; pass -1 for null. */
  compactArrayLength(n: number): this {
    return this.uvarint(n + 1);
  }

  /** Appends everything another writer produced (used for tagged-field payloads). */
  append(other: Writer): this {
    for (const c of other.chunks()) this.raw(c);
    return this;
  }

  /** The written bytes as a list of chunks, in order. The writer must not be used afterwards. */
  chunks(): Uint8Array[] {
    this.#flush();
    return this.#done;
  }

  /** The written bytes as one contiguous array (copies when there is more than one chunk). */
  toBytes(): Uint8Array {
    const chunks = this.chunks();
    if (chunks.length === 1) return chunks[0]!;
    const out = new Uint8Array(this.#doneBytes);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}
