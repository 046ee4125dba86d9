/**
 * The core of kbin's decoder fuzzer: a seeded PRNG, byte mutators, an allocation guard and the
 * runner that drives {@link Target}s. Targets live in `messages.ts` (the generated codecs and
 * the request header) and `records.ts` (record batches, legacy message sets, decompressors,
 * frame splitting); `mod.ts` lists them all. `tests/hostile/decoder_fuzz_test.ts` runs a fixed
 * budget with fixed seeds; `scripts/fuzz.ts` runs for as long as asked with random ones.
 *
 * Every case is rebuilt from (seed, target id, round, case index), so a failure reproduces from
 * those four values alone, and its bytes are printed as hex too.
 *
 * @module
 */

import { DecodeError } from "../../../src/protocol/reader.ts";

// ---------------------------------------------------------------------------------------------
// Randomness

/** Mixes numbers and strings into a 32-bit seed (FNV-1a over their text). */
export function mixSeed(...parts: (number | string)[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    const text = `${part}\u0000`;
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
  }
  return h >>> 0;
}

/** Deterministic PRNG (mulberry32). */
export class Rng {
  #s: number;

  constructor(seed: number) {
    this.#s = seed >>> 0;
  }

  /** A uniform 32-bit unsigned integer. */
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() < p * 4294967296;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }

  /** Up to `n` of `items`, picked at random, in their order. */
  sample<T>(items: T[], n: number): T[] {
    if (items.length <= n) return items;
    const picked = new Set<number>();
    while (picked.size < n) picked.add(this.int(items.length));
    return [...picked].sort((a, b) => a - b).map((i) => items[i]!);
  }

  /** Cut points of an input: every one when it is short, else the first and last 16 and `n` between. */
  cuts(length: number, n: number): number[] {
    if (length <= 160) return Array.from({ length }, (_, i) => i);
    const cuts = new Set<number>();
    for (let i = 0; i < 16; i++) {
      cuts.add(i);
      cuts.add(length - 1 - i);
    }
    for (let i = 0; i < n; i++) cuts.add(this.int(length));
    return [...cuts].sort((a, b) => a - b);
  }
}

// ---------------------------------------------------------------------------------------------
// Byte helpers

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += bytes[i]!.toString(16).padStart(2, "0");
  return s;
}

/** Parses what {@link toHex} printed (whitespace allowed). */
export function fromHex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new TypeError("Cannot parse hex: bad digits");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** `bytes` with `[at, at + remove)` replaced by `insert`. */
export function splice(bytes: Uint8Array, at: number, remove: number, insert: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length - remove + insert.length);
  out.set(bytes.subarray(0, at));
  out.set(insert, at);
  out.set(bytes.subarray(at + remove), at + insert.length);
  return out;
}

/** Kafka's UNSIGNED_VARINT of a value in [0, 2^32). */
export function uvarintBytes(value: number): Uint8Array {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return new Uint8Array(out);
}

/** Zig-zag VARINT (record fields) of a 32-bit signed value. */
export function varintBytes(value: number): Uint8Array {
  return uvarintBytes(((value << 1) ^ (value >> 31)) >>> 0);
}

/** Varints no conforming decoder accepts: over 32 bits, six bytes, cut short. */
export const BAD_VARINTS: readonly Uint8Array[] = [
  new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x7f]),
  new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]),
  new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
  new Uint8Array([0x80]),
];

export const INTERESTING_INT16: readonly number[] = [0, 1, -1, -2, 0x7fff, -0x8000, 0xff, 0x100];
export const INTERESTING_INT32: readonly number[] = [
  0,
  1,
  -1,
  -2,
  0x7fffffff,
  -0x80000000,
  0xffff,
  0x10000,
  0x1000000,
  0x40000000,
];
const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0x40];

/**
 * One to four random edits: bit flips, interesting bytes and integers, inserted, deleted,
 * duplicated or randomized ranges.
 */
export function mutate(rng: Rng, src: Uint8Array): Uint8Array {
  let b: Uint8Array = src.slice();
  const ops = 1 + rng.int(4);
  for (let k = 0; k < ops; k++) {
    const at = rng.int(b.length + 1);
    switch (rng.int(8)) {
      case 0:
        if (b.length > 0) b[rng.int(b.length)]! ^= 1 << rng.int(8);
        break;
      case 1:
        if (b.length > 0) b[rng.int(b.length)] = rng.pick(INTERESTING_BYTES);
        break;
      case 2:
        if (at + 2 <= b.length) new DataView(b.buffer).setInt16(at, rng.pick(INTERESTING_INT16));
        break;
      case 3:
        if (at + 4 <= b.length) new DataView(b.buffer).setInt32(at, rng.pick(INTERESTING_INT32));
        break;
      case 4:
        b = splice(b, at, 0, rng.bytes(1 + rng.int(8)));
        break;
      case 5:
        b = splice(b, at, Math.min(b.length - at, 1 + rng.int(8)), new Uint8Array(0));
        break;
      case 6: {
        const from = rng.int(b.length + 1);
        const n = Math.min(b.length - from, 1 + rng.int(32));
        b = splice(b, at, 0, b.slice(from, from + n));
        break;
      }
      default: {
        const n = Math.min(b.length - at, 1 + rng.int(16));
        b.set(rng.bytes(n), at);
      }
    }
  }
  return b;
}

/** Random bytes, half the time mostly 0, 1 and 0xff so that counts and lengths stay small. */
export function randomBody(rng: Rng): Uint8Array {
  const n = rng.pick([rng.int(8), rng.int(64), rng.int(600)]);
  if (rng.chance(0.5)) return rng.bytes(n);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.chance(0.8) ? rng.pick([0, 1, 0, 2, 0xff]) : rng.next() & 0xff;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Targets and cases

/** One input for a target. */
export interface FuzzCase {
  /** How it was made: "valid", "truncate", "mutate", "length", "random", ... */
  readonly strategy: string;
  readonly bytes: Uint8Array;
  /** Target-specific detail (e.g. the expected value of a valid case). */
  readonly meta?: unknown;
}

/** Something that decodes untrusted bytes, with how to make inputs for it and what it must do. */
export interface Target {
  /** Stable name, part of every reproduction: "Produce v9 request". */
  readonly id: string;
  /** What statistics are grouped by: "Produce", "Records", "lz4". */
  readonly group: string;
  /** Kafka API key, when the target decodes one API. */
  readonly apiKey: number | null;
  readonly version: number | null;
  /** Whether the broker serves this input (a served API version, the produce path). */
  readonly served: boolean;
  /** Rounds per pass of a long run, relative to other targets (default 1). */
  readonly weight?: number;
  /** The cases of one round, a pure function of (seed, round). */
  round(seed: number, round: number): FuzzCase[];
  /** Runs one case; throws {@link Violation} when the decoder misbehaves. */
  check(c: FuzzCase): void;
  /** Largest single buffer the code under test may allocate for `c` (default: the input's size). */
  allocLimit?(c: FuzzCase): number;
}

/** A broken promise of the code under test. */
export class Violation extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "Violation";
  }
}

/** "TypeError: Cannot read properties of undefined" from anything thrown. */
export function describeError(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return `non-error ${typeof e}: ${String(e)}`;
}

/** Runs `fn`: it may return, or throw a DecodeError; anything else is a {@link Violation}. */
export function decodeOrReject<T>(fn: () => T): { ok: true; value: T } | { ok: false; error: DecodeError } {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    if (e instanceof DecodeError) return { ok: false, error: e };
    throw new Violation(`threw ${describeError(e)} instead of DecodeError`, { cause: e });
  }
}

// ---------------------------------------------------------------------------------------------
// Allocation guard

/**
 * Watches `new Uint8Array(n)` and `new ArrayBuffer(n)` by swapping the globals for proxies, so
 * that a decoder sizing a buffer from a length field it has not checked is caught before the
 * buffer exists. Code that captured the constructors before {@link install} (fflate, fzstd) and
 * native allocations are not seen.
 */
export class AllocationGuard {
  /** Largest allowed length; larger ones record a violation and throw. */
  limit = Infinity;
  /** The first refused allocation since {@link reset}. */
  violation: string | null = null;
  #restore: (() => void) | null = null;

  install(): void {
    if (this.#restore !== null) return;
    const g = globalThis as unknown as Record<string, unknown>;
    const saved = { Uint8Array: g.Uint8Array, ArrayBuffer: g.ArrayBuffer };
    for (const name of ["Uint8Array", "ArrayBuffer"] as const) {
      const target = saved[name] as new (...args: unknown[]) => object;
      g[name] = new Proxy(target, {
        construct: (t, args) => {
          const n = typeof args[0] === "number" ? args[0] : 0;
          if (n > this.limit) {
            this.violation ??= `new ${name}(${n}) exceeds the limit of ${this.limit} bytes`;
            throw new RangeError(`Allocation guard: ${this.violation}`);
          }
          return Reflect.construct(t, args, t);
        },
      });
    }
    this.#restore = () => {
      g.Uint8Array = saved.Uint8Array;
      g.ArrayBuffer = saved.ArrayBuffer;
    };
  }

  uninstall(): void {
    this.#restore?.();
    this.#restore = null;
  }

  reset(limit: number): void {
    this.limit = limit;
    this.violation = null;
  }
}

// ---------------------------------------------------------------------------------------------
// Running

/** Where and how a case failed, with everything needed to reproduce it. */
export interface FuzzFailure {
  seed: number;
  target: string;
  group: string;
  apiKey: number | null;
  version: number | null;
  round: number;
  index: number;
  strategy: string;
  reason: string;
  hex: string;
}

/** How {@link checkCase} checks. */
export interface RunOptions {
  /** A case taking longer than this is a failure (a hang or an amplification). */
  caseTimeMs: number;
  /** An installed guard enforces each target's allocation limit. */
  guard?: AllocationGuard;
  /** Called before each case with its index (a watchdog's heartbeat). */
  onCase?: (index: number) => void;
}

/** Cases of one round and the first failure among them. */
export interface RoundResult {
  cases: number;
  failure: FuzzFailure | null;
}

/** Checks one case: returns the reason it failed, or null. */
export function checkCase(target: Target, c: FuzzCase, options: RunOptions): string | null {
  const guard = options.guard;
  guard?.reset(target.allocLimit ? target.allocLimit(c) : c.bytes.length);
  const start = performance.now();
  let reason: string | null = null;
  try {
    target.check(c);
  } catch (e) {
    reason = e instanceof Violation ? e.message : `harness: ${describeError(e)}`;
  }
  const ms = performance.now() - start;
  if (guard) {
    if (guard.violation !== null) reason = `allocation: ${guard.violation}${reason ? ` (then ${reason})` : ""}`;
    guard.reset(Infinity);
  }
  if (reason === null && ms > options.caseTimeMs) {
    reason = `took ${ms.toFixed(0)} ms (limit ${options.caseTimeMs} ms) on ${c.bytes.length} bytes`;
  }
  return reason;
}

/** Options of {@link runRound}: which round, and how to check it. */
export interface RoundOptions extends RunOptions {
  seed: number;
  round: number;
}

/** Builds and checks every case of one round; stops at the first failure. */
export function runRound(target: Target, options: RoundOptions): RoundResult {
  const { seed, round } = options;
  let cases: FuzzCase[];
  try {
    cases = target.round(seed, round);
  } catch (e) {
    const reason = `harness: ${describeError(e)}`;
    return { cases: 0, failure: failureOf(target, { seed, round, index: -1, reason, case: null }) };
  }
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i]!;
    options.onCase?.(i);
    const reason = checkCase(target, c, options);
    if (reason !== null) {
      return { cases: i + 1, failure: failureOf(target, { seed, round, index: i, reason, case: c }) };
    }
  }
  return { cases: cases.length, failure: null };
}

/** The failure record of case `index` of a round (`case: null` when the round could not be built). */
export function failureOf(
  target: Target,
  where: { seed: number; round: number; index: number; reason: string; case: FuzzCase | null },
): FuzzFailure {
  return {
    seed: where.seed,
    target: target.id,
    group: target.group,
    apiKey: target.apiKey,
    version: target.version,
    round: where.round,
    index: where.index,
    strategy: where.case?.strategy ?? "generate",
    reason: where.reason,
    hex: where.case ? toHex(where.case.bytes) : "",
  };
}

/**
 * A failure as the lines `scripts/fuzz.ts` and the test print.
 * @param options `maxHexChars`: shorten the input's hex past this (`--replay` prints it whole)
 */
export function formatFailure(f: FuzzFailure, options: { maxHexChars?: number } = {}): string {
  const max = options.maxHexChars ?? Infinity;
  const hex = f.hex.length > max ? `${f.hex.slice(0, max)}… (cut; --replay prints it all)` : f.hex;
  return [
    `${f.target} failed: ${f.reason}`,
    `  seed ${f.seed}, api key ${f.apiKey ?? "-"}, version ${
      f.version ?? "-"
    }, round ${f.round}, case ${f.index} (${f.strategy})`,
    `  replay: bun scripts/fuzz.ts --seed ${f.seed} --replay '${f.target}#${f.round}#${f.index}'`,
    `  input (${f.hex.length / 2} bytes): ${hex}`,
  ].join("\n");
}
