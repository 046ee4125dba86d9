/**
 * Zero-copy reader over a Kafka wire buffer. Every method advances the cursor and throws
 * {@link DecodeError} when the buffer is too short or a value is malformed; byte fields are
 * returned as views into the input, never copied.
 *
 * @module
 */

/** Thrown for malformed wire input. The connection loop closes that one connection on it. */
export class DecodeError extends RangeError {
  readonly code = "KBIN_DECODE";
  constructor(message: string) {
    super(message);
    this.name = "DecodeError";
  }
}

const DECODER = new TextDecoder("utf-8", { fatal: false });
const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** The all-zero UUID in Kafka's text form (URL-safe base64 without padding). */
export const ZERO_UUID = "AAAAAAAAAAAAAAAAAAAAAA";

/**
 * Formats 16 bytes as Kafka prints a UUID: 22 characters of URL-safe base64, no padding.
 * @param bytes exactly 16 bytes
 * @returns the 22-character text form
 */
export function uuidToString(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 3 <= 15; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += B64URL[(n >> 18) & 63]! + B64URL[(n >> 12) & 63]! + B64URL[(n >> 6) & 63]! + B64URL[n & 63]!;
  }
  const last = bytes[15]!;
  out += B64URL[last >> 2]! + B64URL[(last & 3) << 4]!;
  return out;
}

/**
 * Parses Kafka's 22-character UUID text back into 16 bytes.
 * @param text the URL-safe base64 form
 * @returns 16 bytes
 */
export function uuidFromString(text: string): Uint8Array {
  if (text.length !== 22) throw new DecodeError(`Cannot parse UUID "${text}": expected 22 characters`);
  const out = new Uint8Array(16);
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (let i = 0; i < 22; i++) {
    const v = B64URL.indexOf(text[i]!);
    if (v < 0) throw new DecodeError(`Cannot parse UUID "${text}": bad character`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (o < 16) out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/** Sequential big-endian reader over one Uint8Array. */
export class Reader {
  readonly buf: Uint8Array;
  readonly view: DataView;
  offset: number;
  readonly end: number;

  constructor(buf: Uint8Array, offset = 0, end = buf.length) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.offset = offset;
    this.end = end;
  }

  /** Bytes left to read. */
  get remaining(): number {
    return this.end - this.offset;
  }

  #need(n: number, what: string): number {
    const at = this.offset;
    if (n < 0 || at + n > this.end) {
      throw new DecodeError(`Cannot read ${what} at byte ${at}: need ${n} bytes, ${this.end - at} left`);
    }
    this.offset = at + n;
    return at;
  }

  int8(): number {
    return this.view.getInt8(this.#need(1, "int8"));
  }
  int16(): number {
    return this.view.getInt16(this.#need(2, "int16"));
  }
  uint16(): number {
    return this.view.getUint16(this.#need(2, "uint16"));
  }
  int32(): number {
    return this.view.getInt32(this.#need(4, "int32"));
  }
  uint32(): number {
    return this.view.getUint32(this.#need(4, "uint32"));
  }
  int64(): bigint {
    return this.view.getBigInt64(this.#need(8, "int64"));
  }
  float64(): number {
    return this.view.getFloat64(this.#need(8, "float64"));
  }
  bool(): boolean {
    return this.buf[this.#need(1, "bool")] !== 0;
  }
  uuid(): string {
    const at = this.#need(16, "uuid");
    return uuidToString(this.buf.subarray(at, at + 16));
  }

  /** Unsigned base-128 varint, at most 5 bytes (32 bits). */
  uvarint(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      if (this.offset >= this.end) throw new DecodeError(`Cannot read varint at byte ${this.offset}: buffer ended`);
      const b = this.buf[this.offset++]!;
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) {
        if (result > 0xffffffff) throw new DecodeError("Cannot read varint: value exceeds 32 bits");
        return result;
      }
      shift += 7;
    }
    throw new DecodeError(`Cannot read varint at byte ${this.offset}: more than 5 bytes`);
  }

  /** Zig-zag signed 32-bit varint (record fields). */
  varint(): number {
    const u = this.uvarint();
    return (u >>> 1) ^ -(u & 1);
  }

  /** Zig-zag signed 64-bit varint (record fields), returned as a number when safe. */
  varlong(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.offset >= this.end) throw new DecodeError(`Cannot read varlong at byte ${this.offset}: buffer ended`);
      const b = this.buf[this.offset++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return (result >> 1n) ^ -(result & 1n);
      shift += 7n;
    }
    throw new DecodeError(`Cannot read varlong at byte ${this.offset}: more than 10 bytes`);
  }

  /** Raw view of the next n bytes (no copy). */
  raw(n: number): Uint8Array {
    const at = this.#need(n, "bytes");
    return this.buf.subarray(at, at + n);
  }

  skip(n: number): void {
    this.#need(n, "skipped bytes");
  }

  #text(n: number): string {
    const at = this.#need(n, "string");
    return DECODER.decode(this.buf.subarray(at, at + n));
  }

  string(): string {
    const n = this.int16();
    if (n < 0) throw new DecodeError(`Cannot read string at byte ${this.offset - 2}: null is not allowed here`);
    return this.#text(n);
  }
  nullableString(): string | null {
    const n = this.int16();
    if (n < 0) return null;
    return this.#text(n);
  }
  compactString(): string {
    const n = this.uvarint() - 1;
    if (n < 0) throw new DecodeError(`Cannot read compact string at byte ${this.offset}: null is not allowed here`);
    return this.#text(n);
  }
  compactNullableString(): string | null {
    const n = this.uvarint() - 1;
    if (n < 0) return null;
    return this.#text(n);
  }

  bytes(): Uint8Array {
    const n = this.int32();
    if (n < 0) throw new DecodeError(`Cannot read bytes at byte ${this.offset - 4}: null is not allowed here`);
    return this.raw(n);
  }
  nullableBytes(): Uint8Array | null {
    const n = this.int32();
    if (n < 0) return null;
    return this.raw(n);
  }
  compactBytes(): Uint8Array {
    const n = this.uvarint() - 1;
    if (n < 0) throw new DecodeError(`Cannot read compact bytes at byte ${this.offset}: null is not allowed here`);
    return this.raw(n);
  }
  compactNullableBytes(): Uint8Array | null {
    const n = this.uvarint() - 1;
    if (n < 0) return null;
    return this.raw(n);
  }

  /**
   * Classic array count (INT32, -1 = null). A count larger than the bytes left is refused
   * before anything is allocated, as Kafka does.
   */
  arrayLength(): number {
    const n = this.int32();
    if (n < -1 || n > this.remaining) {
      throw new DecodeError(
        `Cannot read array at byte ${this.offset - 4}: count ${n} exceeds ${this.remaining} bytes left`,
      );
    }
    return n;
  }

  /**
   * Skips a whole tagged-field section (count, then tag/size/data entries). Used by generated
   * decoders for structs that have no known tagged fields: every tag is unknown to them.
   */
  skipTaggedFields(): void {
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      this.uvarint();
      this.skip(this.uvarint());
    }
  }

  /** Compact array count (UNSIGNED_VARINT N+1, 0 = null); returns -1 for null. */
  compactArrayLength(): number {
    const n = this.uvarint() - 1;
    if (n > this.remaining) {
      throw new DecodeError(
        `Cannot read compact array at byte ${this.offset}: count ${n} exceeds ${this.remaining} bytes left`,
      );
    }
    return n;
  }
}
