/**
 * Snappy as Kafka uses it, pure TypeScript: the raw block format, and snappy-java's stream
 * framing ("xerial" framing) around it.
 *
 * Kafka's Java client writes snappy-java's `SnappyOutputStream`: a 16-byte header
 * `82 53 4E 41 50 50 59 00` + INT32 version 1 + INT32 minimum compatible version 1, then
 * chunks of INT32 (big-endian) compressed length + one raw snappy block of up to 32 KiB input.
 * librdkafka and others send one raw block without that framing. Like `SnappyInputStream`, the
 * reader takes a payload that starts with the magic as framed (including streams concatenated
 * header and all), and anything else as one raw block. This is not the official snappy
 * "framing format" (`ff 06 00 00 73 4e 61 50 70 59`), which Kafka never uses.
 *
 * @module
 */

import { type CodecImpl, DEFAULT_MAX_OUTPUT_BYTES } from "./codec.ts";
import { CompressionError } from "./errors.ts";
import { MatchTable } from "./match_table.ts";

const XERIAL_MAGIC = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00] as const;
const XERIAL_MAGIC_HEAD = 0x82534e41; // the first four magic bytes as a big-endian INT32
const XERIAL_HEADER_BYTES = 16;
const XERIAL_CHUNK_BYTES = 32 * 1024; // SnappyOutputStream.DEFAULT_BLOCK_SIZE
const FRAGMENT_BYTES = 65536; // the reference compressor's unit: offsets stay below 64 KiB
const HASH_LOG = 14;

function fail(message: string): never {
  throw new CompressionError(`Cannot decompress snappy data: ${message}`);
}

/** One match-finder table for every call (see match_table.ts). */
const MATCHES = new MatchTable(HASH_LOG);
const TABLE = MATCHES.slots;

/** Worst-case size of one raw block for `n` input bytes (as snappy's MaxCompressedLength). */
function maxBlockBytes(n: number): number {
  return 32 + n + Math.ceil(n / 6);
}

function emitLiteral(src: Uint8Array, from: number, to: number, dst: Uint8Array, op: number): number {
  const n = to - from - 1;
  if (n < 60) {
    dst[op++] = n << 2;
  } else if (n < 0x100) {
    dst[op++] = 60 << 2;
    dst[op++] = n;
  } else if (n < 0x10000) {
    dst[op++] = 61 << 2;
    dst[op++] = n;
    dst[op++] = n >>> 8;
  } else if (n < 0x1000000) {
    dst[op++] = 62 << 2;
    dst[op++] = n;
    dst[op++] = n >>> 8;
    dst[op++] = n >>> 16;
  } else {
    dst[op++] = 63 << 2;
    dst[op++] = n;
    dst[op++] = n >>> 8;
    dst[op++] = n >>> 16;
    dst[op++] = n >>> 24;
  }
  if (n < 16) {
    for (let i = from; i < to; i++) dst[op++] = src[i]!;
    return op;
  }
  dst.set(src.subarray(from, to), op);
  return op + n + 1;
}

function emitCopy(dst: Uint8Array, op: number, offset: number, len: number): number {
  while (len >= 68) {
    dst[op++] = 2 | (63 << 2);
    dst[op++] = offset;
    dst[op++] = offset >>> 8;
    len -= 64;
  }
  if (len > 64) {
    dst[op++] = 2 | (59 << 2);
    dst[op++] = offset;
    dst[op++] = offset >>> 8;
    len -= 60;
  }
  if (len < 12 && offset < 2048) {
    dst[op++] = 1 | ((len - 4) << 2) | ((offset >>> 8) << 5);
    dst[op++] = offset;
  } else {
    dst[op++] = 2 | ((len - 1) << 2);
    dst[op++] = offset;
    dst[op++] = offset >>> 8;
  }
  return op;
}

/** Compresses `src[start, end)` (at most 64 KiB) as elements of a raw block at `dst[op]`. */
function compressFragment(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
  op: number,
  base: number,
): number {
  let anchor = start;
  const ipLimit = end - 4;
  let ip = start;
  let attempts = 32; // step = attempts >> 5: speeds up over incompressible data
  while (ip <= ipLimit) {
    const seq = src[ip]! | (src[ip + 1]! << 8) | (src[ip + 2]! << 16) | (src[ip + 3]! << 24);
    const h = Math.imul(seq, 0x1e35a7bd) >>> (32 - HASH_LOG);
    let ref = TABLE[h]! - base;
    TABLE[h] = base + ip;
    if (ref < start || (src[ref]! | (src[ref + 1]! << 8) | (src[ref + 2]! << 16) | (src[ref + 3]! << 24)) !== seq) {
      ip += attempts++ >> 5;
      continue;
    }
    attempts = 32;
    while (ip > anchor && ref > start && src[ip - 1] === src[ref - 1]) {
      ip--;
      ref--;
    }
    let mEnd = ip + 4;
    let rp = ref + 4;
    while (mEnd < end && src[mEnd] === src[rp]) {
      mEnd++;
      rp++;
    }
    if (ip > anchor) op = emitLiteral(src, anchor, ip, dst, op);
    op = emitCopy(dst, op, ip - ref, mEnd - ip);
    ip = mEnd;
    anchor = ip;
    if (ip <= ipLimit) {
      const p = ip - 1;
      const s1 = src[p]! | (src[p + 1]! << 8) | (src[p + 2]! << 16) | (src[p + 3]! << 24);
      TABLE[Math.imul(s1, 0x1e35a7bd) >>> (32 - HASH_LOG)] = base + p;
    }
  }
  if (anchor < end) op = emitLiteral(src, anchor, end, dst, op);
  return op;
}

/** Writes one raw block (length preamble + elements) for `src[start, end)` at `dst[op]`. */
function compressBlockInto(src: Uint8Array, start: number, end: number, dst: Uint8Array, op: number): number {
  let v = end - start;
  while (v >= 0x80) {
    dst[op++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  dst[op++] = v;
  const base = MATCHES.reserve(end); // table entries hold absolute positions in `src`
  for (let f = start; f < end; f += FRAGMENT_BYTES) {
    op = compressFragment(src, f, Math.min(f + FRAGMENT_BYTES, end), dst, op, base);
  }
  return op;
}

/**
 * Compresses into one raw snappy block, as librdkafka sends it.
 * @param data the bytes to compress
 * @returns the raw block
 */
export function snappyCompressBlock(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(maxBlockBytes(data.length));
  return out.slice(0, compressBlockInto(data, 0, data.length, out, 0));
}

/**
 * Compresses with snappy-java's stream framing, as Kafka's Java client does.
 * Empty input becomes the one-byte raw block `00`: snappy-java writes nothing at all for it,
 * and kafka-python cannot read a header with no chunk, while every reader takes `00`.
 * @param data the bytes to compress
 * @returns header + chunks
 */
export function snappyCompress(data: Uint8Array): Uint8Array {
  const n = data.length;
  if (n === 0) return new Uint8Array(1);
  const chunks = Math.ceil(n / XERIAL_CHUNK_BYTES);
  const out = new Uint8Array(XERIAL_HEADER_BYTES + chunks * (4 + maxBlockBytes(XERIAL_CHUNK_BYTES)));
  out.set(XERIAL_MAGIC);
  out[11] = 1; // version
  out[15] = 1; // minimum compatible version
  let op = XERIAL_HEADER_BYTES;
  for (let start = 0; start < n; start += XERIAL_CHUNK_BYTES) {
    const lengthPos = op;
    op = compressBlockInto(data, start, Math.min(start + XERIAL_CHUNK_BYTES, n), out, op + 4);
    const len = op - lengthPos - 4;
    out[lengthPos] = len >>> 24;
    out[lengthPos + 1] = len >>> 16;
    out[lengthPos + 2] = len >>> 8;
    out[lengthPos + 3] = len;
  }
  return out.slice(0, op);
}

/** Reads a raw block's length preamble. */
function blockLength(src: Uint8Array, s: number, sEnd: number): { length: number; elementsStart: number } {
  let length = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (s >= sEnd) fail("block ends inside its length");
    const b = src[s++]!;
    length += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) {
      if (length > 0xffffffff) fail("block length does not fit 32 bits");
      return { length, elementsStart: s };
    }
  }
  return fail("block length is longer than 5 bytes");
}

/** Decodes the elements `src[s, sEnd)` of one raw block into exactly `dst[dStart, dEnd)`. */
function decompressElements(src: Uint8Array, s: number, sEnd: number, dst: Uint8Array, dStart: number, dEnd: number) {
  let d = dStart;
  while (s < sEnd) {
    const tag = src[s++]!;
    const kind = tag & 3;
    let len = 0;
    let offset = 0;
    if (kind === 0) {
      len = (tag >>> 2) + 1;
      if (len > 60) {
        const bytes = len - 60;
        if (sEnd - s < bytes) fail("block ends inside a literal length");
        len = 0;
        for (let i = 0; i < bytes; i++) len |= src[s + i]! << (8 * i);
        len = (len >>> 0) + 1;
        s += bytes;
      }
      if (len > sEnd - s) fail("literal runs past the end of the block");
      if (len > dEnd - d) fail("block decodes to more bytes than its header says");
      if (len < 32) {
        const stop = s + len;
        while (s < stop) dst[d++] = src[s++]!;
      } else {
        dst.set(src.subarray(s, s + len), d);
        s += len;
        d += len;
      }
      continue;
    }
    if (kind === 1) {
      len = 4 + ((tag >>> 2) & 7);
      offset = ((tag >>> 5) << 8) | src[s++]!;
    } else if (kind === 2) {
      len = 1 + (tag >>> 2);
      offset = src[s]! | (src[s + 1]! << 8);
      s += 2;
    } else {
      len = 1 + (tag >>> 2);
      offset = (src[s]! | (src[s + 1]! << 8) | (src[s + 2]! << 16) | (src[s + 3]! << 24)) >>> 0;
      s += 4;
    }
    // Reading past sEnd above yields undefined (0 after |) and is caught here.
    if (s > sEnd) fail("block ends inside a copy");
    if (offset === 0 || offset > d - dStart) fail(`copy offset ${offset} reaches before the start of the block`);
    if (len > dEnd - d) fail("block decodes to more bytes than its header says");
    let from = d - offset;
    const stop = d + len;
    while (d < stop) dst[d++] = dst[from++]!;
  }
  if (d !== dEnd) fail(`block decodes to ${d - dStart} bytes, its header says ${dEnd - dStart}`);
}

function tooLarge(length: number, maxOutputBytes: number): never {
  return fail(`output of ${length} bytes exceeds the limit of ${maxOutputBytes} bytes`);
}

/**
 * Decompresses one raw snappy block.
 * @param data the block
 * @param maxOutputBytes fail rather than produce more than this many bytes
 * @returns the decompressed bytes
 */
export function snappyDecompressBlock(data: Uint8Array, maxOutputBytes: number = DEFAULT_MAX_OUTPUT_BYTES): Uint8Array {
  if (data.length === 0) fail("empty input");
  const { length, elementsStart } = blockLength(data, 0, data.length);
  if (length > maxOutputBytes) tooLarge(length, maxOutputBytes);
  // A snappy element yields at most 64 bytes per input byte, so a tiny block claiming a huge
  // length is corrupt: refuse it before allocating.
  if (length > (data.length - elementsStart) * 64) fail(`block of ${data.length} bytes cannot hold ${length} bytes`);
  const out = new Uint8Array(length);
  decompressElements(data, elementsStart, data.length, out, 0, length);
  return out;
}

/** True when `data` starts with snappy-java's stream header (what `SnappyInputStream` checks). */
export function isXerialFramed(data: Uint8Array): boolean {
  if (data.length < XERIAL_HEADER_BYTES) return false;
  for (let i = 0; i < XERIAL_MAGIC.length; i++) if (data[i] !== XERIAL_MAGIC[i]) return false;
  return true;
}

function i32be(b: Uint8Array, i: number): number {
  return (b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!;
}

function checkXerialHeader(data: Uint8Array, pos: number): void {
  const version = i32be(data, pos + 8);
  if (version < 1) fail(`unsupported snappy-java stream version ${version}`);
}

/**
 * Decompresses a Kafka snappy payload: snappy-java framed, or else one raw block.
 * @param data the compressed payload
 * @param maxOutputBytes fail rather than produce more than this many bytes
 * @returns the decompressed bytes
 */
export function snappyDecompress(data: Uint8Array, maxOutputBytes: number = DEFAULT_MAX_OUTPUT_BYTES): Uint8Array {
  if (!isXerialFramed(data)) return snappyDecompressBlock(data, maxOutputBytes);
  checkXerialHeader(data, 0);
  const n = data.length;
  const chunks: number[] = []; // triples: elements start, elements end, decoded length
  let total = 0;
  let pos = XERIAL_HEADER_BYTES;
  while (pos < n) {
    if (n - pos < 4) fail("stream ends inside a chunk length");
    const chunkBytes = i32be(data, pos);
    if (chunkBytes >>> 0 === XERIAL_MAGIC_HEAD) {
      // Another stream's header: snappy-java reads concatenated streams as one.
      if (n - pos < XERIAL_HEADER_BYTES || !isXerialFramed(data.subarray(pos))) fail("corrupt stream header");
      checkXerialHeader(data, pos);
      pos += XERIAL_HEADER_BYTES;
      continue;
    }
    if (chunkBytes < 0 || chunkBytes > n - pos - 4) {
      fail(`chunk of ${chunkBytes} bytes runs past the end of the stream`);
    }
    pos += 4;
    const { length, elementsStart } = blockLength(data, pos, pos + chunkBytes);
    pos += chunkBytes;
    if (length > (pos - elementsStart) * 64) fail(`chunk of ${chunkBytes} bytes cannot hold ${length} bytes`);
    total += length;
    if (total > maxOutputBytes) tooLarge(total, maxOutputBytes);
    chunks.push(elementsStart, pos, length);
  }
  const out = new Uint8Array(total);
  let d = 0;
  for (let i = 0; i < chunks.length; i += 3) {
    const length = chunks[i + 2]!;
    const start = chunks[i]!;
    const end = chunks[i + 1]!;
    // Zero-based views: both JITs run the decode loop about twice as fast as with offsets.
    decompressElements(data.subarray(start, end), 0, end - start, out.subarray(d, d + length), 0, length);
    d += length;
  }
  return out;
}

/** Snappy with Kafka's (snappy-java's) framing. Snappy has no levels. */
export const snappy: CodecImpl = {
  compress: (data) => snappyCompress(data),
  decompress: (data, maxOutputBytes) => snappyDecompress(data, maxOutputBytes),
};
