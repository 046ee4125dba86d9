/**
 * Avro binary encoding of JSON values, and back, over the parsed schema model of `../avro.ts`.
 *
 * The JSON side is Avro's JSON encoding, which is what Confluent's REST Proxy reads
 * (`AvroSchemaUtils.toObject` runs Apache Avro's `JsonDecoder`) and writes (`JsonEncoder`):
 * - a union value is `null` for the null branch, else `{"<branch>": value}` where the branch is the
 *   type's full name (`"com.acme.User"`), a primitive name (`"string"`), `"array"` or `"map"`;
 * - `bytes` and `fixed` are strings of code points U+0000–U+00FF, one per byte;
 * - an enum is its symbol; logical types are their underlying type (a `date` is an int of days, a
 *   `decimal` its two's-complement bytes, a `timestamp-millis` a long);
 * - `float`/`double` also take the strings `"NaN"`, `"Infinity"`, `"-Infinity"` (`"INF"`, `"-INF"`);
 *   `int`/`long` take integral numbers only (`1.0` is accepted, `1.5` is not); a `long` beyond
 *   2^53 can be given as a `bigint` and is decoded as one;
 * - record fields are matched by name or alias as the `JsonDecoder` does: a missing field is an
 *   error even if it has a default, and unknown keys are refused when they come before a field of
 *   the schema but skipped after the last one.
 *
 * Decoding writes the same conventions (`NaN` and infinities as strings, a float as the shortest
 * decimal that reads back as the same float32). With `unwrapRootUnion`, a root union is written as
 * its branch's value without the wrapper: Confluent's consumer converts the deserialized object
 * with a schema inferred from the object itself, which drops the wrapper of a root union only.
 *
 * @module
 */

import type { AvroField, AvroRecord, AvroSchema, AvroUnion } from "../avro.ts";
import {
  ByteReader,
  ByteWriter,
  latin1Bytes,
  latin1String,
  SerdeDecodeError,
  shortestFloat32,
  toInt64Halves,
} from "./bytes.ts";
import { childPath, describeValue, isRecord, setOwn } from "./json_value.ts";

/** Outcome of encoding or decoding: the value, or what did not match and where. */
export type SerdeResult<T> = { ok: true; value: T } | { ok: false; message: string };

/** Deepest nesting of values the codecs follow (recursive schemas, hostile input). */
const MAX_DEPTH = 1000;
/** Most collection items one datum may decode to (zero-byte items cost no input). */
const MAX_ITEMS = 10_000_000;

class AvroDataError extends TypeError {
  override name = "AvroDataError";
}

function mismatch(path: string, expected: string, v: unknown): never {
  throw new AvroDataError(`${path}: expected ${expected}, got ${describeValue(v)}`);
}

/** The label of a union branch in Avro's JSON encoding (`Schema.getFullName()`). */
export function avroBranchName(s: AvroSchema): string {
  return "name" in s ? s.name.full : s.type;
}

const labelCache = new WeakMap<AvroUnion, Map<string, number>>();

function branchIndex(u: AvroUnion, label: string): number | undefined {
  let labels = labelCache.get(u);
  if (labels === undefined) {
    labels = new Map(u.types.map((t, i) => [avroBranchName(t), i]));
    labelCache.set(u, labels);
  }
  return labels.get(label);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function specialFloat(v: unknown): number | undefined {
  switch (v) {
    case "NaN":
      return Number.NaN;
    case "Infinity":
    case "INF":
      return Number.POSITIVE_INFINITY;
    case "-Infinity":
    case "-INF":
      return Number.NEGATIVE_INFINITY;
    default:
      return undefined;
  }
}

function encodeValue(s: AvroSchema, v: unknown, path: string, w: ByteWriter, depth: number): void {
  if (depth > MAX_DEPTH) throw new AvroDataError(`${path}: nested deeper than ${MAX_DEPTH} levels`);
  switch (s.type) {
    case "null":
      if (v !== null) mismatch(path, "null", v);
      return;
    case "boolean":
      if (typeof v !== "boolean") mismatch(path, "boolean", v);
      w.byte(v ? 1 : 0);
      return;
    case "int":
      if (typeof v === "bigint") v = Number(v);
      if (typeof v !== "number" || !Number.isInteger(v) || v < -(2 ** 31) || v > 2 ** 31 - 1) {
        mismatch(path, "int (a 32-bit integer)", v);
      }
      w.zigzagNumber(v);
      return;
    case "long": {
      if (typeof v === "number" && Number.isInteger(v) && v >= -(2 ** 52) && v < 2 ** 52) {
        w.zigzagNumber(v);
        return;
      }
      const halves = typeof v === "number" || typeof v === "bigint" ? toInt64Halves(v) : undefined;
      if (halves === undefined || (typeof v === "bigint" && v > 2n ** 63n - 1n)) {
        mismatch(path, "long (a 64-bit integer)", v);
      }
      w.zigzag64(halves[0], halves[1]);
      return;
    }
    case "float":
    case "double": {
      const n = typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : specialFloat(v);
      if (n === undefined) mismatch(path, s.type, v);
      if (s.type === "float") w.float32(n);
      else w.float64(n);
      return;
    }
    case "string": {
      if (typeof v !== "string") mismatch(path, "string", v);
      const b = encoder.encode(v);
      w.uvarint(b.length * 2);
      w.bytes(b);
      return;
    }
    case "bytes": {
      const b = typeof v === "string" ? latin1Bytes(v) : undefined;
      if (b === undefined) mismatch(path, "bytes (a string of code points \\u0000-\\u00ff)", v);
      w.uvarint(b.length * 2);
      w.bytes(b);
      return;
    }
    case "fixed": {
      const b = typeof v === "string" ? latin1Bytes(v) : undefined;
      if (b === undefined) mismatch(path, `fixed ${s.name.full} (a string of code points \\u0000-\\u00ff)`, v);
      if (b.length !== s.size) {
        throw new AvroDataError(`${path}: expected fixed ${s.name.full} of ${s.size} bytes, got ${b.length}`);
      }
      w.bytes(b);
      return;
    }
    case "enum": {
      if (typeof v !== "string") mismatch(path, `enum ${s.name.full} symbol`, v);
      const i = s.symbols.indexOf(v);
      if (i < 0) {
        throw new AvroDataError(
          `${path}: unknown symbol ${JSON.stringify(v)} in enum ${s.name.full}, expected one of [${
            s.symbols.join(", ")
          }]`,
        );
      }
      w.uvarint(i * 2);
      return;
    }
    case "array": {
      if (!Array.isArray(v)) mismatch(path, "array", v);
      if (v.length > 0) {
        w.uvarint(v.length * 2);
        for (let i = 0; i < v.length; i++) encodeValue(s.items, v[i], childPath(path, i), w, depth + 1);
      }
      w.byte(0);
      return;
    }
    case "map": {
      if (!isRecord(v)) mismatch(path, "map (an object)", v);
      const keys = Object.keys(v);
      if (keys.length > 0) {
        w.uvarint(keys.length * 2);
        for (const k of keys) {
          const b = encoder.encode(k);
          w.uvarint(b.length * 2);
          w.bytes(b);
          encodeValue(s.values, v[k], childPath(path, k), w, depth + 1);
        }
      }
      w.byte(0);
      return;
    }
    case "record":
      encodeRecord(s, v, path, w, depth);
      return;
    case "union": {
      if (v === null) {
        const i = branchIndex(s, "null");
        if (i === undefined) mismatch(path, `one of [${s.types.map(avroBranchName).join(", ")}]`, v);
        w.uvarint(i * 2);
        return;
      }
      const keys = isRecord(v) ? Object.keys(v) : [];
      if (keys.length === 0) {
        mismatch(
          path,
          `a union value: null or {"<type>": value} with <type> one of [${s.types.map(avroBranchName).join(", ")}]`,
          v,
        );
      }
      const label = keys[0]!;
      const i = branchIndex(s, label);
      if (i === undefined) {
        throw new AvroDataError(
          `${path}: unknown union branch ${JSON.stringify(label)}, expected one of [${
            s.types.map(avroBranchName).join(", ")
          }]`,
        );
      }
      w.uvarint(i * 2);
      encodeValue(s.types[i]!, (v as Record<string, unknown>)[label], childPath(path, label), w, depth + 1);
      return;
    }
  }
}

/** Avro's `JsonDecoder` field matching: by name or alias, in schema order, buffering the keys it passes. */
function encodeRecord(s: AvroRecord, v: unknown, path: string, w: ByteWriter, depth: number): void {
  if (!isRecord(v)) mismatch(path, `record ${s.name.full} (an object)`, v);
  const keys = Object.keys(v);
  let cursor = 0;
  const passed = new Set<string>();
  const matches = (f: AvroField, k: string) => k === f.name || f.aliases.includes(k);
  for (const f of s.fields) {
    let key: string | undefined;
    if (passed.has(f.name)) {
      key = f.name;
      passed.delete(key);
    } else {
      while (cursor < keys.length) {
        const k = keys[cursor++]!;
        if (matches(f, k)) {
          key = k;
          break;
        }
        passed.add(k);
      }
    }
    if (key === undefined) {
      throw new AvroDataError(`${path}: missing field ${JSON.stringify(f.name)} of record ${s.name.full}`);
    }
    encodeValue(f.type, v[key], childPath(path, f.name), w, depth + 1);
  }
  if (passed.size > 0) {
    throw new AvroDataError(
      `${path}: unknown field${passed.size > 1 ? "s" : ""} ${
        [...passed].map((k) => JSON.stringify(k)).join(", ")
      } in record ${s.name.full}`,
    );
  }
}

/**
 * Encodes a JSON value (Avro's JSON encoding) to Avro binary with a writer schema.
 * @param schema the writer schema (`AvroParsed.root`)
 * @param value the datum as JSON
 * @returns the Avro binary encoding, or where the value does not match the schema
 * @example
 * const s = parseAvro('["null","string"]');
 * if (s.ok) encodeAvro(s.value.root, { string: "hi" }); // { ok: true, value: Uint8Array [2, 4, 104, 105] }
 */
export function encodeAvro(schema: AvroSchema, value: unknown): SerdeResult<Uint8Array> {
  const w = new ByteWriter();
  try {
    encodeValue(schema, value, "$", w, 0);
  } catch (e) {
    if (e instanceof AvroDataError) return { ok: false, message: e.message };
    throw e;
  }
  return { ok: true, value: w.finish() };
}

interface DecodeState {
  items: number;
}

function float(n: number): number | string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Number.POSITIVE_INFINITY) return "Infinity";
  if (n === Number.NEGATIVE_INFINITY) return "-Infinity";
  return n;
}

/** True when a value of this schema can take no bytes (so a block count says nothing of the input size). */
function canBeEmpty(s: AvroSchema, seen = new Set<AvroSchema>()): boolean {
  if (seen.has(s)) return false;
  seen.add(s);
  switch (s.type) {
    case "null":
      return true;
    case "fixed":
      return s.size === 0;
    case "record":
      return s.fields.every((f) => canBeEmpty(f.type, seen));
    default:
      return false;
  }
}

function blockCount(r: ByteReader, itemSchema: AvroSchema, st: DecodeState): number {
  let count = r.zigzag64();
  if (typeof count === "bigint") throw new SerdeDecodeError(`Block count out of range at byte ${r.pos}`);
  if (count < 0) {
    count = -count;
    r.zigzag64(); // the block's size in bytes
  }
  st.items += count;
  if (st.items > MAX_ITEMS || (count > r.remaining && !canBeEmpty(itemSchema))) {
    throw new SerdeDecodeError(`Block count ${count} at byte ${r.pos} exceeds the data`);
  }
  return count;
}

function decodeValue(s: AvroSchema, r: ByteReader, depth: number, st: DecodeState): unknown {
  if (depth > MAX_DEPTH) throw new SerdeDecodeError(`Data nested deeper than ${MAX_DEPTH} levels`);
  switch (s.type) {
    case "null":
      return null;
    case "boolean": {
      const b = r.byte();
      if (b > 1) throw new SerdeDecodeError(`Invalid boolean byte ${b} at byte ${r.pos - 1}`);
      return b === 1;
    }
    case "int":
      return r.zigzag32();
    case "long":
      return r.zigzag64();
    case "float":
      return float(shortestFloat32(r.float32()));
    case "double":
      return float(r.float64());
    case "string": {
      const n = r.zigzag64();
      if (typeof n !== "number" || n < 0) throw new SerdeDecodeError(`Invalid string length at byte ${r.pos}`);
      return decoder.decode(r.bytes(n));
    }
    case "bytes": {
      const n = r.zigzag64();
      if (typeof n !== "number" || n < 0) throw new SerdeDecodeError(`Invalid bytes length at byte ${r.pos}`);
      return latin1String(r.bytes(n));
    }
    case "fixed":
      return latin1String(r.bytes(s.size));
    case "enum": {
      const i = r.zigzag32();
      const symbol = s.symbols[i];
      if (symbol === undefined) throw new SerdeDecodeError(`Enum ${s.name.full} has no symbol ${i}`);
      return symbol;
    }
    case "array": {
      const out: unknown[] = [];
      for (let n = blockCount(r, s.items, st); n !== 0; n = blockCount(r, s.items, st)) {
        for (let i = 0; i < n; i++) out.push(decodeValue(s.items, r, depth + 1, st));
      }
      return out;
    }
    case "map": {
      const out: Record<string, unknown> = {};
      for (let n = blockCount(r, s.values, st); n !== 0; n = blockCount(r, s.values, st)) {
        for (let i = 0; i < n; i++) {
          const len = r.zigzag64();
          if (typeof len !== "number" || len < 0) throw new SerdeDecodeError(`Invalid map key at byte ${r.pos}`);
          const key = decoder.decode(r.bytes(len));
          setOwn(out, key, decodeValue(s.values, r, depth + 1, st));
        }
      }
      return out;
    }
    case "record": {
      const out: Record<string, unknown> = {};
      for (const f of s.fields) setOwn(out, f.name, decodeValue(f.type, r, depth + 1, st));
      return out;
    }
    case "union": {
      const i = r.zigzag32();
      const branch = s.types[i];
      if (branch === undefined) throw new SerdeDecodeError(`Union has no branch ${i}`);
      if (branch.type === "null") return null;
      const out: Record<string, unknown> = {};
      setOwn(out, avroBranchName(branch), decodeValue(branch, r, depth + 1, st));
      return out;
    }
  }
}

/**
 * Decodes Avro binary to a JSON value (Avro's JSON encoding) with the writer schema.
 * @param schema the writer schema
 * @param bytes the datum (trailing bytes are ignored, as Avro's readers do)
 * @param options `unwrapRootUnion`: write a root union's value without its `{"<type>": …}` wrapper
 * @returns the JSON value (`bigint` for a long beyond 2^53), or why the bytes do not decode
 * @example
 * decodeAvro(root, new Uint8Array([2, 4, 104, 105])) // { ok: true, value: { string: "hi" } }
 */
export function decodeAvro(
  schema: AvroSchema,
  bytes: Uint8Array,
  options: { unwrapRootUnion?: boolean } = {},
): SerdeResult<unknown> {
  const r = new ByteReader(bytes);
  const st: DecodeState = { items: 0 };
  try {
    if (options.unwrapRootUnion && schema.type === "union") {
      const i = r.zigzag32();
      const branch = schema.types[i];
      if (branch === undefined) throw new SerdeDecodeError(`Union has no branch ${i}`);
      return { ok: true, value: decodeValue(branch, r, 1, st) };
    }
    return { ok: true, value: decodeValue(schema, r, 0, st) };
  } catch (e) {
    if (e instanceof SerdeDecodeError) return { ok: false, message: e.message };
    throw e;
  }
}

/** True when the schema accepts a JSON `null` datum (the null type, or a union with a null branch). */
export function avroAcceptsNull(schema: AvroSchema): boolean {
  return schema.type === "null" || (schema.type === "union" && schema.types.some((t) => t.type === "null"));
}
