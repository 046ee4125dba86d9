/**
 * Zstandard frames. Decompression is pure TypeScript (fzstd) behind a frame walker that this
 * module owns; compression in pure TypeScript only writes stored (raw) blocks, so the runtime
 * adapters replace it with their native zstd.
 *
 * The walker (`zstdLayout()`) checks every frame's header and block headers before any byte
 * is decoded. That gives the native decoders what they lack: `node:zlib`'s
 * `zstdDecompressSync` returns short output for a truncated frame without an error, and a
 * frame that declares a huge size must be refused before anything allocates it.
 *
 * @module
 */

import { Decompress, decompress as fzstdDecompress } from "fzstd";
import { type CodecImpl, DEFAULT_MAX_OUTPUT_BYTES } from "./codec.ts";
import { CompressionError } from "./errors.ts";
import { nextDataFrame } from "./frame_walk.ts";

const FRAME_MAGIC = 0xfd2fb528;
const MAX_BLOCK_BYTES = 128 * 1024;
/** zstd's default decoder limit (ZSTD_WINDOWLOG_LIMIT_DEFAULT = 27); native decoders refuse more. */
const MAX_WINDOW_BYTES = 1 << 27;
/** Kafka's default zstd level (`compression.zstd.level`). */
export const ZSTD_DEFAULT_LEVEL = 3;

function fail(message: string): never {
  throw new CompressionError(`Cannot decompress zstd data: ${message}`);
}

/** What `zstdLayout()` learned about a payload without decoding it. */
export interface ZstdLayout {
  /** Sum of the declared content sizes, or null when a frame declares none. */
  contentSize: number | null;
  /** Most bytes the payload can decode to (exact when `contentSize` is known). */
  boundBytes: number;
  /** Start and end offsets of each zstd frame, in pairs (skippable frames left out). */
  spans: number[];
}

/**
 * Walks the frames of a zstd payload (frame headers, block headers, checksums) without decoding.
 * Fails on a bad magic, reserved bits, a dictionary, a window over 128 MiB, truncation,
 * trailing bytes, or declared content over `maxOutputBytes`.
 * @param data the compressed payload
 * @param maxOutputBytes the caller's output cap
 * @returns the declared sizes
 */
export function zstdLayout(data: Uint8Array, maxOutputBytes: number = DEFAULT_MAX_OUTPUT_BYTES): ZstdLayout {
  return walkFrames(data, maxOutputBytes).layout;
}

/** What the pure decoder needs to know of one frame's window. */
interface FrameWindow {
  /** Offset of the window descriptor byte, or -1 for a single-segment frame (window = content size). */
  descriptorAt: number;
  /** Window size in bytes. */
  window: number;
  /** Most bytes the frame can decode to. */
  bound: number;
  blocks: number;
  /** Declared content size, or null. */
  contentSize: number | null;
}

/** {@link zstdLayout}, plus each frame's window facts. */
function walkFrames(data: Uint8Array, maxOutputBytes: number): { layout: ZstdLayout; frames: FrameWindow[] } {
  const n = data.length;
  if (n === 0) fail("empty input");
  let pos = 0;
  let declared: number | null = 0;
  let bound = 0;
  const spans: number[] = [];
  const frames: FrameWindow[] = [];
  while ((pos = nextDataFrame(data, pos, FRAME_MAGIC, "a zstd", fail)) < n) {
    if (n - pos < 6) fail("truncated frame header");
    const fhd = data[pos + 4]!;
    if (fhd & 0x08) fail("reserved frame header bit is set");
    const singleSegment = (fhd & 0x20) !== 0;
    let p = pos + 5;
    let window = 0;
    if (!singleSegment) {
      const wd = data[p++]!;
      const base = 2 ** (10 + (wd >>> 3));
      window = base + (base / 8) * (wd & 7);
      if (window > MAX_WINDOW_BYTES) fail(`window of ${window} bytes exceeds ${MAX_WINDOW_BYTES}`);
    }
    const dictBytes = [0, 1, 2, 4][fhd & 3]!;
    if (n - p < dictBytes) fail("truncated frame header");
    let dictId = 0;
    for (let i = 0; i < dictBytes; i++) dictId += data[p + i]! * 2 ** (8 * i);
    if (dictId !== 0) fail(`frame needs dictionary ${dictId}`);
    p += dictBytes;
    const fcsFlag = fhd >>> 6;
    const fcsBytes = fcsFlag === 0 ? (singleSegment ? 1 : 0) : 1 << fcsFlag;
    if (n - p < fcsBytes + 3) fail("truncated frame header");
    let contentSize: number | null = null;
    if (fcsBytes > 0) {
      contentSize = 0;
      for (let i = 0; i < fcsBytes; i++) contentSize += data[p + i]! * 2 ** (8 * i);
      if (fcsBytes === 2) contentSize += 256;
      if (contentSize > maxOutputBytes) {
        fail(`declared content of ${contentSize} bytes exceeds the limit of ${maxOutputBytes} bytes`);
      }
    }
    p += fcsBytes;
    if (singleSegment) window = contentSize!;
    const blockMax = Math.min(window, MAX_BLOCK_BYTES);
    let frameBound = 0;
    let blocks = 0;
    for (;;) {
      blocks++;
      if (n - p < 3) fail("truncated block header");
      const bh = data[p]! | (data[p + 1]! << 8) | (data[p + 2]! << 16);
      p += 3;
      const type = (bh >>> 1) & 3;
      const size = bh >>> 3;
      if (type === 3) fail("reserved block type");
      if (size > blockMax) fail(`block of ${size} bytes exceeds the frame's maximum of ${blockMax}`);
      if (type === 1) {
        p += 1;
        frameBound += size;
      } else {
        p += size;
        frameBound += type === 0 ? size : blockMax;
      }
      if (p > n) fail("truncated block");
      if (bh & 1) break;
    }
    if (fhd & 0x04) {
      p += 4;
      if (p > n) fail("truncated content checksum");
    }
    if (contentSize !== null && contentSize > frameBound) {
      fail(`frame declares ${contentSize} bytes but its blocks hold at most ${frameBound}`);
    }
    bound += contentSize ?? frameBound;
    declared = declared === null || contentSize === null ? null : declared + contentSize;
    spans.push(pos, p);
    frames.push({
      descriptorAt: singleSegment ? -1 : pos + 5,
      window,
      bound: contentSize ?? frameBound,
      blocks,
      contentSize,
    });
    pos = p;
  }
  if (spans.length === 0) fail("no zstd frame");
  return { layout: { contentSize: declared, boundBytes: bound, spans }, frames };
}

/** Compares decoded length with what the frames declared. */
export function checkZstdOutput(layout: ZstdLayout, length: number, maxOutputBytes: number): void {
  if (length > maxOutputBytes) fail(`output exceeds the limit of ${maxOutputBytes} bytes`);
  if (layout.contentSize !== null && layout.contentSize !== length) {
    fail(`frames declare ${layout.contentSize} bytes but decode to ${length}`);
  }
}

/**
 * Decodes a payload frame by frame with a native one-frame decoder, then checks the total.
 * For decoders that stop after the first frame or at a skippable frame, as `node:zlib`'s
 * `zstdDecompressSync` does on Deno.
 * @param data the compressed payload
 * @param layout what `zstdLayout()` returned for it
 * @param maxOutputBytes the output cap
 * @param decodeFrame decodes one frame, producing at most `maxBytes` bytes
 * @returns the decompressed bytes
 */
export function zstdDecodeFrames(
  data: Uint8Array,
  layout: ZstdLayout,
  maxOutputBytes: number,
  decodeFrame: (frame: Uint8Array, maxBytes: number) => Uint8Array,
): Uint8Array {
  const { spans } = layout;
  let out: Uint8Array;
  if (spans.length === 2) {
    out = decodeFrame(data.subarray(spans[0]!, spans[1]!), maxOutputBytes);
  } else {
    const parts: Uint8Array[] = [];
    let total = 0;
    for (let i = 0; i < spans.length; i += 2) {
      const part = decodeFrame(data.subarray(spans[i]!, spans[i + 1]!), maxOutputBytes - total);
      total += part.length;
      checkZstdOutput({ contentSize: null, boundBytes: 0, spans: [] }, total, maxOutputBytes);
      parts.push(part);
    }
    out = new Uint8Array(total);
    let d = 0;
    for (const part of parts) {
      out.set(part, d);
      d += part.length;
    }
  }
  checkZstdOutput(layout, out.length, maxOutputBytes);
  return out;
}

/**
 * Bytes of window history fzstd may move while decoding one payload. It keeps a frame's history
 * in one buffer of the window's size and shifts the whole buffer after every block, unless it
 * decodes straight into an output buffer (a frame that declares its content size, outside
 * streaming). A tiny frame declaring a 128 MiB window would otherwise cost 128 MiB of zeroed
 * memory and 128 MiB of copying per block.
 */
const MAX_WINDOW_WORK_BYTES = 2 ** 31;

/** Window descriptor (exponent, mantissa) of the smallest window of at least `bytes`. */
function windowDescriptor(bytes: number): { descriptor: number; window: number } {
  for (let exponent = 0; exponent < 32; exponent++) {
    const base = 2 ** (10 + exponent);
    for (let mantissa = 0; mantissa < 8; mantissa++) {
      const window = base + (base / 8) * mantissa;
      if (window >= bytes) return { descriptor: (exponent << 3) | mantissa, window };
    }
  }
  return { descriptor: 0xff, window: Infinity };
}

/**
 * The payload with each window descriptor lowered to what its frame can use: no more history
 * than the frame can output (nor than `historyCap` when output past it fails anyway), but never
 * below the frame's block maximum, which the window also sets. Then refuses payloads whose
 * history moves would still exceed {@link MAX_WINDOW_WORK_BYTES}.
 */
function fitWindows(data: Uint8Array, frames: FrameWindow[], historyCap: number): Uint8Array {
  let out = data;
  let work = 0;
  for (const f of frames) {
    let window = f.window;
    if (f.descriptorAt >= 0) {
      const needed = Math.min(f.window, Math.max(Math.min(f.bound, historyCap), MAX_BLOCK_BYTES));
      const fitted = windowDescriptor(needed);
      if (fitted.window < f.window) {
        if (out === data) out = data.slice();
        out[f.descriptorAt] = fitted.descriptor;
        window = fitted.window;
      }
    }
    // Straight into an output buffer: a declared, non-zero content size outside streaming.
    const copies = f.contentSize !== null && f.contentSize > 0 && historyCap === Infinity ? 0 : f.blocks;
    work += copies * window;
  }
  if (work > MAX_WINDOW_WORK_BYTES) {
    fail(
      `decoding would move ${work} bytes of window history, over the pure decoder's limit of ${MAX_WINDOW_WORK_BYTES}`,
    );
  }
  return out;
}

/**
 * Decompresses zstd frames in pure TypeScript. The optional content checksum (XXH64) is not
 * verified here; the native decoders verify it.
 * @param data the compressed payload
 * @param maxOutputBytes fail rather than produce more than this many bytes
 * @returns the decompressed bytes
 */
export function zstdDecompress(data: Uint8Array, maxOutputBytes: number = DEFAULT_MAX_OUTPUT_BYTES): Uint8Array {
  const { layout, frames } = walkFrames(data, maxOutputBytes);
  const streaming = layout.boundBytes > maxOutputBytes;
  const input = fitWindows(data, frames, streaming ? maxOutputBytes : Infinity);
  let out: Uint8Array;
  try {
    if (!streaming) {
      out = fzstdDecompress(input);
    } else {
      const chunks: Uint8Array[] = [];
      let total = 0;
      const stream = new Decompress((chunk) => {
        total += chunk.length;
        if (total > maxOutputBytes) fail(`output exceeds the limit of ${maxOutputBytes} bytes`);
        chunks.push(chunk);
      });
      stream.push(input, true);
      out = new Uint8Array(total);
      let d = 0;
      for (const c of chunks) {
        out.set(c, d);
        d += c.length;
      }
    }
  } catch (e) {
    if (e instanceof CompressionError) throw e;
    fail(e instanceof Error ? e.message : String(e));
  }
  checkZstdOutput(layout, out.length, maxOutputBytes);
  return out;
}

/**
 * Writes one zstd frame of stored (raw) blocks: valid zstd that every decoder reads, but not
 * smaller than the input. The pure fallback for a runtime without a native zstd encoder.
 * @param data the bytes to store
 * @returns the frame
 */
export function zstdCompressStored(data: Uint8Array): Uint8Array {
  const n = data.length;
  const blocks = Math.max(1, Math.ceil(n / MAX_BLOCK_BYTES));
  // Single segment: the window is the content size, which the header then must carry.
  const fcsFlag = n < 256 ? 0 : n < 65536 + 256 ? 1 : n < 2 ** 32 ? 2 : 3;
  const fcsBytes = fcsFlag === 0 ? 1 : 1 << fcsFlag;
  const out = new Uint8Array(5 + fcsBytes + blocks * 3 + n);
  out[0] = 0x28;
  out[1] = 0xb5;
  out[2] = 0x2f;
  out[3] = 0xfd;
  out[4] = (fcsFlag << 6) | 0x20;
  let fcs = fcsFlag === 1 ? n - 256 : n;
  for (let i = 0; i < fcsBytes; i++) {
    out[5 + i] = fcs % 256;
    fcs = Math.floor(fcs / 256);
  }
  let op = 5 + fcsBytes;
  for (let b = 0; b < blocks; b++) {
    const start = b * MAX_BLOCK_BYTES;
    const size = Math.min(MAX_BLOCK_BYTES, n - start);
    const header = (size << 3) | (b === blocks - 1 ? 1 : 0); // type 0: raw
    out[op++] = header;
    out[op++] = header >>> 8;
    out[op++] = header >>> 16;
    out.set(data.subarray(start, start + size), op);
    op += size;
  }
  return out;
}

/** zstd, pure TypeScript: full decoder, stored-block encoder (levels ignored). */
export const zstd: CodecImpl = {
  compress: (data) => zstdCompressStored(data),
  decompress: (data, maxOutputBytes) => zstdDecompress(data, maxOutputBytes),
};
