/**
 * JSON values as the serializers take and give them: plain objects, arrays, strings, booleans,
 * null and numbers — with `bigint` for integers beyond 2^53 (Avro and protobuf longs, JSON Schema
 * integers), which `JSON.parse` would round and `JSON.stringify` refuses. {@link parseJsonValue} and
 * {@link stringifyJsonValue} are the lossless pair the REST proxy can use for request and response
 * bodies; plain `JSON.parse` output is accepted too.
 *
 * @module
 */

import { isJsonNumber, isJsonObject, type JsonValue, parseJson } from "../json_text.ts";

/** A plain JSON object. */
export type JsonRecord = Record<string, unknown>;

/** True for a plain object (not an array, not null, not a typed array). */
export function isRecord(v: unknown): v is JsonRecord {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

/** Own-property write that is safe for any key, `__proto__` included. */
export function setOwn(o: JsonRecord, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    o[key] = value;
  }
}

function fromJsonText(v: JsonValue): unknown {
  if (v === null || typeof v === "boolean" || typeof v === "string") return v;
  if (isJsonNumber(v)) {
    const n = v.value;
    if (v.integral && !Number.isSafeInteger(n) && Number.isFinite(n)) return BigInt(v.raw);
    return n;
  }
  if (Array.isArray(v)) return v.map(fromJsonText);
  const out: JsonRecord = {};
  if (isJsonObject(v)) { for (const [k, x] of v) setOwn(out, k, fromJsonText(x)); }
  return out;
}

/**
 * Parses JSON text, keeping integers beyond 2^53 exact as `bigint`.
 * @param text JSON text
 * @returns the value, or the syntax error
 * @example
 * parseJsonValue('{"id": 9007199254740993}') // { ok: true, value: { id: 9007199254740993n } }
 */
export function parseJsonValue(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  const r = parseJson(text);
  if (!r.ok) return r;
  return { ok: true, value: fromJsonText(r.value) };
}

/**
 * Compact JSON text of a value; a `bigint` is written as a plain JSON number. `undefined` members
 * are left out as `JSON.stringify` does.
 * @param value a JSON value (bigints allowed)
 * @returns its JSON text
 * @example
 * stringifyJsonValue({ id: 9007199254740993n }) // '{"id":9007199254740993}'
 */
export function stringifyJsonValue(value: unknown): string {
  if (rawJSON !== undefined) {
    const raw = rawJSON;
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? raw(v.toString()) : v)) ?? "null";
  }
  const parts: string[] = [];
  write(value, parts);
  return parts.join("");
}

/** `JSON.rawJSON` (Bun, Deno, Node 21+): the native printer then writes bigints as numbers. */
const rawJSON = (JSON as unknown as { rawJSON?: (text: string) => unknown }).rawJSON;

/** The printer where `JSON.rawJSON` is missing. */
function write(v: unknown, out: string[]): void {
  if (typeof v === "bigint") {
    out.push(v.toString());
  } else if (Array.isArray(v)) {
    out.push("[");
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out.push(",");
      const x = v[i];
      if (x === undefined || typeof x === "function" || typeof x === "symbol") out.push("null");
      else write(x, out);
    }
    out.push("]");
  } else if (isRecord(v)) {
    out.push("{");
    let first = true;
    for (const k of Object.keys(v)) {
      const x = v[k];
      if (x === undefined || typeof x === "function" || typeof x === "symbol") continue;
      if (!first) out.push(",");
      first = false;
      out.push(JSON.stringify(k), ":");
      write(x, out);
    }
    out.push("}");
  } else {
    out.push(JSON.stringify(v) ?? "null");
  }
}

/** A short description of a value for error messages: its JSON kind and, for scalars, the value. */
export function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "nothing";
  if (typeof v === "string") return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === "number" || typeof v === "bigint") return `number ${String(v)}`;
  if (typeof v === "boolean") return `boolean ${v}`;
  if (Array.isArray(v)) return "an array";
  if (isRecord(v)) return "an object";
  return typeof v;
}

/** A JSONPath-like location for error messages: `$`, `$.a.b`, `$.list[2]`, `$.map["k"]`. */
export function childPath(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}
