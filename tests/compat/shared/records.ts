/**
 * The records every real-client round trip sends through the log, and how the suites judge what
 * comes back: byte-exact keys, values and headers, null keys and null values kept apart from empty
 * ones, and each partition's order kept.
 *
 * Drivers written in other languages (Python, Go) get records as JSON lines of {@link WireRecord}:
 * bytes in base64, so nothing is lost on the way.
 *
 * @module
 */

import assert from "node:assert/strict";

/** One record as a client should produce it and read it back. */
export interface TestRecord {
  /** The partition the client is told to use. */
  readonly partition: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: readonly (readonly [string, Uint8Array])[];
  /** CreateTime in ms, for clients that let the caller set it. */
  readonly timestamp: number;
}

/** A record in JSON: bytes as base64, `null` kept. */
export interface WireRecord {
  p: number;
  k: string | null;
  v: string | null;
  h: [string, string | null][];
  ts?: number;
  /** Offset, on the way back. */
  o?: number;
}

/** Options for {@link makeRecords}. */
export interface MakeRecordsOptions {
  count?: number;
  partitions?: number;
  seed?: number;
  /**
   * Text only: keys, values and headers are non-empty UTF-8 without tab, newline or NUL, so a
   * line-oriented tool (kcat) can carry them; null still appears (kcat's `-Z` sends an empty field as null).
   */
  text?: boolean;
  /**
   * First CreateTime; record i gets `baseTimestamp + i`. Default: a day ago (Kafka 4.0 refuses
   * timestamps more than an hour ahead of the broker's clock, KIP-1030).
   */
  baseTimestamp?: number;
  /** No empty (zero-length, non-null) keys or values, for clients that cannot tell them from null. */
  noEmpty?: boolean;
}

const encoder = new TextEncoder();
const WORDS = ["kafka", "log", "offset", "Ünïcödé", "日本語", "emoji 🚀", "batch", "segment", "κλειδί", "x"];

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Builds `count` (default 1,000) records spread over `partitions` (default 3): every 10th key is
 * null, every 10th value is null (not the same records), some records have no headers, some
 * repeat a header key, values run from empty to 20 KB (compressible and random).
 */
export function makeRecords(options: MakeRecordsOptions = {}): TestRecord[] {
  const count = options.count ?? 1000;
  const partitions = options.partitions ?? 3;
  const rnd = prng(options.seed ?? 42);
  const baseTimestamp = options.baseTimestamp ?? Date.now() - 86_400_000;
  const text = options.text ?? false;
  const int = (n: number) => Math.floor(rnd() * n);
  const words = (n: number) => Array.from({ length: n }, () => WORDS[int(WORDS.length)]).join(" ");
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  const out: TestRecord[] = [];
  for (let i = 0; i < count; i++) {
    let key: Uint8Array | null;
    if (i % 10 === 3) key = null;
    else if (!text && !options.noEmpty && i % 97 === 5) key = new Uint8Array(0);
    else if (text || i % 4 !== 0) key = encoder.encode(`key-${i % 37}-${words(1)}`);
    else key = bytes(1 + int(16));

    let value: Uint8Array | null;
    const shape = i % 10;
    if (shape === 7) value = null;
    else if (!text && !options.noEmpty && i % 89 === 11) value = new Uint8Array(0);
    else if (i % 50 === 1) value = encoder.encode(`${i}:${words(2000)}`); // ~15 KB, compressible
    else if (!text && i % 50 === 2) value = bytes(20_000); // incompressible
    else if (text || shape % 2 === 0) value = encoder.encode(`${i}:${words(1 + int(30))}`);
    else value = bytes(1 + int(300));

    const headers: [string, Uint8Array][] = [];
    const nHeaders = i % 5 === 4 ? 0 : 1 + int(4);
    for (let h = 0; h < nHeaders; h++) {
      // "dup" comes twice, not next to itself: order across names must be kept too.
      const name = ["trace-id", "dup", "ключ", "dup"][h]!;
      const hv = text || h !== 1 ? encoder.encode(`${name}=${i}/${h} ${words(1)}`) : bytes(int(12));
      headers.push([name, hv]);
    }
    out.push({ partition: i % partitions, key, value, headers, timestamp: baseTimestamp + i });
  }
  return out;
}

/** The records meant for one partition, in order. */
export function forPartition(records: readonly TestRecord[], partition: number): TestRecord[] {
  return records.filter((r) => r.partition === partition);
}

function b64(b: Uint8Array | null): string | null {
  return b === null ? null : Buffer.from(b).toString("base64");
}
function unb64(s: string | null | undefined): Uint8Array | null {
  return s === null || s === undefined ? null : new Uint8Array(Buffer.from(s, "base64"));
}

/** Records as JSON-ready wire records. */
export function toWire(records: readonly TestRecord[]): WireRecord[] {
  return records.map((r) => ({
    p: r.partition,
    k: b64(r.key),
    v: b64(r.value),
    h: r.headers.map(([k, v]) => [k, b64(v)] as [string, string | null]),
    ts: r.timestamp,
  }));
}

/** A record as read back by a client. */
export interface ReadRecord {
  partition: number;
  offset: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: [string, Uint8Array | null][];
  timestamp?: number;
}

/** Wire records (from a driver) as read records. */
export function fromWire(records: readonly WireRecord[]): ReadRecord[] {
  return records.map((r) => ({
    partition: r.p,
    offset: r.o ?? -1,
    key: unb64(r.k),
    value: unb64(r.v),
    headers: (r.h ?? []).map(([k, v]) => [k, unb64(v)] as [string, Uint8Array | null]),
    ...(r.ts === undefined ? {} : { timestamp: r.ts }),
  }));
}

function show(b: Uint8Array | null): string {
  if (b === null) return "null";
  const s = Buffer.from(b).toString("hex");
  return `${b.length} bytes ${s.length > 64 ? `${s.slice(0, 64)}…` : s}`;
}

function same(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  return Buffer.from(a).equals(Buffer.from(b));
}

/** Options for {@link assertRoundTrip}. */
export interface RoundTripOptions {
  /** First offset expected in each partition (default 0: a fresh topic). */
  firstOffset?: number | ((partition: number) => number);
  /** Compare timestamps too (only when the client set them). */
  timestamps?: boolean;
  /** Ignore headers (for clients or protocol versions without them). */
  noHeaders?: boolean;
  /** Context for failure messages. */
  label?: string;
}

/**
 * Asserts that `got` holds exactly the records `sent`, partition by partition: same count,
 * consecutive offsets in order, and byte-exact keys, values and headers (null distinct from empty).
 * Fails on the first difference with a short message, not a 1,000-record diff.
 */
export function assertRoundTrip(
  got: readonly ReadRecord[],
  sent: readonly TestRecord[],
  options: RoundTripOptions = {},
): void {
  const label = options.label ? `${options.label}: ` : "";
  const partitions = [...new Set([...sent.map((r) => r.partition), ...got.map((r) => r.partition)])].sort();
  for (const p of partitions) {
    const want = forPartition(sent, p);
    const have = got.filter((r) => r.partition === p);
    assert.equal(have.length, want.length, `${label}partition ${p}: read ${have.length} records, sent ${want.length}`);
    const first = typeof options.firstOffset === "function" ? options.firstOffset(p) : (options.firstOffset ?? 0);
    for (let i = 0; i < want.length; i++) {
      const w = want[i]!;
      const h = have[i]!;
      const at = `${label}partition ${p}, record ${i} (offset ${h.offset})`;
      assert.equal(h.offset, first + i, `${at}: offsets are not consecutive from ${first}`);
      assert.ok(same(h.key, w.key), `${at}: key ${show(h.key)}, sent ${show(w.key)}`);
      assert.ok(same(h.value, w.value), `${at}: value ${show(h.value)}, sent ${show(w.value)}`);
      if (!options.noHeaders) {
        const hs = (hh: readonly (readonly [string, Uint8Array | null])[]) =>
          JSON.stringify(hh.map(([k, v]) => [k, v === null ? null : Buffer.from(v).toString("hex")]));
        assert.equal(hs(h.headers), hs(w.headers), `${at}: headers differ`);
      }
      if (options.timestamps) assert.equal(h.timestamp, w.timestamp, `${at}: timestamp`);
    }
  }
}

/** The codecs Kafka defines, in Kafka's attribute order. */
export const CODECS = ["none", "gzip", "snappy", "lz4", "zstd"] as const;
/** One of {@link CODECS}. */
export type Codec = (typeof CODECS)[number];
