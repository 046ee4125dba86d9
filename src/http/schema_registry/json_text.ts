/**
 * JSON text as the Java registry sees it. Confluent parses Avro and JSON Schema documents with
 * Jackson, which keeps object keys in document order (a repeated key keeps its first position and
 * its last value) and keeps each number as written until it prints it. `JSON.parse` does neither
 * (integer-like keys move first, `1.0` becomes `1`, long integers lose digits), so the canonical
 * text would drift from Confluent's. This parser keeps objects as `Map`s and numbers as their
 * lexeme; the two printers reproduce Jackson's output for Avro (doubles printed by Java's
 * `Double.toString`) and for JSON Schema (exact `BigDecimal`s).
 *
 * @module
 */

/** A JSON number, kept as written. */
export class JsonNumber {
  readonly raw: string;
  constructor(raw: string) {
    this.raw = raw;
  }
  /** The value as a double (what Java's `doubleValue()` gives). */
  get value(): number {
    return Number(this.raw);
  }
  /** True when written without a fraction or exponent (Jackson makes an int/long/BigInteger node). */
  get integral(): boolean {
    return !/[.eEIN]/.test(this.raw);
  }
}

/** A parsed JSON value: objects are ordered maps, numbers keep their lexeme. */
export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject;
/** A JSON object in document order. */
export type JsonObject = Map<string, JsonValue>;

/** Outcome of {@link parseJson}. */
export type JsonParseResult = { ok: true; value: JsonValue } | { ok: false; message: string };

/** True for a JSON object (a `Map`). */
export function isJsonObject(v: JsonValue | undefined): v is JsonObject {
  return v instanceof Map;
}

/** True for a JSON number. */
export function isJsonNumber(v: JsonValue | undefined): v is JsonNumber {
  return v instanceof JsonNumber;
}

const NUMBER_RE = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const MAX_DEPTH = 512;

/** Parses strict JSON (RFC 8259). Never throws: a syntax error comes back as a message. */
export function parseJson(text: string): JsonParseResult {
  let pos = 0;
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at offset ${pos}`);
  };
  const ws = () => {
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
      else break;
    }
  };
  const str = (): string => {
    pos++; // opening quote
    let out = "";
    let start = pos;
    for (;;) {
      if (pos >= text.length) fail("Unterminated string");
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        out += text.slice(start, pos);
        pos++;
        return out;
      }
      if (c < 0x20) fail("Unescaped control character in string");
      if (c !== 0x5c) {
        pos++;
        continue;
      }
      out += text.slice(start, pos);
      const e = text[pos + 1];
      pos += 2;
      switch (e) {
        case '"':
          out += '"';
          break;
        case "\\":
          out += "\\";
          break;
        case "/":
          out += "/";
          break;
        case "b":
          out += "\b";
          break;
        case "f":
          out += "\f";
          break;
        case "n":
          out += "\n";
          break;
        case "r":
          out += "\r";
          break;
        case "t":
          out += "\t";
          break;
        case "u": {
          const hex = text.slice(pos, pos + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail("Invalid \\u escape");
          out += String.fromCharCode(parseInt(hex, 16));
          pos += 4;
          break;
        }
        default:
          pos -= 2;
          fail("Invalid escape");
      }
      start = pos;
    }
  };
  const value = (depth: number): JsonValue => {
    if (depth > MAX_DEPTH) fail("JSON nested too deeply");
    ws();
    const c = text[pos];
    if (c === "{") {
      pos++;
      const obj: JsonObject = new Map();
      ws();
      if (text[pos] === "}") {
        pos++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[pos] !== '"') fail("Expected a string key");
        const key = str();
        ws();
        if (text[pos] !== ":") fail("Expected ':'");
        pos++;
        obj.set(key, value(depth + 1));
        ws();
        if (text[pos] === ",") {
          pos++;
          continue;
        }
        if (text[pos] === "}") {
          pos++;
          return obj;
        }
        fail("Expected ',' or '}'");
      }
    }
    if (c === "[") {
      pos++;
      const arr: JsonValue[] = [];
      ws();
      if (text[pos] === "]") {
        pos++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[pos] === ",") {
          pos++;
          continue;
        }
        if (text[pos] === "]") {
          pos++;
          return arr;
        }
        fail("Expected ',' or ']'");
      }
    }
    if (c === '"') return str();
    if (text.startsWith("true", pos)) {
      pos += 4;
      return true;
    }
    if (text.startsWith("false", pos)) {
      pos += 5;
      return false;
    }
    if (text.startsWith("null", pos)) {
      pos += 4;
      return null;
    }
    NUMBER_RE.lastIndex = pos;
    const m = NUMBER_RE.exec(text);
    if (m && m[0].length > 0) {
      pos += m[0].length;
      return new JsonNumber(m[0]);
    }
    return fail(pos >= text.length ? "Unexpected end of input" : `Unexpected character '${text[pos]}'`);
  };
  try {
    const v = value(0);
    ws();
    if (pos < text.length) fail("Unexpected trailing content");
    return { ok: true, value: v };
  } catch (e) {
    if (e instanceof SyntaxError) return { ok: false, message: `Invalid JSON: ${e.message}` };
    throw e;
  }
}

/** How numbers are printed: `avro` = Jackson with doubles, `decimal` = Jackson with exact BigDecimals. */
export type NumberStyle = "avro" | "decimal";

/** Compact JSON text as Jackson writes it (keys in map order, non-ASCII left as is). */
export function stringifyJson(v: JsonValue, style: NumberStyle): string {
  if (v === null) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "string") return quote(v);
  if (v instanceof JsonNumber) return formatNumber(v, style);
  if (Array.isArray(v)) return `[${v.map((x) => stringifyJson(x, style)).join(",")}]`;
  const parts: string[] = [];
  for (const [k, x] of v) parts.push(`${quote(k)}:${stringifyJson(x, style)}`);
  return `{${parts.join(",")}}`;
}

/** A JSON string literal, escaped as Jackson escapes it. */
export function quote(s: string): string {
  return JSON.stringify(s);
}

/** Deep copy with every object's keys sorted (Java `TreeMap` order: UTF-16 code units). */
export function sortKeys(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!(v instanceof Map)) return v;
  const out: JsonObject = new Map();
  for (const k of [...v.keys()].sort()) out.set(k, sortKeys(v.get(k)!));
  return out;
}

/** Structural equality (numbers compared by value, objects regardless of key order). */
export function jsonEquals(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (a instanceof JsonNumber && b instanceof JsonNumber) return a.value === b.value;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => jsonEquals(x, b[i]));
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, x] of a) if (!b.has(k) || !jsonEquals(x, b.get(k))) return false;
    return true;
  }
  return false;
}

function formatNumber(n: JsonNumber, style: NumberStyle): string {
  const raw = n.raw;
  // Avro turns a textual "NaN"/"Infinity" default of a float field into a double; Jackson quotes it.
  if (!Number.isFinite(n.value)) return quote(raw);
  if (n.integral) return integerText(raw);
  return style === "decimal" ? bigDecimalText(raw) : javaDoubleText(n.value);
}

/** Jackson reads an integer into an int, long or BigInteger node: digits without "-0" or leading zeros. */
function integerText(raw: string): string {
  const neg = raw.startsWith("-");
  const digits = (neg ? raw.slice(1) : raw).replace(/^0+(?=\d)/, "");
  return neg && digits !== "0" ? `-${digits}` : digits;
}

/** Java's `BigDecimal.toString()` for a decimal literal. */
function bigDecimalText(raw: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(raw);
  if (!m) return raw;
  const frac = m[3] ?? "";
  let coeff = (m[2]! + frac).replace(/^0+(?=\d)/, "");
  const scale = frac.length - Number(m[4] ?? "0");
  const sign = m[1] && /[1-9]/.test(coeff) ? "-" : "";
  if (coeff === "") coeff = "0";
  if (scale === 0) return sign + coeff;
  const adjusted = -scale + (coeff.length - 1);
  if (scale > 0 && adjusted >= -6) {
    const pad = scale - coeff.length;
    if (pad >= 0) return `${sign}0.${"0".repeat(pad)}${coeff}`;
    return `${sign}${coeff.slice(0, coeff.length - scale)}.${coeff.slice(coeff.length - scale)}`;
  }
  const mantissa = coeff.length > 1 ? `${coeff[0]}.${coeff.slice(1)}` : coeff;
  return `${sign}${mantissa}E${adjusted >= 0 ? "+" : ""}${adjusted}`;
}

/** Java's `Double.toString(d)` (shortest digits, plain in [1e-3, 1e7), else computerized notation). */
export function javaDoubleText(d: number): string {
  if (Number.isNaN(d)) return "NaN";
  if (!Number.isFinite(d)) return d > 0 ? "Infinity" : "-Infinity";
  if (d === 0) return Object.is(d, -0) ? "-0.0" : "0.0";
  const sign = d < 0 ? "-" : "";
  const [mant, expText] = Math.abs(d).toExponential().split("e");
  const digits = mant!.replace(".", "");
  const exp = Number(expText);
  const abs = Math.abs(d);
  if (abs >= 1e-3 && abs < 1e7) {
    if (exp >= 0) {
      const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
      const fracPart = digits.slice(exp + 1) || "0";
      return `${sign}${intPart}.${fracPart}`;
    }
    return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  }
  return `${sign}${digits[0]}.${digits.slice(1) || "0"}E${exp}`;
}
