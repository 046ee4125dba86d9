/**
 * Fuzz targets for the hand-written parsers the produce path runs on untrusted bytes: v2 record
 * batches (`inspectBatch`, then `batchRecords` as the log and the client read them), legacy
 * message sets (`upConvertMessageSet`), the decompressors, and frame splitting.
 *
 * Mutations are structure-aware where a checksum would otherwise stop them at the door: CRCs,
 * batch lengths, message sizes and LZ4 header checksums are fixed up after an edit, and
 * compressed records are edited decompressed and compressed again, so the code behind each
 * check is reached.
 *
 * @module
 */

import {
  Codec,
  type CodecImpl,
  codecName,
  type Codecs,
  CompressionError,
} from "../../../src/protocol/compression/mod.ts";
import { lz4CompressFrame } from "../../../src/protocol/compression/lz4.ts";
import { snappyCompressBlock } from "../../../src/protocol/compression/snappy.ts";
import { xxhash32 } from "../../../src/protocol/compression/xxhash32.ts";
import { FrameSplitter } from "../../../src/protocol/frames.ts";
import { ErrorCode } from "../../../src/protocol/generated/errors.ts";
import { DecodeError } from "../../../src/protocol/reader.ts";
import {
  batchRecords,
  buildBatch,
  crc32,
  crc32c,
  inspectBatch,
  type RecordInput,
  upConvertMessageSet,
} from "../../../src/protocol/records/mod.ts";
import {
  BAD_VARINTS,
  describeError,
  type FuzzCase,
  INTERESTING_INT32,
  mixSeed,
  mutate,
  randomBody,
  Rng,
  splice,
  type Target,
  uvarintBytes,
  varintBytes,
  Violation,
} from "./engine.ts";

/** Output cap of the codecs the record targets decompress with. */
export const FUZZ_MAX_OUTPUT_BYTES = 8 << 20;
const NOW = 1_700_000_000_000n;
const BATCH_HEADER_BYTES = 61;
const CRC_AT = 17;
const ATTRIBUTES_AT = 21;

/** Most output `n` compressed bytes can legitimately produce with `codec`. */
export function expansionBound(codec: number, n: number): number {
  const ratio = codec === Codec.GZIP
    ? 1032
    : codec === Codec.SNAPPY
    ? 64
    : codec === Codec.LZ4
    ? 272
    : codec === Codec.ZSTD
    ? 32768
    : 1;
  return Math.min(FUZZ_MAX_OUTPUT_BYTES, ratio * n + 1024);
}

function isProduceError(code: number): boolean {
  return code === ErrorCode.CORRUPT_MESSAGE || code === ErrorCode.INVALID_RECORD;
}

/** Runs `fn`; it may return or throw DecodeError / CompressionError, nothing else. */
function decodeOrCorrupt<T>(fn: () => T, what: string): T | null {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DecodeError || e instanceof CompressionError) return null;
    throw new Violation(`${what} threw ${describeError(e)}`, { cause: e });
  }
}

// ---------------------------------------------------------------------------------------------
// Random data

const WORDS = ["order", "user", "42", '"ts":', "{", "}", "é", "payment", "ok", " ", "\n", "0000000000"];
const ENCODER = new TextEncoder();

/** Compressible text, zeros or noise. */
function payload(rng: Rng, max: number): Uint8Array {
  const n = rng.int(max + 1);
  const kind = rng.int(4);
  if (kind === 0) return rng.bytes(n);
  if (kind === 1) return new Uint8Array(n);
  let s = "";
  while (s.length < n) s += rng.pick(WORDS);
  return ENCODER.encode(s).subarray(0, n);
}

function randomRecords(rng: Rng): RecordInput[] {
  const n = 1 + rng.int(rng.chance(0.1) ? 40 : 6);
  return Array.from({ length: n }, () => ({
    key: rng.chance(0.3) ? null : payload(rng, 24),
    value: rng.chance(0.1) ? null : payload(rng, rng.chance(0.1) ? 3000 : 200),
    headers: Array.from({ length: rng.pick([0, 0, 1, 3]) }, () => ({
      key: rng.pick(["trace", "", "é", "content-type"]),
      value: rng.chance(0.2) ? null : payload(rng, 12),
    })),
    timestamp: rng.chance(0.1) ? -1n : NOW + BigInt(rng.int(100_000)),
  }));
}

// ---------------------------------------------------------------------------------------------
// v2 batches

/** A v2 batch: header bytes with `section` as its records, batchLength and CRC-32C recomputed. */
function assembleBatch(header: Uint8Array, section: Uint8Array): Uint8Array {
  const out = new Uint8Array(BATCH_HEADER_BYTES + section.length);
  out.set(header.subarray(0, BATCH_HEADER_BYTES));
  out.set(section, BATCH_HEADER_BYTES);
  const dv = new DataView(out.buffer);
  dv.setInt32(8, out.length - 12);
  dv.setUint32(CRC_AT, crc32c(out, ATTRIBUTES_AT, out.length));
  return out;
}

/** Recomputes the CRC of `batch` in place (after a header edit). */
function fixBatchCrc(batch: Uint8Array): Uint8Array {
  if (batch.length >= BATCH_HEADER_BYTES) {
    new DataView(batch.buffer, batch.byteOffset).setUint32(CRC_AT, crc32c(batch, ATTRIBUTES_AT, batch.length));
  }
  return batch;
}

interface VarintSite {
  at: number;
  width: number;
}

/** Where the varints of an uncompressed records section are. */
function recordVarints(section: Uint8Array): VarintSite[] {
  const sites: VarintSite[] = [];
  let p = 0;
  const varint = (): number => {
    const at = p;
    let u = 0;
    let shift = 0;
    for (;;) {
      const b = section[p++];
      if (b === undefined) throw new RangeError("section ends inside a varint");
      u += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) break;
      shift += 7;
    }
    sites.push({ at, width: p - at });
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  };
  while (p < section.length) {
    varint(); // size
    p++; // attributes
    varint(); // timestamp delta
    varint(); // offset delta
    const key = varint();
    p += Math.max(key, 0);
    const value = varint();
    p += Math.max(value, 0);
    const headers = varint();
    for (let h = 0; h < headers; h++) {
      const headerKey = varint();
      p += Math.max(headerKey, 0);
      const headerValue = varint();
      p += Math.max(headerValue, 0);
    }
  }
  return sites;
}

/** Header fields of a v2 batch and values that attack them. */
function headerAttacks(count: number, size: number): [number, number, (number | bigint)[]][] {
  return [
    [0, 8, [1n, -1n]],
    [8, 4, [-1, 0, 13, 14, 48, 49, size - 13, size - 11, 0x7fffffff]],
    [16, 1, [0, 1, 3, -1]],
    [21, 2, [5, 6, 7, 0x20, 0x10, 0x08, 0x40, -1, 0x24]],
    [23, 4, [-1, 0, count, 0x7fffffff, -0x80000000]],
    [27, 8, [-1n, 0x7fffffffffffffffn, -0x8000000000000000n]],
    [35, 8, [-1n, 0x7fffffffffffffffn]],
    [43, 8, [0n, 0x7fffffffffffffffn]],
    [51, 2, [-1, 0x7fff]],
    [53, 4, [-1, 0, 0x7fffffff]],
    [57, 4, [-1, 0, 1, count + 1, count - 1, 0x7fffffff, -0x80000000]],
  ];
}

function setField(b: Uint8Array, at: number, width: number, v: number | bigint): void {
  const dv = new DataView(b.buffer, b.byteOffset);
  if (width === 8) dv.setBigInt64(at, BigInt(v));
  else if (width === 4) dv.setInt32(at, Number(v));
  else if (width === 2) dv.setInt16(at, Number(v));
  else dv.setInt8(at, Number(v));
}

/** Values that attack a zig-zag varint length: negative, huge, just past the end, malformed. */
function varintAttacks(rest: number): Uint8Array[] {
  return [
    ...[-1, -2, 0, 0x7fffffff, -0x80000000, rest + 1, rest + 2, 1 << 24].map(varintBytes),
    ...BAD_VARINTS,
  ];
}

/**
 * `inspectBatch` as the produce handler calls it (client origin), and as the log checks
 * (log origin), then `batchRecords` as the log and the kbin client read batches.
 */
export class RecordBatchTarget implements Target {
  readonly id = "RecordBatch (produce v3+)";
  readonly group = "Records";
  readonly weight = 16;
  readonly apiKey = 0;
  readonly version = null;
  readonly served = true;
  readonly #codecs: Codecs;

  constructor(codecs: Codecs) {
    this.#codecs = codecs;
  }

  round(seed: number, round: number): FuzzCase[] {
    const rng = new Rng(mixSeed(seed, this.id, round));
    const codecs = this.#codecs;
    const codec = round % 5;
    const records = randomRecords(rng);
    const idempotent = rng.chance(0.3);
    const batch = buildBatch(records, {
      compression: codec,
      compress: (c, d) => codecs.compress(c, d),
      now: () => NOW,
      ...(idempotent ? { producerId: 7n, producerEpoch: 0, baseSequence: rng.int(100) } : {}),
      transactional: idempotent && rng.chance(0.5),
      timestampType: rng.chance(0.1) ? "log-append" : "create",
    });
    const stored = batch.subarray(BATCH_HEADER_BYTES);
    const section = codec === Codec.NONE ? stored : codecs.decompress(codec, stored);
    const rebuild = (s: Uint8Array) => assembleBatch(batch, codec === Codec.NONE ? s : codecs.compress(codec, s));
    const cases: FuzzCase[] = [{ strategy: `valid ${codecName(codec)}`, bytes: batch, meta: records.length }];
    for (const cut of rng.cuts(batch.length, 16).filter((_, i, all) => all.length < 40 || i % 4 === 0)) {
      cases.push({ strategy: "truncate", bytes: batch.subarray(0, cut) });
    }
    for (let i = 0; i < 8; i++) {
      cases.push({
        strategy: "truncate section, length and crc fixed",
        bytes: assembleBatch(batch, stored.subarray(0, rng.int(stored.length))),
      });
    }
    for (let i = 0; i < 12; i++) cases.push({ strategy: "mutate", bytes: mutate(rng, batch) });
    for (let i = 0; i < 24; i++) {
      cases.push({ strategy: "mutate stored section, crc fixed", bytes: assembleBatch(batch, mutate(rng, stored)) });
    }
    if (codec !== Codec.NONE) {
      for (let i = 0; i < 16; i++) {
        cases.push({ strategy: "mutate records, recompressed", bytes: rebuild(mutate(rng, section)) });
      }
    }
    const fields: FuzzCase[] = [];
    for (const [at, width, values] of headerAttacks(records.length, batch.length)) {
      for (const v of values) {
        const b = batch.slice();
        setField(b, at, width, v);
        fields.push({ strategy: `header field @${at} = ${v}, crc fixed`, bytes: fixBatchCrc(b) });
      }
    }
    cases.push(...rng.sample(fields, 24));
    const varints: FuzzCase[] = [];
    for (const site of recordVarints(section)) {
      for (const v of varintAttacks(section.length - site.at - site.width)) {
        varints.push({
          strategy: `record varint @${site.at}, crc fixed`,
          bytes: splice(section, site.at, site.width, v),
        });
      }
    }
    for (const c of rng.sample(varints, 40)) cases.push({ ...c, bytes: rebuild(c.bytes) });
    for (let i = 0; i < 6; i++) {
      cases.push({ strategy: "random", bytes: randomBody(rng) });
      cases.push({ strategy: "random records, crc fixed", bytes: rebuild(randomBody(rng)) });
    }
    return cases;
  }

  check(c: FuzzCase): void {
    const b = c.bytes;
    const decompress = (codec: number, data: Uint8Array) => this.#codecs.decompress(codec, data);
    let logOk = false;
    for (const origin of ["client", "log"] as const) {
      let r;
      try {
        r = inspectBatch(b, 0, b.length, { decompress, origin });
      } catch (e) {
        throw new Violation(`inspectBatch (${origin}) threw ${describeError(e)}`, { cause: e });
      }
      if (!r.ok && !isProduceError(r.code)) {
        throw new Violation(`inspectBatch (${origin}) answered error code ${r.code}`);
      }
      if (c.meta !== undefined && !(r.ok && r.recordCount === c.meta)) {
        throw new Violation(`inspectBatch (${origin}) refused a valid batch: ${r.ok ? r.recordCount : r.message}`);
      }
      if (origin === "log") logOk = r.ok;
    }
    const read = decodeOrCorrupt(() => batchRecords(b, 0, { decompress }), "batchRecords");
    if (logOk && read === null) throw new Violation("batchRecords refused a batch inspectBatch accepted");
  }

  allocLimit(c: FuzzCase): number {
    const codec = c.bytes.length > ATTRIBUTES_AT + 1 ? c.bytes[ATTRIBUTES_AT + 1]! & 7 : 0;
    return expansionBound(codec, c.bytes.length) + 4096;
  }
}

// ---------------------------------------------------------------------------------------------
// Legacy message sets (magic 0 and 1)

interface LegacyMessage {
  offset: bigint;
  magic: number;
  attributes: number;
  timestamp: bigint;
  key: Uint8Array | null;
  value: Uint8Array | null;
}

/** One legacy entry: offset, size, CRC-32, magic, attributes, [timestamp], key, value. */
function legacyEntry(m: LegacyMessage): Uint8Array {
  const n = 12 + 4 + 2 + (m.magic === 1 ? 8 : 0) + 4 + (m.key?.length ?? 0) + 4 + (m.value?.length ?? 0);
  const out = new Uint8Array(n);
  const dv = new DataView(out.buffer);
  dv.setBigInt64(0, m.offset);
  dv.setInt32(8, n - 12);
  out[16] = m.magic;
  out[17] = m.attributes;
  let p = 18;
  if (m.magic === 1) {
    dv.setBigInt64(p, m.timestamp);
    p += 8;
  }
  for (const field of [m.key, m.value]) {
    dv.setInt32(p, field === null ? -1 : field.length);
    p += 4;
    if (field !== null) {
      out.set(field, p);
      p += field.length;
    }
  }
  dv.setUint32(12, crc32(out, 16, n));
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Whole entries of a message set: start and size field. */
function legacyEntries(buf: Uint8Array): { at: number; size: number }[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: { at: number; size: number }[] = [];
  let at = 0;
  while (buf.length - at >= 12) {
    const size = dv.getInt32(at + 8);
    if (size < 14 || buf.length - at - 12 < size) break;
    out.push({ at, size });
    at += 12 + size;
  }
  return out;
}

/** Recomputes the CRC-32 of every whole entry (after an edit inside one). */
function fixLegacyCrcs(buf: Uint8Array): Uint8Array {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (const e of legacyEntries(buf)) dv.setUint32(e.at + 12, crc32(buf, e.at + 16, e.at + 12 + e.size));
  return buf;
}

/** Length attacks on each entry's size, key length and value length (CRC fixed). */
function legacyLengthAttacks(buf: Uint8Array): FuzzCase[] {
  const out: FuzzCase[] = [];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (const e of legacyEntries(buf)) {
    const end = e.at + 12 + e.size;
    for (const v of [-1, 0, 13, 14, 21, 22, e.size - 1, e.size + 1, 0x7fffffff]) {
      const b = buf.slice();
      new DataView(b.buffer).setInt32(e.at + 8, v);
      out.push({ strategy: `message size @${e.at} = ${v}`, bytes: b });
    }
    let p = e.at + 18 + (buf[e.at + 16] === 1 ? 8 : 0);
    for (const field of ["key", "value"]) {
      if (p + 4 > end) break;
      const current = dv.getInt32(p);
      for (const v of [-1, -2, -0x80000000, 0x7fffffff, current + 1, current - 1, end - p - 4 + 1]) {
        const b = buf.slice();
        new DataView(b.buffer).setInt32(p, v);
        out.push({ strategy: `${field} length @${p} = ${v}, crc fixed`, bytes: fixLegacyCrcs(b) });
      }
      p += 4 + Math.max(current, 0);
    }
  }
  return out;
}

/** Produce v0–v2: `upConvertMessageSet`, then the converted batch through `inspectBatch`. */
export class MessageSetTarget implements Target {
  readonly id = "MessageSet up-convert (produce v0-v2)";
  readonly group = "MessageSet";
  readonly weight = 8;
  readonly apiKey = 0;
  readonly version = null;
  readonly served = true;
  readonly #codecs: Codecs;

  constructor(codecs: Codecs) {
    this.#codecs = codecs;
  }

  round(seed: number, round: number): FuzzCase[] {
    const rng = new Rng(mixSeed(seed, this.id, round));
    const codecs = this.#codecs;
    const magic = round % 2;
    const codec = [Codec.NONE, Codec.GZIP, Codec.SNAPPY, Codec.LZ4][(round >> 1) % 4]!;
    const records = randomRecords(rng).slice(0, 12);
    const messages: LegacyMessage[] = records.map((r, i) => ({
      offset: BigInt(i),
      magic,
      attributes: 0,
      timestamp: r.timestamp ?? NOW,
      key: r.key ?? null,
      value: r.value ?? null,
    }));
    const innerOf = (ms: LegacyMessage[]) => concat(ms.map(legacyEntry));
    const wrap = (inner: Uint8Array, attributes = codec) =>
      legacyEntry({
        offset: BigInt(messages.length - 1),
        magic,
        attributes,
        timestamp: NOW,
        key: null,
        value: codecs.compress(attributes & 7, inner),
      });
    const inner = innerOf(messages);
    const set = codec === Codec.NONE ? inner : wrap(inner);
    const cases: FuzzCase[] = [{
      strategy: `valid magic ${magic} ${codecName(codec)}`,
      bytes: set,
      meta: messages.length,
    }];
    for (const cut of rng.sample(rng.cuts(set.length, 16), 24)) {
      cases.push({ strategy: "truncate", bytes: set.subarray(0, cut) });
    }
    for (let i = 0; i < 16; i++) cases.push({ strategy: "mutate", bytes: mutate(rng, set) });
    for (let i = 0; i < 16; i++) {
      const b = set.slice();
      const from = 16 + rng.int(Math.max(1, b.length - 16));
      const edited = mutate(rng, b.subarray(from, Math.min(b.length, from + 24)));
      const out = splice(b, from, Math.min(b.length, from + 24) - from, edited);
      cases.push({ strategy: "mutate, crc fixed", bytes: fixLegacyCrcs(out) });
    }
    cases.push(...rng.sample(legacyLengthAttacks(set), 24));
    const fields: FuzzCase[] = [];
    for (const [at, values] of [[16, [2, 3, 0xff, 1 - magic]], [17, [4, 5, 7, 0x08, codec | 0x08, 0xff]]] as const) {
      for (const v of values) {
        const b = set.slice();
        for (const e of legacyEntries(b)) b[e.at + at] = v;
        fields.push({ strategy: `byte @${at} = ${v}, crc fixed`, bytes: fixLegacyCrcs(b) });
      }
    }
    cases.push(...rng.sample(fields, 8));
    cases.push({ strategy: "two sets", bytes: concat([set, set]) });
    cases.push({
      strategy: "mixed magic",
      bytes: concat([set, innerOf(messages.map((m) => ({ ...m, magic: 1 - magic })))]),
    });
    if (codec !== Codec.NONE) {
      for (let i = 0; i < 24; i++) {
        const pick = rng.int(4);
        const edited = pick === 0
          ? mutate(rng, inner)
          : pick === 1
          ? fixLegacyCrcs(mutate(rng, inner))
          : pick === 2
          ? rng.pick(legacyLengthAttacks(inner)).bytes
          : inner.subarray(0, rng.int(inner.length));
        cases.push({ strategy: "mutate inner set, recompressed", bytes: wrap(edited) });
      }
      cases.push({ strategy: "nested wrapper", bytes: wrap(wrap(inner)) });
      cases.push({ strategy: "empty wrapper", bytes: wrap(new Uint8Array(0)) });
      cases.push({
        strategy: "wrapper with a stored value",
        bytes: legacyEntry({ ...messages[0]!, attributes: codec }),
      });
      cases.push({ strategy: "wrapper of random bytes", bytes: wrap(randomBody(rng)) });
    }
    for (let i = 0; i < 6; i++) cases.push({ strategy: "random", bytes: randomBody(rng) });
    return cases;
  }

  check(c: FuzzCase): void {
    const codecs = this.#codecs;
    const decompress = (codec: number, data: Uint8Array) => codecs.decompress(codec, data);
    let r;
    try {
      r = upConvertMessageSet(c.bytes, {
        compress: (codec, d) => codecs.compress(codec, d),
        decompress,
        now: () => NOW,
      });
    } catch (e) {
      throw new Violation(`upConvertMessageSet threw ${describeError(e)}`, { cause: e });
    }
    if (!r.ok) {
      if (!isProduceError(r.code)) throw new Violation(`upConvertMessageSet answered error code ${r.code}`);
      if (c.meta !== undefined) throw new Violation(`upConvertMessageSet refused a valid message set: ${r.message}`);
      return;
    }
    if (c.meta !== undefined && r.recordCount !== c.meta) {
      throw new Violation(`upConvertMessageSet converted ${r.recordCount} of ${c.meta} messages`);
    }
    if (r.recordCount === 0) return;
    const inspected = inspectBatch(r.batch, 0, r.batch.length, { decompress });
    if (!inspected.ok) throw new Violation(`the up-converted batch fails inspectBatch: ${inspected.message}`);
  }

  allocLimit(c: FuzzCase): number {
    return 4 * expansionBound(Codec.GZIP, c.bytes.length) + 65536;
  }
}

// ---------------------------------------------------------------------------------------------
// Decompressors

/** `data` compressed, with framing options each codec's readers accept, and what it holds. */
function compressVariant(
  rng: Rng,
  codec: number,
  impl: CodecImpl,
  data: Uint8Array,
): { packed: Uint8Array; data: Uint8Array } {
  if (codec === Codec.LZ4) {
    const packed = lz4CompressFrame(data, {
      blockSizeBytes: rng.pick([65536, 262144]),
      blockChecksum: rng.chance(0.3),
      contentChecksum: rng.chance(0.3),
      contentSize: rng.chance(0.3),
      brokenHeaderChecksum: rng.chance(0.1),
    });
    return { packed, data };
  }
  if (codec === Codec.SNAPPY && rng.chance(0.4)) return { packed: snappyCompressBlock(data), data };
  if (codec === Codec.GZIP && rng.chance(0.2)) {
    // Two members, as Java's GZIPInputStream reads them.
    const half = data.subarray(0, data.length >> 1);
    return { packed: concat([impl.compress(data), impl.compress(half)]), data: concat([data, half]) };
  }
  return { packed: impl.compress(data), data };
}

/** Edits of a codec's headers that keep its own checksums right, so the decoder reads further. */
function codecHeaderAttacks(rng: Rng, codec: number, packed: Uint8Array, n: number): FuzzCase[] {
  const out: FuzzCase[] = [];
  const cap = FUZZ_MAX_OUTPUT_BYTES;
  const claims = [0, 1, n - 1, n + 1, cap - 1, cap, 2 ** 32, 2 ** 40];
  if (codec === Codec.LZ4 && packed.length >= 7) {
    for (let i = 0; i < 16; i++) {
      const flg = 0x40 | (rng.next() & 0x3c);
      const bd = rng.pick([0x40, 0x50, 0x60, 0x70, 0x30, 0x80 | 0x70]);
      const hasSize = (flg & 0x08) !== 0;
      const header = new Uint8Array(6 + (hasSize ? 8 : 0) + 1);
      header.set(packed.subarray(0, 4));
      header[4] = flg;
      header[5] = bd;
      if (hasSize) {
        const claim = rng.pick(claims);
        new DataView(header.buffer).setUint32(6, claim % 2 ** 32, true);
        new DataView(header.buffer).setUint32(10, Math.floor(claim / 2 ** 32), true);
      }
      header[header.length - 1] = (xxhash32(header, 4, header.length - 1) >>> 8) & 0xff;
      const oldSize = (packed[4]! & 0x08) !== 0 ? 8 : 0;
      const rest = packed.subarray(7 + oldSize);
      const body = rng.chance(0.3) ? mutate(rng, rest) : rest;
      out.push({ strategy: `lz4 header flg ${flg} bd ${bd}, checksum fixed`, bytes: concat([header, body]) });
    }
    for (const word of [0, 0x7fffffff, 0x80000000, 0x80010000, 0x00010001, 0x00400001]) {
      const b = packed.slice();
      const at = 7 + ((packed[4]! & 0x08) !== 0 ? 8 : 0);
      if (at + 4 <= b.length) new DataView(b.buffer).setUint32(at, word, true);
      out.push({ strategy: `lz4 block word ${word}`, bytes: b });
    }
  }
  if (codec === Codec.ZSTD && packed.length >= 6) {
    for (const claim of claims) {
      // Single segment, 8-byte content size, then the original blocks.
      const header = new Uint8Array(13);
      header.set(packed.subarray(0, 4));
      header[4] = 0xe0;
      new DataView(header.buffer).setUint32(5, claim % 2 ** 32, true);
      new DataView(header.buffer).setUint32(9, Math.floor(claim / 2 ** 32), true);
      const fhd = packed[4]!;
      const skip = 5 + ((fhd & 0x20) ? 0 : 1) + [0, 1, 2, 4][fhd & 3]! +
        (fhd >>> 6 === 0 ? ((fhd & 0x20) ? 1 : 0) : 1 << (fhd >>> 6));
      out.push({
        strategy: `zstd content size ${claim}`,
        bytes: concat([header, packed.subarray(Math.min(skip, packed.length))]),
      });
    }
    for (const blockHeader of [0x000001, 0x100003, 0xfffffd, (128 * 1024) << 3 | 3, (128 * 1024 + 1) << 3 | 1]) {
      const b = concat([
        packed.subarray(0, 6),
        new Uint8Array([blockHeader & 0xff, (blockHeader >> 8) & 0xff, blockHeader >>> 16, 0x61]),
      ]);
      out.push({ strategy: `zstd block header ${blockHeader}`, bytes: b });
    }
    for (const wd of [0, 0x58, 0xff, 0x88]) {
      const b = packed.slice();
      b[4] = b[4]! & ~0x20;
      out.push({
        strategy: `zstd window ${wd}`,
        bytes: splice(b, 5, (packed[4]! & 0x20) ? 0 : 1, new Uint8Array([wd])),
      });
    }
  }
  if (codec === Codec.SNAPPY) {
    const framed = packed.length >= 16 && packed[0] === 0x82;
    if (framed) {
      for (const v of [-1, 0, 1, 0x7fffffff, packed.length - 19, packed.length - 21]) {
        const b = packed.slice();
        if (b.length >= 20) new DataView(b.buffer).setInt32(16, v);
        out.push({ strategy: `snappy chunk length ${v}`, bytes: b });
      }
      const at = 20;
      for (const v of [...claims.filter((c) => c < 2 ** 32).map(uvarintBytes), ...BAD_VARINTS]) {
        out.push({ strategy: "snappy chunk preamble", bytes: splice(packed, at, 1, v) });
      }
    } else {
      let width = 0;
      while (width < packed.length && packed[width]! >= 0x80) width++;
      for (const v of [...claims.filter((c) => c < 2 ** 32).map(uvarintBytes), ...BAD_VARINTS]) {
        out.push({ strategy: "snappy block preamble", bytes: splice(packed, 0, width + 1, v) });
      }
    }
  }
  if (codec === Codec.GZIP && packed.length >= 18) {
    for (const flg of [0x04, 0x08, 0x10, 0x02, 0x1e, 0xe0]) {
      const b = packed.slice();
      b[3] = flg;
      const extra = flg & 0x04 ? new Uint8Array([0xff, 0xff, 1, 2]) : new Uint8Array(0);
      out.push({ strategy: `gzip flags ${flg}`, bytes: splice(b, 10, 0, extra) });
    }
    for (const isize of [0, n + 1, 0xffffffff]) {
      const b = packed.slice();
      new DataView(b.buffer).setUint32(b.length - 4, isize, true);
      out.push({ strategy: `gzip isize ${isize}`, bytes: b });
    }
    for (const deflateHead of [0x00, 0x01, 0x06, 0x07, 0xff]) {
      const b = packed.slice();
      b[10] = deflateHead;
      out.push({ strategy: `deflate head ${deflateHead}`, bytes: b });
    }
  }
  return out;
}

const MAGICS: Record<number, number[]> = {
  [Codec.GZIP]: [0x1f, 0x8b, 0x08, 0x00],
  [Codec.SNAPPY]: [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1],
  [Codec.LZ4]: [0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82],
  [Codec.ZSTD]: [0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58],
};

/** One decompressor (pure or native): CompressionError or output, never more than the cap. */
export class CodecTarget implements Target {
  readonly id: string;
  readonly group: string;
  readonly apiKey = null;
  readonly version = null;
  readonly served = true;
  readonly weight = 8;
  readonly #codec: number;
  readonly #impl: CodecImpl;
  readonly #packer: CodecImpl;

  constructor(options: { label: string; codec: number; impl: CodecImpl; packer: CodecImpl }) {
    this.id = `${options.label} ${codecName(options.codec)} decompress`;
    this.group = codecName(options.codec);
    this.#codec = options.codec;
    this.#impl = options.impl;
    this.#packer = options.packer;
  }

  round(seed: number, round: number): FuzzCase[] {
    const rng = new Rng(mixSeed(seed, this.id, round));
    const { packed, data } = compressVariant(
      rng,
      this.#codec,
      this.#packer,
      payload(rng, rng.chance(0.05) ? 200_000 : 3000),
    );
    const cases: FuzzCase[] = [{ strategy: "valid", bytes: packed, meta: data }];
    for (const cut of rng.sample(rng.cuts(packed.length, 24), 32)) {
      cases.push({ strategy: "truncate", bytes: packed.subarray(0, cut) });
    }
    for (let i = 0; i < 32; i++) cases.push({ strategy: "mutate", bytes: mutate(rng, packed) });
    for (let i = 0; i < 8; i++) {
      const b = packed.slice();
      const at = rng.int(Math.max(1, b.length - 3));
      if (at + 4 <= b.length) new DataView(b.buffer).setInt32(at, rng.pick(INTERESTING_INT32));
      cases.push({ strategy: "int32 overwrite", bytes: b });
    }
    cases.push(...codecHeaderAttacks(rng, this.#codec, packed, data.length));
    for (let i = 0; i < 8; i++) {
      cases.push({
        strategy: "random behind magic",
        bytes: concat([new Uint8Array(MAGICS[this.#codec]!), randomBody(rng)]),
      });
    }
    return cases;
  }

  check(c: FuzzCase): void {
    const out = decodeOrCorrupt(() => this.#impl.decompress(c.bytes, FUZZ_MAX_OUTPUT_BYTES), "decompress");
    if (out !== null && out.length > FUZZ_MAX_OUTPUT_BYTES) {
      throw new Violation(`output of ${out.length} bytes exceeds the cap`);
    }
    const expected = c.meta as Uint8Array | undefined;
    if (expected === undefined) return;
    if (out === null || out.length !== expected.length || out.some((b, i) => b !== expected[i])) {
      throw new Violation("a valid payload did not decompress to its data");
    }
  }

  allocLimit(c: FuzzCase): number {
    return c.meta !== undefined ? Infinity : expansionBound(this.#codec, c.bytes.length);
  }
}

// ---------------------------------------------------------------------------------------------
// Frame splitting

const MAX_FRAME_BYTES = 1024;

/** FrameSplitter fed the stream in random chunks: frames or one error, never a throw. */
export class FrameSplitterTarget implements Target {
  readonly id = "FrameSplitter";
  readonly group = "Frames";
  readonly weight = 8;
  readonly apiKey = null;
  readonly version = null;
  readonly served = true;

  round(seed: number, round: number): FuzzCase[] {
    const rng = new Rng(mixSeed(seed, this.id, round));
    const frames = Array.from({ length: 1 + rng.int(6) }, () => {
      const body = rng.bytes(rng.pick([0, 1, 2, rng.int(300), MAX_FRAME_BYTES]));
      const f = new Uint8Array(4 + body.length);
      new DataView(f.buffer).setInt32(0, body.length);
      f.set(body, 4);
      return f;
    });
    const stream = concat(frames);
    const cases: FuzzCase[] = [{ strategy: "valid", bytes: stream, meta: frames.length }];
    for (const cut of rng.sample(rng.cuts(stream.length, 16), 16)) {
      cases.push({ strategy: "truncate", bytes: stream.subarray(0, cut) });
    }
    for (let i = 0; i < 16; i++) cases.push({ strategy: "mutate", bytes: mutate(rng, stream) });
    let at = 0;
    for (const f of frames) {
      for (const v of [-1, -0x80000000, MAX_FRAME_BYTES, MAX_FRAME_BYTES + 1, 0x7fffffff, stream.length - at - 3]) {
        const b = stream.slice();
        new DataView(b.buffer).setInt32(at, v);
        cases.push({ strategy: `size prefix @${at} = ${v}`, bytes: b });
      }
      at += f.length;
    }
    for (let i = 0; i < 6; i++) cases.push({ strategy: "random", bytes: randomBody(rng) });
    return cases;
  }

  check(c: FuzzCase): void {
    const b = c.bytes;
    const rng = new Rng(mixSeed(b.length, b[0] ?? 0, b[b.length - 1] ?? 0));
    const pooled = rng.chance(0.5);
    const splitter = new FrameSplitter(MAX_FRAME_BYTES, pooled ? { allocate: (size) => new Uint8Array(size) } : {});
    let frames = 0;
    let consumed = 0;
    for (let at = 0; at < b.length;) {
      const n = 1 + rng.int(rng.chance(0.5) ? 8 : 600);
      let events;
      try {
        events = splitter.push(b.subarray(at, at + n));
      } catch (e) {
        throw new Violation(`FrameSplitter.push threw ${describeError(e)}`, { cause: e });
      }
      at += n;
      for (const ev of events) {
        if ("error" in ev) return;
        if (ev.frame.length > MAX_FRAME_BYTES) {
          throw new Violation(`a frame of ${ev.frame.length} bytes passed the limit`);
        }
        consumed += 4 + ev.frame.length;
        frames++;
      }
    }
    // A size prefix already read for a frame still arriving is counted in neither.
    const unaccounted = b.length - consumed - splitter.buffered;
    if (unaccounted !== 0 && unaccounted !== 4) {
      throw new Violation(`frames took ${consumed} bytes and ${splitter.buffered} wait, of ${b.length}`);
    }
    if (c.meta !== undefined && frames !== c.meta) throw new Violation(`split ${frames} of ${c.meta} frames`);
  }

  allocLimit(): number {
    return MAX_FRAME_BYTES;
  }
}
