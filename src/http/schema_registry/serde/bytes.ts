/**
 * Byte-level primitives the three serializers share: a growable writer and a bounds-checked reader
 * with Avro's zig-zag longs and protobuf's varints and fixed-width little-endian numbers. 64-bit
 * integers travel as two uint32 halves (`lo`, `hi`) so that the common small values never touch
 * `bigint`; a value that does not fit a double's 53 bits comes back as a `bigint`.
 *
 * @module
 */

const TWO_32 = 4294967296;

/** Thrown by {@link ByteReader} on truncated or malformed input; the serializers turn it into a result. */
export class SerdeDecodeError extends RangeError {
  override name = "SerdeDecodeError";
  readonly code = "KBIN_SERDE_DECODE";
}

/** Splits an integral number or bigint into the two's-complement 64-bit halves; undefined when it does not fit. */
export function toInt64Halves(n: number | bigint): [lo: number, hi: number] | undefined {
  if (typeof n === "bigint") {
    if (n < -(2n ** 63n) || n > 2n ** 64n - 1n) return undefined;
    const u = BigInt.asUintN(64, n);
    return [Number(u & 0xffffffffn), Number(u >> 32n)];
  }
  if (!Number.isInteger(n)) return undefined;
  if (Math.abs(n) >= 2 ** 63) return undefined;
  const m = Math.abs(n);
  let lo = m % TWO_32 >>> 0;
  let hi = Math.floor(m / TWO_32) >>> 0;
  if (n < 0) {
    lo = (~lo + 1) >>> 0;
    hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
  }
  return [lo, hi];
}

/** The signed value of two 64-bit halves: a number when it is a safe integer, else a bigint. */
export function int64FromHalves(lo: number, hi: number): number | bigint {
  const h = hi | 0;
  if (h >= -(2 ** 21) && h < 2 ** 21) {
    const v = h * TWO_32 + (lo >>> 0);
    if (Number.isSafeInteger(v)) return v;
  }
  return BigInt.asIntN(64, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
}

/** The unsigned value of two 64-bit halves: a number when it is a safe integer, else a bigint. */
export function uint64FromHalves(lo: number, hi: number): number | bigint {
  const h = hi >>> 0;
  if (h < 2 ** 21) return h * TWO_32 + (lo >>> 0);
  return (BigInt(h) << 32n) | BigInt(lo >>> 0);
}

/** A growable output buffer. */
export class ByteWriter {
  #buf: Uint8Array;
  #view: DataView;
  #pos = 0;

  constructor(initialBytes = 256) {
    this.#buf = new Uint8Array(initialBytes);
    this.#view = new DataView(this.#buf.buffer);
  }

  get length(): number {
    return this.#pos;
  }

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  byte(b: number): void {
    this.#ensure(1);
    this.#buf[this.#pos++] = b;
  }

  bytes(b: Uint8Array): void {
    this.#ensure(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
  }

  /** An unsigned varint of a non-negative safe integer. */
  uvarint(n: number): void {
    this.#ensure(8);
    while (n >= 0x80) {
      this.#buf[this.#pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.#buf[this.#pos++] = n;
  }

  /** A varint of a 64-bit value given as two uint32 halves (up to 10 bytes). */
  varint64(lo: number, hi: number): void {
    this.#ensure(10);
    lo >>>= 0;
    hi >>>= 0;
    while (hi !== 0 || lo >= 0x80) {
      this.#buf[this.#pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    this.#buf[this.#pos++] = lo;
  }

  /** Avro's `long`/`int` (and protobuf's `sint64`): zig-zag then varint, of 64-bit halves. */
  zigzag64(lo: number, hi: number): void {
    const sign = hi >> 31;
    const zhi = ((hi << 1) | (lo >>> 31)) ^ sign;
    const zlo = (lo << 1) ^ sign;
    this.varint64(zlo >>> 0, zhi >>> 0);
  }

  /** Avro `int`/`long` of a safe integer (the fast path), else of its halves. */
  zigzagNumber(n: number): void {
    if (n >= -(2 ** 52) && n < 2 ** 52) {
      this.uvarint(n >= 0 ? n * 2 : -n * 2 - 1);
      return;
    }
    const halves = toInt64Halves(n)!;
    this.zigzag64(halves[0], halves[1]);
  }

  fixed32(n: number): void {
    this.#ensure(4);
    this.#view.setUint32(this.#pos, n >>> 0, true);
    this.#pos += 4;
  }

  fixed64(lo: number, hi: number): void {
    this.#ensure(8);
    this.#view.setUint32(this.#pos, lo >>> 0, true);
    this.#view.setUint32(this.#pos + 4, hi >>> 0, true);
    this.#pos += 8;
  }

  float32(n: number): void {
    this.#ensure(4);
    this.#view.setFloat32(this.#pos, n, true);
    this.#pos += 4;
  }

  float64(n: number): void {
    this.#ensure(8);
    this.#view.setFloat64(this.#pos, n, true);
    this.#pos += 8;
  }

  /** The bytes written (a copy, so the writer's buffer can be dropped). */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#pos);
  }
}

/** A bounds-checked reader; every read past the end throws {@link SerdeDecodeError}. */
export class ByteReader {
  readonly #buf: Uint8Array;
  readonly #view: DataView;
  pos: number;
  readonly end: number;
  /** The halves of the last {@link varint64}. */
  lo = 0;
  hi = 0;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.#buf = buf;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  #need(n: number): void {
    if (n < 0 || this.pos + n > this.end) {
      throw new SerdeDecodeError(`Unexpected end of data at byte ${this.pos}: need ${n} more, have ${this.remaining}`);
    }
  }

  byte(): number {
    this.#need(1);
    return this.#buf[this.pos++]!;
  }

  /** A view of the next `n` bytes. */
  bytes(n: number): Uint8Array {
    this.#need(n);
    const out = this.#buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A varint of up to 64 bits into {@link lo}/{@link hi}. */
  varint64(): void {
    let lo = 0;
    let hi = 0;
    let b: number;
    for (let shift = 0; shift < 28; shift += 7) {
      b = this.byte();
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.lo = lo >>> 0;
        this.hi = 0;
        return;
      }
    }
    b = this.byte();
    lo |= (b & 0x7f) << 28;
    hi = (b & 0x7f) >> 4;
    if (b >= 0x80) {
      for (let shift = 3;; shift += 7) {
        if (shift > 31) throw new SerdeDecodeError(`Malformed varint at byte ${this.pos}`);
        b = this.byte();
        hi |= (b & 0x7f) << shift;
        if (b < 0x80) break;
      }
    }
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
  }

  /** An unsigned varint that must fit 32 bits (lengths, tags). */
  uvarint32(): number {
    this.varint64();
    if (this.hi !== 0) throw new SerdeDecodeError(`Varint too large at byte ${this.pos}`);
    return this.lo;
  }

  /** Avro's zig-zag `long`: a number when safe, else a bigint. */
  zigzag64(): number | bigint {
    this.varint64();
    const mask = -(this.lo & 1);
    const lo = ((this.lo >>> 1) | (this.hi << 31)) ^ mask;
    const hi = (this.hi >>> 1) ^ mask;
    return int64FromHalves(lo >>> 0, hi >>> 0);
  }

  /** Avro's zig-zag `int` (must fit 32 bits). */
  zigzag32(): number {
    const v = this.zigzag64();
    if (typeof v !== "number" || v < -(2 ** 31) || v > 2 ** 31 - 1) {
      throw new SerdeDecodeError(`Int out of range at byte ${this.pos}`);
    }
    return v;
  }

  fixed32(): number {
    this.#need(4);
    const v = this.#view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** A fixed 64-bit value into {@link lo}/{@link hi}. */
  fixed64(): void {
    this.#need(8);
    this.lo = this.#view.getUint32(this.pos, true);
    this.hi = this.#view.getUint32(this.pos + 4, true);
    this.pos += 8;
  }

  float32(): number {
    this.#need(4);
    const v = this.#view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  float64(): number {
    this.#need(8);
    const v = this.#view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }
}

/** The shortest decimal that reads back as the same float32 (Java's `Float.toString` digits). */
export function shortestFloat32(f: number): number {
  if (!Number.isFinite(f) || f === 0) return f;
  for (let p = 1; p <= 9; p++) {
    const candidate = Number(f.toPrecision(p));
    if (Math.fround(candidate) === f) return candidate;
  }
  return f;
}

/** Bytes as a string of code points U+0000–U+00FF (Avro's JSON encoding of bytes and fixed). */
export function latin1String(b: Uint8Array): string {
  let out = "";
  for (let i = 0; i < b.length; i += 8192) {
    out += String.fromCharCode(...b.subarray(i, Math.min(i + 8192, b.length)));
  }
  return out;
}

/** A string of code points U+0000–U+00FF as bytes; undefined if a character is above U+00FF. */
export function latin1Bytes(s: string): Uint8Array | undefined {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) return undefined;
    out[i] = c;
  }
  return out;
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_INDEX = (() => {
  const t = new Int16Array(128).fill(-1);
  for (let i = 0; i < 64; i++) t[B64.charCodeAt(i)] = i;
  t["-".charCodeAt(0)] = 62; // URL-safe alphabet
  t["_".charCodeAt(0)] = 63;
  return t;
})();

/** Standard base64 with padding (protobuf's JSON encoding of `bytes`). */
export function base64Encode(b: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < b.length; i += 3) {
    const n = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
    out += B64[n >> 18]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + B64[n & 63]!;
  }
  if (i < b.length) {
    const n = (b[i]! << 16) | ((b[i + 1] ?? 0) << 8);
    out += B64[n >> 18]! + B64[(n >> 12) & 63]! + (i + 1 < b.length ? B64[(n >> 6) & 63]! : "=") + "=";
  }
  return out;
}

/** Base64, standard or URL-safe, padding optional; undefined when malformed. */
export function base64Decode(s: string): Uint8Array | undefined {
  let len = s.length;
  while (len > 0 && s.charCodeAt(len - 1) === 0x3d) len--;
  if (s.length - len > 2 || len % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((len * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? B64_INDEX[c]! : -1;
    if (v < 0) return undefined;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}
