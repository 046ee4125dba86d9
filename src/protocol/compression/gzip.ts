/**
 * gzip in pure TypeScript over fflate's DEFLATE, for runtimes without `node:zlib`.
 *
 * Kafka's Java client writes one gzip member with `GZIPOutputStream`; `GZIPInputStream` reads
 * concatenated members too, so the reader does. fflate's stream decoder checks neither the
 * CRC-32 nor the length in each member's trailer, and stops quietly on a truncated stream, so
 * this module checks both itself: a corrupt or cut payload is an error, never short output.
 * Bytes after the last member are an error here (zlib skips zero padding, Java any garbage).
 *
 * @module
 */

import { Gunzip, gzipSync } from "fflate";
import { type CodecImpl, DEFAULT_MAX_OUTPUT_BYTES } from "./codec.ts";
import { CompressionError } from "./errors.ts";

/** Kafka's default gzip level (`Deflater.DEFAULT_COMPRESSION`). */
export const GZIP_DEFAULT_LEVEL = 6;
const PUSH_BYTES = 64 * 1024; // DEFLATE expands at most 1032:1, so one push adds <= 66 MiB

function fail(message: string): never {
  throw new CompressionError(`Cannot decompress gzip data: ${message}`);
}

const CRC_TABLES = (() => {
  const t = new Int32Array(256 * 8);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + n] = c;
    }
  }
  return t;
})();

/**
 * Updates a CRC-32 (IEEE, as gzip uses) with `data`.
 * @param crc the CRC so far (0 to start)
 * @param data more bytes
 * @returns the new CRC, unsigned
 */
export function crc32(crc: number, data: Uint8Array): number {
  const t = CRC_TABLES;
  let c = ~crc;
  let i = 0;
  const n = data.length;
  for (; i + 8 <= n; i += 8) {
    const a = c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
    c = t[1792 + (a & 0xff)]! ^ t[1536 + ((a >>> 8) & 0xff)]! ^ t[1280 + ((a >>> 16) & 0xff)]! ^
      t[1024 + (a >>> 24)]! ^ t[768 + data[i + 4]!]! ^ t[512 + data[i + 5]!]! ^ t[256 + data[i + 6]!]! ^
      t[data[i + 7]!]!;
  }
  for (; i < n; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * Compresses into one gzip member (no file name, mtime 0, as `GZIPOutputStream` writes).
 * @param data the bytes to compress
 * @param level 1 (fastest) to 9 (smallest); default 6
 * @returns the gzip member
 */
export function gzipCompress(data: Uint8Array, level: number = GZIP_DEFAULT_LEVEL): Uint8Array {
  return gzipSync(data, { level: level as 6, mtime: 0 });
}

function u32le(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

/** CRC-32 and length mod 2^32 of one member's output, as its trailer should hold them. */
function trailerOf(output: Uint8Array[]): { crc: number; size: number } {
  let crc = 0;
  let length = 0;
  for (const chunk of output) {
    crc = crc32(crc, chunk);
    length += chunk.length;
  }
  return { crc, size: length % 0x100000000 };
}

function trailerAt(data: Uint8Array, end: number, expected: { crc: number; size: number }): boolean {
  return end >= 18 && u32le(data, end - 8) === expected.crc && u32le(data, end - 4) === expected.size;
}

/**
 * Decompresses one or more concatenated gzip members.
 * @param data the compressed payload
 * @param maxOutputBytes fail rather than produce more than this many bytes
 * @returns the decompressed bytes
 */
export function gzipDecompress(data: Uint8Array, maxOutputBytes: number = DEFAULT_MAX_OUTPUT_BYTES): Uint8Array {
  const n = data.length;
  if (n < 18) fail(n === 0 ? "empty input" : "truncated member");
  if (data[0] !== 0x1f || data[1] !== 0x8b) fail("not gzip (bad magic)");
  if (data[2] !== 8) fail(`unsupported compression method ${data[2]}`);
  const members: Uint8Array[][] = [[]];
  const starts = [0];
  let total = 0;
  const gunzip = new Gunzip((chunk) => {
    if (chunk.length === 0) return;
    total += chunk.length;
    if (total > maxOutputBytes) fail(`output exceeds the limit of ${maxOutputBytes} bytes`);
    members[members.length - 1]!.push(chunk);
  });
  gunzip.onmember = (offset) => {
    starts.push(offset);
    members.push([]);
  };
  try {
    for (let i = 0; i < n; i += PUSH_BYTES) {
      gunzip.push(data.subarray(i, Math.min(i + PUSH_BYTES, n)), i + PUSH_BYTES >= n);
    }
  } catch (e) {
    if (e instanceof CompressionError) throw e;
    fail(e instanceof Error ? e.message : String(e));
  }
  for (let m = 0; m < members.length - 1; m++) {
    if (!trailerAt(data, starts[m + 1]!, trailerOf(members[m]!))) fail(`member ${m + 1} has a bad CRC-32 or length`);
  }
  // The last member ends the input: unlike zlib, no padding after it is skipped.
  if (!trailerAt(data, n, trailerOf(members[members.length - 1]!))) fail("bad CRC-32 or length, or truncated");
  const out = new Uint8Array(total);
  let d = 0;
  for (const member of members) {
    for (const chunk of member) {
      out.set(chunk, d);
      d += chunk.length;
    }
  }
  return out;
}

/** gzip, pure TypeScript. Levels 1-9, default 6. */
export const gzip: CodecImpl = {
  compress: (data, level) => gzipCompress(data, level),
  decompress: (data, maxOutputBytes) => gzipDecompress(data, maxOutputBytes),
};
