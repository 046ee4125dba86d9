/**
 * JSON Schema validation of JSON values, over the parsed model of `../json_schema.ts` (the one the
 * compatibility checker walks, with `$ref`s already resolved inside the document and across
 * references), and the JSON Schema serializer's payload: the value as compact UTF-8 JSON.
 *
 * Covered: `type` (an integral number is an integer), `enum`, `const`, string `minLength`,
 * `maxLength` (in code points), `pattern` (unanchored, Unicode) and common `format`s (date-time,
 * date, time, email, hostname, ipv4, ipv6, uri, uuid); number `minimum`, `maximum`, both
 * `exclusive*` forms, `multipleOf`; object `properties`, `required`, `additionalProperties`,
 * `patternProperties`, `propertyNames`, `minProperties`, `maxProperties`, `dependencies`,
 * `dependentRequired`, `dependentSchemas`; array `items` (list and tuple forms), `prefixItems`,
 * `additionalItems`, `minItems`, `maxItems`, `uniqueItems`, `contains`, `minContains`,
 * `maxContains`; `allOf`, `anyOf`, `oneOf`, `not`, `if`/`then`/`else`, `$ref`. Not covered:
 * `unevaluatedProperties`, `unevaluatedItems`, `$dynamicRef`, anchors, and formats not listed.
 *
 * Messages follow the everit validator Confluent uses: a JSON pointer, then the violation
 * (`#/age: expected type: Integer, found: String`, `#: required key [name] not found`).
 *
 * @module
 */

import type { JsonNumberSchema, JsonSchemaNode } from "../json_schema.ts";
import { isJsonNumber, isJsonObject, type JsonValue } from "../json_text.ts";
import type { SerdeResult } from "./avro.ts";
import { isRecord, parseJsonValue, stringifyJsonValue } from "./json_value.ts";

const MAX_DEPTH = 1000;
const MAX_MESSAGES = 10;

class SchemaLoopError extends RangeError {}

function pointer(path: string, key: string | number): string {
  return `${path}/${String(key).replaceAll("~", "~0").replaceAll("/", "~1")}`;
}

/** everit's name of a value's type (Java classes). */
function typeName(v: unknown): string {
  if (v === null) return "Null";
  if (typeof v === "boolean") return "Boolean";
  if (typeof v === "string") return "String";
  if (typeof v === "bigint") return "BigInteger";
  if (typeof v === "number") return Number.isInteger(v) ? "Integer" : "BigDecimal";
  if (Array.isArray(v)) return "JSONArray";
  return "JSONObject";
}

function brief(v: unknown): string {
  const text = stringifyJsonValue(v);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

function isNumber(v: unknown): v is number | bigint {
  return (typeof v === "number" && Number.isFinite(v)) || typeof v === "bigint";
}

function isIntegral(v: number | bigint): boolean {
  return typeof v === "bigint" || Number.isInteger(v);
}

/** Compares a value with a schema bound: negative, zero or positive. */
function compare(v: number | bigint, bound: JsonValue): number {
  if (!isJsonNumber(bound)) return 0;
  if (typeof v === "bigint" && bound.integral) {
    const b = BigInt(bound.raw);
    return v < b ? -1 : v > b ? 1 : 0;
  }
  const n = Number(v);
  return n < bound.value ? -1 : n > bound.value ? 1 : 0;
}

function isMultiple(v: number | bigint, m: JsonValue): boolean {
  if (!isJsonNumber(m)) return true;
  if (typeof v === "bigint" && m.integral) return v % BigInt(m.raw) === 0n;
  const q = Number(v) / m.value;
  return Number.isFinite(q) && Math.abs(q - Math.round(q)) < 1e-9 * Math.max(1, Math.abs(q));
}

/** Equality of a value with a schema's JSON (enum, const); numbers compare by value. */
function equalsJson(v: unknown, j: JsonValue): boolean {
  if (j === null || typeof j === "boolean" || typeof j === "string") return v === j;
  if (isJsonNumber(j)) {
    if (!isNumber(v)) return false;
    return compare(v, j) === 0;
  }
  if (Array.isArray(j)) return Array.isArray(v) && v.length === j.length && j.every((x, i) => equalsJson(v[i], x));
  if (!isJsonObject(j) || !isRecord(v)) return false;
  const keys = Object.keys(v);
  return keys.length === j.size && keys.every((k) => j.has(k) && equalsJson(v[k], j.get(k)!));
}

function jsonText(j: JsonValue): string {
  if (j === null || typeof j === "boolean" || typeof j === "string") return JSON.stringify(j);
  if (isJsonNumber(j)) return j.raw;
  if (Array.isArray(j)) return `[${j.map(jsonText).join(",")}]`;
  return `{${[...(j as Map<string, JsonValue>)].map(([k, x]) => `${JSON.stringify(k)}:${jsonText(x)}`).join(",")}}`;
}

/** A key for uniqueItems: the value's JSON with sorted keys. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (isRecord(v)) {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(",")}}`;
  }
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  return JSON.stringify(v) ?? "null";
}

/** A calendar date (`YYYY-MM-DD`) that exists. */
function isDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const days = [31, y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  return mo >= 1 && mo <= 12 && d >= 1 && d <= days[mo - 1]!;
}

/** A time of day (`HH:MM:SS[.frac]`, offset optional unless asked for); a leap second is allowed. */
function isTime(s: string, needsOffset: boolean): boolean {
  const m = /^(\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))?$/.exec(s);
  if (!m || (needsOffset && m[5] === undefined)) return false;
  const ok = Number(m[1]) <= 23 && Number(m[2]) <= 59 && Number(m[3]) <= 60;
  return ok && (m[6] === undefined || (Number(m[6]) <= 23 && Number(m[7]) <= 59));
}

const FORMATS: Record<string, (s: string) => boolean> = {
  "date-time": (s) => {
    const t = s.search(/[Tt ]/);
    return t === 10 && isDate(s.slice(0, 10)) && isTime(s.slice(11), true);
  },
  date: isDate,
  time: (s) => isTime(s, false),
  email: (s) => /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(s),
  hostname: (s) =>
    s.length <= 253 && s.split(".").every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l)),
  ipv4: (s) => /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(s),
  ipv6: (s) => {
    if (!/^[0-9A-Fa-f:.]+$/.test(s) || s.split("::").length > 2) return false;
    try {
      return new URL(`http://[${s}]/`).hostname.length > 0;
    } catch {
      return false;
    }
  },
  uri: (s) => /^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$/.test(s),
  uuid: (s) => /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/.test(s),
};

const regexCache = new Map<string, RegExp>();
function regex(pattern: string): RegExp {
  let re = regexCache.get(pattern);
  if (re === undefined) {
    re = new RegExp(pattern, "u");
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return re;
}

function matches(node: JsonSchemaNode, v: unknown, path: string, depth: number): boolean {
  const errors: string[] = [];
  check(node, v, path, errors, depth);
  return errors.length === 0;
}

function checkNumber(node: JsonNumberSchema, v: number | bigint, path: string, errors: string[]): void {
  if (node.requiresInteger && !isIntegral(v)) {
    errors.push(`${path}: expected type: Integer, found: ${typeName(v)}`);
    return;
  }
  if (node.minimum !== undefined && compare(v, node.minimum) < 0) {
    errors.push(`${path}: ${String(v)} is not greater or equal to ${node.minimum.raw}`);
  }
  if (node.maximum !== undefined && compare(v, node.maximum) > 0) {
    errors.push(`${path}: ${String(v)} is not less or equal to ${node.maximum.raw}`);
  }
  if (node.exclusiveMinimum !== undefined && compare(v, node.exclusiveMinimum) <= 0) {
    errors.push(`${path}: ${String(v)} is not greater than ${node.exclusiveMinimum.raw}`);
  }
  if (node.exclusiveMaximum !== undefined && compare(v, node.exclusiveMaximum) >= 0) {
    errors.push(`${path}: ${String(v)} is not less than ${node.exclusiveMaximum.raw}`);
  }
  if (node.multipleOf !== undefined && !isMultiple(v, node.multipleOf)) {
    errors.push(`${path}: ${String(v)} is not a multiple of ${node.multipleOf.raw}`);
  }
}

function check(node: JsonSchemaNode, v: unknown, path: string, errors: string[], depth: number): void {
  if (depth > MAX_DEPTH) {
    throw new SchemaLoopError(`${path}: the value or the schema nests deeper than ${MAX_DEPTH} levels`);
  }
  switch (node.kind) {
    case "empty":
    case "conditional":
      break;
    case "false":
      errors.push(`${path}: false schema does not allow ${brief(v)}`);
      break;
    case "boolean":
      if (typeof v !== "boolean") errors.push(`${path}: expected type: Boolean, found: ${typeName(v)}`);
      break;
    case "null":
      if (v !== null) errors.push(`${path}: expected type: Null, found: ${typeName(v)}`);
      break;
    case "string": {
      if (typeof v !== "string") {
        if (node.requiresType) errors.push(`${path}: expected type: String, found: ${typeName(v)}`);
        break;
      }
      let length = -1;
      const codePoints = () => (length >= 0 ? length : (length = [...v].length));
      if (node.minLength !== undefined && codePoints() < node.minLength) {
        errors.push(`${path}: expected minLength: ${node.minLength}, actual: ${codePoints()}`);
      }
      if (node.maxLength !== undefined && codePoints() > node.maxLength) {
        errors.push(`${path}: expected maxLength: ${node.maxLength}, actual: ${codePoints()}`);
      }
      if (node.pattern !== undefined && !regex(node.pattern).test(v)) {
        errors.push(`${path}: string [${v}] does not match pattern ${node.pattern}`);
      }
      const format = node.format === undefined ? undefined : FORMATS[node.format];
      if (format !== undefined && !format(v)) errors.push(`${path}: [${v}] is not a valid ${node.format}`);
      break;
    }
    case "number":
      if (!isNumber(v)) {
        if (node.requiresType) {
          errors.push(`${path}: expected type: ${node.requiresInteger ? "Integer" : "Number"}, found: ${typeName(v)}`);
        }
        break;
      }
      checkNumber(node, v, path, errors);
      break;
    case "object": {
      if (!isRecord(v)) {
        if (node.requiresType) errors.push(`${path}: expected type: JSONObject, found: ${typeName(v)}`);
        break;
      }
      const keys = Object.keys(v);
      for (const name of node.required) {
        if (!Object.hasOwn(v, name)) errors.push(`${path}: required key [${name}] not found`);
      }
      for (const k of keys) {
        const at = pointer(path, k);
        const property = node.properties.get(k);
        if (property !== undefined) check(property, v[k], at, errors, depth + 1);
        let matched = property !== undefined;
        for (const [re, s] of node.patternProperties) {
          if (re.test(k)) {
            matched = true;
            check(s, v[k], at, errors, depth + 1);
          }
        }
        if (!matched) {
          if (!node.permitsAdditionalProperties) errors.push(`${path}: extraneous key [${k}] is not permitted`);
          else if (node.additionalProperties !== undefined) {
            check(node.additionalProperties, v[k], at, errors, depth + 1);
          }
        }
        if (node.propertyNames !== undefined && !matches(node.propertyNames, k, at, depth + 1)) {
          errors.push(`${path}: property name [${k}] is not valid`);
        }
      }
      if (node.minProperties !== undefined && keys.length < node.minProperties) {
        errors.push(`${path}: minimum size: [${node.minProperties}], found: [${keys.length}]`);
      }
      if (node.maxProperties !== undefined && keys.length > node.maxProperties) {
        errors.push(`${path}: maximum size: [${node.maxProperties}], found: [${keys.length}]`);
      }
      for (const [k, needs] of node.propertyDependencies) {
        if (!Object.hasOwn(v, k)) continue;
        for (const n of needs) if (!Object.hasOwn(v, n)) errors.push(`${path}: property [${n}] is required`);
      }
      for (const [k, s] of node.schemaDependencies) {
        if (Object.hasOwn(v, k)) check(s, v, path, errors, depth + 1);
      }
      break;
    }
    case "array": {
      if (!Array.isArray(v)) {
        if (node.requiresType) errors.push(`${path}: expected type: JSONArray, found: ${typeName(v)}`);
        break;
      }
      if (node.minItems !== undefined && v.length < node.minItems) {
        errors.push(`${path}: expected minimum item count: ${node.minItems}, found: ${v.length}`);
      }
      if (node.maxItems !== undefined && v.length > node.maxItems) {
        errors.push(`${path}: expected maximum item count: ${node.maxItems}, found: ${v.length}`);
      }
      if (node.allItems !== undefined) {
        for (let i = 0; i < v.length; i++) check(node.allItems, v[i], pointer(path, i), errors, depth + 1);
      }
      if (node.itemSchemas !== undefined) {
        const tuple = node.itemSchemas;
        for (let i = 0; i < Math.min(tuple.length, v.length); i++) {
          check(tuple[i]!, v[i], pointer(path, i), errors, depth + 1);
        }
        if (v.length > tuple.length) {
          if (!node.permitsAdditionalItems) {
            errors.push(`${path}: expected: [${tuple.length}] array items, found: [${v.length}]`);
          } else if (node.additionalItems !== undefined) {
            for (let i = tuple.length; i < v.length; i++) {
              check(node.additionalItems, v[i], pointer(path, i), errors, depth + 1);
            }
          }
        }
      } else if (node.allItems === undefined && !node.permitsAdditionalItems && v.length > 0) {
        errors.push(`${path}: expected: [0] array items, found: [${v.length}]`);
      }
      if (node.uniqueItems) {
        const seen = new Set<string>();
        for (const x of v) {
          const key = canonical(x);
          if (seen.has(key)) {
            errors.push(`${path}: array items are not unique`);
            break;
          }
          seen.add(key);
        }
      }
      if (node.contains !== undefined) {
        const count = v.filter((x, i) => matches(node.contains!, x, pointer(path, i), depth + 1)).length;
        const min = node.minContains ?? 1;
        if (count < min) errors.push(`${path}: expected at least ${min} array item(s) to match the contains schema`);
        if (node.maxContains !== undefined && count > node.maxContains) {
          errors.push(`${path}: expected at most ${node.maxContains} array item(s) to match the contains schema`);
        }
      }
      break;
    }
    case "enum":
      if (!node.values.some((e) => equalsJson(v, e))) errors.push(`${path}: ${brief(v)} is not a valid enum value`);
      break;
    case "const":
      if (!equalsJson(v, node.value)) {
        errors.push(`${path}: ${brief(v)} does not match the const ${jsonText(node.value)}`);
      }
      break;
    case "not":
      if (matches(node.mustNotMatch, v, path, depth + 1)) {
        errors.push(`${path}: subject must not be valid against the "not" schema`);
      }
      break;
    case "ref":
      if (node.target !== undefined) check(node.target, v, path, errors, depth + 1);
      break;
    case "combined": {
      const results = node.subschemas.map((s) => {
        const sub: string[] = [];
        check(s, v, path, sub, depth + 1);
        return sub;
      });
      const passed = results.filter((r) => r.length === 0).length;
      const causes = () => results.flat().slice(0, 3).join("; ");
      if (node.criterion === "allOf") {
        for (const r of results) errors.push(...r);
      } else if (node.criterion === "anyOf" && passed === 0) {
        errors.push(`${path}: no subschema matched out of the total ${results.length} subschemas (${causes()})`);
      } else if (node.criterion === "oneOf" && passed === 0) {
        errors.push(`${path}: no subschema matched out of the total ${results.length} subschemas (${causes()})`);
      } else if (node.criterion === "oneOf" && passed > 1) {
        errors.push(`${path}: ${passed} subschemas matched instead of one`);
      }
      break;
    }
  }
  const cond = node.ifThenElse;
  if (cond !== undefined) {
    const branch = matches(cond.if, v, path, depth + 1) ? cond.then : cond.else;
    if (branch !== undefined) check(branch, v, path, errors, depth + 1);
  }
}

/**
 * Validates a JSON value against a parsed JSON Schema.
 * @param root the schema (`JsonSchemaParsed.root`)
 * @param value the JSON value (bigints allowed for integers)
 * @returns ok, or the violations (everit's wording; several are joined after a count)
 * @example
 * validateJsonSchema(root, { age: "x" }) // { ok: false, message: "#/age: expected type: Integer, found: String" }
 */
export function validateJsonSchema(root: JsonSchemaNode, value: unknown): SerdeResult<undefined> {
  const errors: string[] = [];
  try {
    check(root, value, "#", errors, 0);
  } catch (e) {
    if (e instanceof SchemaLoopError) return { ok: false, message: e.message };
    throw e;
  }
  if (errors.length === 0) return { ok: true, value: undefined };
  if (errors.length === 1) return { ok: false, message: errors[0]! };
  const shown = errors.slice(0, MAX_MESSAGES);
  const more = errors.length > shown.length ? `; and ${errors.length - shown.length} more` : "";
  return { ok: false, message: `#: ${errors.length} schema violations found: ${shown.join("; ")}${more}` };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * The JSON Schema serializer's payload: validates, then writes compact UTF-8 JSON.
 * @param root the schema
 * @param value the JSON value
 * @returns the UTF-8 JSON bytes, or the violations
 */
export function encodeJsonSchema(root: JsonSchemaNode, value: unknown): SerdeResult<Uint8Array> {
  const valid = validateJsonSchema(root, value);
  if (!valid.ok) return valid;
  return { ok: true, value: encoder.encode(stringifyJsonValue(value)) };
}

/**
 * Reads a JSON Schema payload: UTF-8 JSON text (integers beyond 2^53 as bigints). The value is not
 * validated, as Confluent's deserializer does not by default.
 * @param bytes the payload after the framing
 * @returns the JSON value, or why it is not JSON
 */
export function decodeJsonSchema(bytes: Uint8Array): SerdeResult<unknown> {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return { ok: false, message: "The payload is not UTF-8" };
  }
  const r = parseJsonValue(text);
  return r.ok ? r : { ok: false, message: `The payload is not JSON: ${r.message}` };
}
