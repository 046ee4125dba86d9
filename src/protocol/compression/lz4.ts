/**
 * LZ4 as Kafka uses it: the standard LZ4 frame format (magic `04 22 4D 18`), pure TypeScript.
 *
 * Writing matches Kafka's `Lz4BlockOutputStream`: 64 KiB independent blocks, no checksums, no
 * content size, and the correct header checksum. Reading accepts every frame a Java client,
 * librdkafka or the `lz4` tool writes: linked or independent blocks, block and content
 * checksums, content size, any block size, skippable frames, concatenated frames, and the wrong
 * header checksum that Kafka before 0.10 wrote for magic 0 (it hashed the magic bytes too).
 *
 * @module
 */

import { type CodecImpl, DEFAULT_MAX_OUTPUT_BYTES } from "./codec.ts";
import { CompressionError } from "./errors.ts";
import { nextDataFrame, u32le } from "./frame_walk.ts";
import { xxhash32 } from "./xxhash32.ts";
import { MatchTable } from "./match_table.ts";

const FRAME_MAGIC = 0x184d2204;
const UNCOMPRESSED_BIT = 0x80000000;
const MIN_MATCH = 4;
const LAST_LITERALS = 5; // the last 5 bytes of a block are always literals
const MF_LIMIT = 12; // the last match starts at least 12 bytes before the end of a block
const MAX_DISTANCE = 65535;
const HASH_LOG = 16;
const BLOCK_SIZE_CODES: Record<number, number> = { 65536: 4, 262144: 5, 1048576: 6, 4194304: 7 };

/** How to write a frame. The defaults are what Kafka's Java client writes. */
export interface Lz4FrameOptions {
  /** Maximum block size: 64 KiB (default), 256 KiB, 1 MiB or 4 MiB. */
  blockSizeBytes?: number;
  /** Append an XXH32 of each block (default false). */
  blockChecksum?: boolean;
  /** Append an XXH32 of the whole content (default false). */
  contentChecksum?: boolean;
  /** Put the content size in the frame header (default false). */
  contentSize?: boolean;
  /**
   * Write the header checksum over magic + descriptor, as Kafka before 0.10 did for magic 0
   * messages (default false: the correct checksum, over the descriptor only).
   */
  brokenHeaderChecksum?: boolean;
}

function fail(message: string): never {
  throw new CompressionError(`Cannot decompress lz4 data: ${message}`);
}

function putU32le(b: Uint8Array, i: number, v: number): void {
  b[i] = v;
  b[i + 1] = v >>> 8;
  b[i + 2] = v >>> 16;
  b[i + 3] = v >>> 24;
}

/** One match-finder table for every call (see match_table.ts). */
const MATCHES = new MatchTable(HASH_LOG);
const TABLE = MATCHES.slots;

/**
 * Compresses `src[start, end)` into one raw LZ4 block at `dst[op]` (greedy, hash-table match
 * finder, like LZ4's fast mode). Matches never reach before `start`, so the block is
 * independent.
 * @returns the end of the block in `dst`, or -1 if it would not end before `opLimit`
 */
function compressBlock(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
  op: number,
  opLimit: number,
  base: number,
): number {
  let anchor = start;
  if (end - start > MF_LIMIT) {
    const mfLimit = end - MF_LIMIT;
    const matchLimit = end - LAST_LITERALS;
    let ip = start;
    let attempts = 64; // step = attempts >> 6: speeds up over incompressible data
    while (ip <= mfLimit) {
      const seq = src[ip]! | (src[ip + 1]! << 8) | (src[ip + 2]! << 16) | (src[ip + 3]! << 24);
      const h = Math.imul(seq, 0x9e3779b1) >>> (32 - HASH_LOG);
      let ref = TABLE[h]! - base;
      TABLE[h] = base + ip;
      if (
        ref < start || ip - ref > MAX_DISTANCE ||
        (src[ref]! | (src[ref + 1]! << 8) | (src[ref + 2]! << 16) | (src[ref + 3]! << 24)) !== seq
      ) {
        ip += attempts++ >> 6;
        continue;
      }
      attempts = 64;
      while (ip > anchor && ref > start && src[ip - 1] === src[ref - 1]) {
        ip--;
        ref--;
      }
      let mEnd = ip + MIN_MATCH;
      let rp = ref + MIN_MATCH;
      while (mEnd < matchLimit && src[mEnd] === src[rp]) {
        mEnd++;
        rp++;
      }
      const litLen = ip - anchor;
      const mLen = mEnd - ip - MIN_MATCH;
      if (op + litLen + ((litLen / 255) | 0) + ((mLen / 255) | 0) + 6 > opLimit) return -1;
      const tokenPos = op++;
      if (litLen >= 15) {
        let l = litLen - 15;
        for (; l >= 255; l -= 255) dst[op++] = 255;
        dst[op++] = l;
      }
      if (litLen < 16) {
        for (let i = anchor; i < ip; i++) dst[op++] = src[i]!;
      } else {
        dst.set(src.subarray(anchor, ip), op);
        op += litLen;
      }
      const offset = ip - ref;
      dst[op++] = offset;
      dst[op++] = offset >>> 8;
      if (mLen >= 15) {
        let l = mLen - 15;
        for (; l >= 255; l -= 255) dst[op++] = 255;
        dst[op++] = l;
      }
      dst[tokenPos] = ((litLen >= 15 ? 15 : litLen) << 4) | (mLen >= 15 ? 15 : mLen);
      ip = mEnd;
      anchor = ip;
      if (ip <= mfLimit) {
        const p = ip - 2;
        const s2 = src[p]! | (src[p + 1]! << 8) | (src[p + 2]! << 16) | (src[p + 3]! << 24);
        TABLE[Math.imul(s2, 0x9e3779b1) >>> (32 - HASH_LOG)] = base + p;
      }
    }
  }
  const litLen = end - anchor;
  if (op + litLen + ((litLen / 255) | 0) + 2 > opLimit) return -1;
  if (litLen >= 15) {
    dst[op++] = 0xf0;
    let l = litLen - 15;
    for (; l >= 255; l -= 255) dst[op++] = 255;
    dst[op++] = l;
  } else {
    dst[op++] = litLen << 4;
  }
  dst.set(src.subarray(anchor, end), op);
  return op + litLen;
}

/**
 * Decodes one raw LZ4 block `src[s, sEnd)` into `dst[d, dEnd)`. Matches may reach back to
 * `dMin` (the block start for independent blocks, the frame start for linked ones).
 * @returns the end of the decoded bytes in `dst`; `dEnd + 1` if the output did not fit
 */
function decompressBlock(
  src: Uint8Array,
  s: number,
  sEnd: number,
  dst: Uint8Array,
  d: number,
  dEnd: number,
  dMin: number,
): number {
  for (;;) {
    if (s >= sEnd) fail("block ends inside a sequence");
    const token = src[s++]!;
    let lit = token >>> 4;
    if (lit === 15) {
      let b: number;
      do {
        if (s >= sEnd) fail("block ends inside a literal length");
        b = src[s++]!;
        lit += b;
      } while (b === 255);
    }
    if (lit > sEnd - s) fail("literals run past the end of the block");
    if (lit > dEnd - d) return dEnd + 1;
    if (lit < 16) {
      for (let i = 0; i < lit; i++) dst[d++] = src[s++]!;
    } else {
      dst.set(src.subarray(s, s + lit), d);
      s += lit;
      d += lit;
    }
    if (s === sEnd) return d;
    if (sEnd - s < 2) fail("block ends inside a match offset");
    const offset = src[s]! | (src[s + 1]! << 8);
    s += 2;
    if (offset === 0 || offset > d - dMin) fail(`match offset ${offset} reaches before the start of the data`);
    let len = token & 15;
    if (len === 15) {
      let b: number;
      do {
        if (s >= sEnd) fail("block ends inside a match length");
        b = src[s++]!;
        len += b;
      } while (b === 255);
    }
    len += MIN_MATCH;
    if (len > dEnd - d) return dEnd + 1;
    let from = d - offset;
    if (offset >= len && len > 32) {
      dst.copyWithin(d, from, from + len);
      d += len;
    } else {
      const stop = d + len;
      while (d < stop) dst[d++] = dst[from++]!;
    }
  }
}

/**
 * Compresses into one LZ4 frame.
 * @param data the bytes to compress
 * @param options frame settings; the defaults match Kafka's Java client
 * @returns the frame
 */
export function lz4CompressFrame(data: Uint8Array, options: Lz4FrameOptions = {}): Uint8Array {
  const blockSize = options.blockSizeBytes ?? 65536;
  const bdCode = BLOCK_SIZE_CODES[blockSize];
  if (bdCode === undefined) {
    throw new CompressionError(
      `Cannot compress with lz4: block size must be 64, 256, 1024 or 4096 KiB, got ${blockSize}`,
    );
  }
  const n = data.length;
  const blocks = Math.ceil(n / blockSize);
  const out = new Uint8Array(4 + 2 + 8 + 1 + blocks * 8 + n + 4 + 4);
  putU32le(out, 0, FRAME_MAGIC);
  out[4] = 0x40 | 0x20 | (options.blockChecksum ? 0x10 : 0) | (options.contentSize ? 0x08 : 0) |
    (options.contentChecksum ? 0x04 : 0);
  out[5] = bdCode << 4;
  let op = 6;
  if (options.contentSize) {
    putU32le(out, 6, n >>> 0);
    putU32le(out, 10, Math.floor(n / 0x100000000));
    op = 14;
  }
  out[op] = (xxhash32(out, options.brokenHeaderChecksum ? 0 : 4, op) >>> 8) & 0xff;
  op++;
  for (let start = 0; start < n; start += blockSize) {
    const end = Math.min(start + blockSize, n);
    const dataStart = op + 4;
    const base = MATCHES.reserve(end - start);
    const compressedEnd = compressBlock(
      data.subarray(start, end),
      0,
      end - start,
      out,
      dataStart,
      dataStart + (end - start) - 1,
      base,
    );
    let dataEnd: number;
    if (compressedEnd < 0) {
      out.set(data.subarray(start, end), dataStart);
      dataEnd = dataStart + (end - start);
      putU32le(out, op, (dataEnd - dataStart) | UNCOMPRESSED_BIT);
    } else {
      dataEnd = compressedEnd;
      putU32le(out, op, dataEnd - dataStart);
    }
    op = dataEnd;
    if (options.blockChecksum) {
      putU32le(out, op, xxhash32(out, dataStart, dataEnd));
      op += 4;
    }
  }
  putU32le(out, op, 0);
  op += 4;
  if (options.contentChecksum) {
    putU32le(out, op, xxhash32(data));
    op += 4;
  }
  return out.slice(0, op);
}

interface FrameLayout {
  /** Offset of the first block header. */
  blocksStart: number;
  /** Offset just past the frame. */
  end: number;
  maxBlockSize: number;
  independent: boolean;
  blockChecksum: boolean;
  contentChecksum: boolean;
  contentSize: number | null;
}

/**
 * Parses one frame header at `pos` and walks its block headers, checking lengths only.
 * @returns the frame, and the most bytes its blocks can decode to
 */
function layoutFrame(data: Uint8Array, pos: number): { frame: FrameLayout; bound: number } {
  const n = data.length;
  if (n - pos < 7) fail("truncated frame header");
  const flg = data[pos + 4]!;
  const bd = data[pos + 5]!;
  if (flg >>> 6 !== 1) fail(`unsupported frame version ${flg >>> 6}`);
  if (flg & 0x02) fail("reserved frame flag bit is set");
  if (flg & 0x01) fail("frames with a dictionary ID are not supported");
  const code = (bd >>> 4) & 7;
  if ((bd & 0x8f) !== 0 || code < 4) fail(`invalid block descriptor 0x${bd.toString(16)}`);
  const maxBlockSize = 1 << (2 * code + 8);
  const hasContentSize = (flg & 0x08) !== 0;
  const hcPos = pos + 6 + (hasContentSize ? 8 : 0);
  if (hcPos >= n) fail("truncated frame header");
  const hc = data[hcPos]!;
  // Kafka < 0.10 hashed the magic too (KAFKA-3160); Java and librdkafka accept that for magic 0.
  if (hc !== ((xxhash32(data, pos + 4, hcPos) >>> 8) & 0xff) && hc !== ((xxhash32(data, pos, hcPos) >>> 8) & 0xff)) {
    fail("frame header checksum mismatch");
  }
  let contentSize: number | null = null;
  if (hasContentSize) {
    const high = u32le(data, pos + 10);
    if (high > 0x1fffff) fail("content size is too large");
    contentSize = high * 0x100000000 + u32le(data, pos + 6);
  }
  const blockChecksum = (flg & 0x10) !== 0;
  const contentChecksum = (flg & 0x04) !== 0;
  let p = hcPos + 1;
  let bound = 0;
  for (;;) {
    if (n - p < 4) fail("truncated block header");
    const word = u32le(data, p);
    p += 4;
    if (word === 0) break;
    const size = word & 0x7fffffff;
    if (size > maxBlockSize) fail(`block of ${size} bytes exceeds the frame's maximum of ${maxBlockSize}`);
    p += size + (blockChecksum ? 4 : 0);
    if (p > n) fail("truncated block");
    // One input byte decodes to at most 255 output bytes.
    bound += word & UNCOMPRESSED_BIT ? size : Math.min(maxBlockSize, size * 255 + 64);
  }
  if (contentChecksum) {
    p += 4;
    if (p > n) fail("truncated content checksum");
  }
  return {
    frame: {
      blocksStart: hcPos + 1,
      end: p,
      maxBlockSize,
      independent: (flg & 0x20) !== 0,
      blockChecksum,
      contentChecksum,
      contentSize,
    },
    bound,
  };
}

/** Output did not fit: either the caller's cap, or more content than a frame declared. */
function overflow(capped: boolean, maxOutputBytes: number): never {
  fail(capped ? `output exceeds the limit of ${maxOutputBytes} bytes` : "a frame holds more content than it declares");
}

/**
 * Decompresses one or more LZ4 frames (skippable frames are skipped).
 * @param data the compressed payload
 * @param maxOutputBytes fail rather than produce more than this many bytes
 * @returns the decompressed bytes
 */
export function lz4DecompressFrame(data: Uint8Array, maxOutputBytes: number = DEFAULT_MAX_OUTPUT_BYTES): Uint8Array {
  const n = data.length;
  if (n === 0) fail("empty input");
  const frames: FrameLayout[] = [];
  let bound = 0;
  let pos = 0;
  while ((pos = nextDataFrame(data, pos, FRAME_MAGIC, "an LZ4", fail)) < n) {
    const { frame, bound: blocksBound } = layoutFrame(data, pos);
    if (frame.contentSize !== null && frame.contentSize > maxOutputBytes) {
      fail(`content size ${frame.contentSize} exceeds the limit of ${maxOutputBytes} bytes`);
    }
    // The output buffer is sized from the bound: a declared size its blocks cannot reach would
    // allocate up to the cap for a few bytes of input.
    if (frame.contentSize !== null && frame.contentSize > blocksBound) {
      fail(`frame declares ${frame.contentSize} bytes of content but its blocks hold at most ${blocksBound}`);
    }
    frames.push(frame);
    bound += frame.contentSize ?? blocksBound;
    pos = frame.end;
  }
  const capacity = Math.min(bound, maxOutputBytes);
  const out = new Uint8Array(capacity);
  let d = 0;
  for (const f of frames) {
    const frameStart = d;
    let p = f.blocksStart;
    for (;;) {
      const word = u32le(data, p);
      p += 4;
      if (word === 0) break;
      const size = word & 0x7fffffff;
      if (f.blockChecksum && xxhash32(data, p, p + size) !== u32le(data, p + size)) fail("block checksum mismatch");
      if (word & UNCOMPRESSED_BIT) {
        if (size > capacity - d) overflow(capacity === maxOutputBytes, maxOutputBytes);
        out.set(data.subarray(p, p + size), d);
        d += size;
      } else {
        const dEnd = Math.min(d + f.maxBlockSize, capacity);
        const end = decompressBlock(data.subarray(p, p + size), 0, size, out, d, dEnd, f.independent ? d : frameStart);
        if (end > dEnd) {
          if (dEnd === d + f.maxBlockSize) fail(`block decodes past the frame's maximum of ${f.maxBlockSize} bytes`);
          overflow(capacity === maxOutputBytes, maxOutputBytes);
        }
        d = end;
      }
      p += size + (f.blockChecksum ? 4 : 0);
    }
    if (f.contentSize !== null && d - frameStart !== f.contentSize) {
      fail(`frame declares ${f.contentSize} bytes of content but holds ${d - frameStart}`);
    }
    if (f.contentChecksum && xxhash32(out, frameStart, d) !== u32le(data, p)) fail("content checksum mismatch");
  }
  return d === capacity ? out : out.slice(0, d);
}

/** LZ4 with Kafka's framing. The level is accepted for Kafka's config range and ignored. */
export const lz4: CodecImpl = {
  compress: (data) => lz4CompressFrame(data),
  decompress: (data, maxOutputBytes) => lz4DecompressFrame(data, maxOutputBytes),
};
