/**
 * Protobuf binary encoding of JSON values, and back, over the parsed schema model of
 * `../protobuf.ts` (Wire's element tree plus the resolved type table).
 *
 * The JSON side is protobuf's canonical JSON mapping as Confluent's REST Proxy uses it
 * (`ProtobufSchemaUtils.toObject` runs `JsonFormat.parser()`, `toJson` runs
 * `JsonFormat.printer().includingDefaultValueFields().omittingInsignificantWhitespace()`):
 * - input fields by JSON name (`lowerCamelCase` or `json_name`) or by their `.proto` name; an
 *   unknown field, a field given twice or two members of one oneof are errors; `null` leaves a
 *   field unset (except `google.protobuf.Value`, where it is the null value);
 * - 64-bit integers as strings or numbers (output: strings); 32-bit ones as numbers (or numeric
 *   strings); `float`/`double` also as `"NaN"`, `"Infinity"`, `"-Infinity"`; `bool` as a boolean
 *   (or `"true"`/`"false"`); `bytes` as base64 (standard or URL-safe, padding optional; output:
 *   standard with padding); enums by name or number (output: the name, or the number when the
 *   value has no name); maps as objects; repeated fields as arrays;
 * - well-known types: `Timestamp` as RFC 3339 (`"2024-01-01T00:00:00.500Z"`), `Duration` as
 *   `"1.5s"`, wrappers as their value, `Struct`/`Value`/`ListValue` as any JSON, `FieldMask` as
 *   `"a.b,cD"`, `Empty` as `{}`, `Any` as `{"@type": "type.googleapis.com/pkg.Msg", …fields}` for
 *   a message type the schema knows;
 * - output prints every field without presence with its default (0, "", false, [], {}, the first
 *   enum value), leaves out unset message fields and unset oneof (and proto3 `optional`) members,
 *   and orders fields by number.
 *
 * Encoding writes fields in number order, proto3 repeated scalars packed (proto2 when
 * `[packed = true]`), map entries with both key and value, and leaves out proto3 fields without
 * presence that hold their default. Decoding merges repeated occurrences of a message field, takes
 * the last of a scalar, reads packed and unpacked repeated scalars alike, and skips unknown fields
 * (extensions and groups included).
 *
 * @module
 */

import {
  mapTypes,
  parseProtobuf,
  type ProtobufParsed,
  type ProtoField,
  type ProtoMessage,
  SCALAR_TYPES,
} from "../protobuf.ts";
import type { ProtoTypes } from "../protobuf.ts";
import type { SerdeResult } from "./avro.ts";
import {
  base64Decode,
  base64Encode,
  ByteReader,
  ByteWriter,
  int64FromHalves,
  latin1Bytes,
  SerdeDecodeError,
  shortestFloat32,
  toInt64Halves,
  uint64FromHalves,
} from "./bytes.ts";
import { childPath, describeValue, isRecord, setOwn } from "./json_value.ts";
import { WELL_KNOWN_DEFINITIONS } from "./protobuf_wkt.ts";

type ScalarType =
  | "double"
  | "float"
  | "int32"
  | "int64"
  | "uint32"
  | "uint64"
  | "sint32"
  | "sint64"
  | "fixed32"
  | "fixed64"
  | "sfixed32"
  | "sfixed64"
  | "bool"
  | "string"
  | "bytes";

const LONG_TYPES = new Set<string>(["int64", "uint64", "sint64", "fixed64", "sfixed64"]);

interface PbEnum {
  kind: "enum";
  fullName: string;
  byName: Map<string, number>;
  byNumber: Map<number, string>;
  /** proto2 enums are closed: an unknown number is not a value. */
  closed: boolean;
  defaultNumber: number;
}

interface PbField {
  name: string;
  jsonName: string;
  number: number;
  type: ScalarType | "message" | "enum";
  /** Full name of the message or enum type. */
  typeName: string;
  repeated: boolean;
  packed: boolean;
  map: { key: PbField; value: PbField } | undefined;
  /** Name of the (real) oneof holding the field. */
  oneof: string | undefined;
  /** Explicit presence: written even when it holds the default. */
  presence: boolean;
  /** proto2 `required`: the message does not build without it. */
  required: boolean;
  /** `includingDefaultValueFields` prints the field when unset. */
  printDefault: boolean;
  defaultValue: string | undefined;
}

interface PbMessage {
  kind: "message";
  fullName: string;
  fields: PbField[];
  byNumber: Map<number, PbField>;
  /** JSON names and `.proto` names. */
  byJsonKey: Map<string, PbField>;
}

/** A message value: field number → value (scalars, nested messages, arrays, maps). */
type PbValue = Map<number, unknown>;

class PbDataError extends TypeError {
  override name = "PbDataError";
}

function fail(message: string): never {
  throw new PbDataError(message);
}

/** protoc's `ToJsonName`: drop underscores, capitalize the letter after each. */
export function protoJsonName(name: string): string {
  let out = "";
  let upper = false;
  for (const c of name) {
    if (c === "_") upper = true;
    else if (upper) {
      out += c.toUpperCase();
      upper = false;
    } else out += c;
  }
  return out;
}

let builtins: ProtoTypes | undefined;

/** The well-known definitions as one type table (parsed once). */
function builtinTypes(): ProtoTypes {
  if (builtins !== undefined) return builtins;
  const text = `syntax = "proto3";\n${[...WELL_KNOWN_DEFINITIONS.keys()].map((p) => `import "${p}";`).join("\n")}`;
  const parsed = parseProtobuf(text, { lookup: (p) => WELL_KNOWN_DEFINITIONS.get(p) });
  if (!parsed.ok) throw new Error(`Built-in well-known protobuf definitions do not parse: ${parsed.message}`);
  builtins = parsed.value.types;
  return builtins;
}

function option(f: ProtoField, name: string): string | undefined {
  const o = f.options.find((x) => x.name === name && !x.parenthesized);
  return typeof o?.value === "string" ? o.value : undefined;
}

/** The descriptors of one schema's messages and enums, compiled on first use. */
class Codec {
  readonly #types: ProtoTypes;
  readonly #messages = new Map<string, PbMessage>();
  readonly #enums = new Map<string, PbEnum>();

  constructor(types: ProtoTypes) {
    this.#types = types;
  }

  /** The table that defines a type (the schema's, else the built-in well-known one). */
  #definition(fullName: string) {
    const own = this.#types.types.get(fullName);
    if (own?.element !== undefined) return { table: this.#types, info: own };
    const builtin = builtinTypes().types.get(fullName);
    if (builtin?.element !== undefined) return { table: builtinTypes(), info: builtin };
    return undefined;
  }

  message(fullName: string): PbMessage | undefined {
    const cached = this.#messages.get(fullName);
    if (cached !== undefined) return cached;
    const def = this.#definition(fullName);
    if (def === undefined || def.info.element?.kind !== "message") return undefined;
    const element = def.info.element;
    const file = def.table.files.get(def.info.file);
    const syntax = file?.edition !== undefined ? "editions" : file?.syntax ?? "proto2";
    const msg: PbMessage = { kind: "message", fullName, fields: [], byNumber: new Map(), byJsonKey: new Map() };
    this.#messages.set(fullName, msg); // before the fields: a message may contain itself
    const scope = fullName.split(".");
    const add = (f: ProtoField, oneof: string | undefined) => {
      const field = this.#field(f, oneof, syntax, def.table, scope, fullName);
      msg.fields.push(field);
      msg.byNumber.set(field.number, field);
      msg.byJsonKey.set(field.jsonName, field);
      msg.byJsonKey.set(field.name, field);
    };
    for (const f of element.fields) add(f, undefined);
    for (const o of element.oneOfs) for (const f of o.fields) add(f, o.name);
    msg.fields.sort((a, b) => a.number - b.number);
    return msg;
  }

  enum(fullName: string): PbEnum | undefined {
    const cached = this.#enums.get(fullName);
    if (cached !== undefined) return cached;
    const def = this.#definition(fullName);
    if (def === undefined || def.info.element?.kind !== "enum") return undefined;
    const file = def.table.files.get(def.info.file);
    const e: PbEnum = {
      kind: "enum",
      fullName,
      byName: new Map(),
      byNumber: new Map(),
      closed: file?.edition === undefined && file?.syntax !== "proto3",
      defaultNumber: def.info.element.constants[0]?.tag ?? 0,
    };
    for (const c of def.info.element.constants) {
      e.byName.set(c.name, c.tag);
      if (!e.byNumber.has(c.tag)) e.byNumber.set(c.tag, c.name);
    }
    this.#enums.set(fullName, e);
    return e;
  }

  #resolve(type: string, table: ProtoTypes, scope: string[], where: string): [PbField["type"], string] {
    if (SCALAR_TYPES.has(type)) return [type as ScalarType, ""];
    const full = table.resolveName(type, scope);
    const info = full === undefined ? undefined : table.types.get(full) ?? builtinTypes().types.get(full);
    if (full === undefined || info === undefined) fail(`Cannot resolve type ${type} in ${where}`);
    return [info.kind, full];
  }

  #field(
    f: ProtoField,
    oneof: string | undefined,
    syntax: "proto2" | "proto3" | "editions",
    table: ProtoTypes,
    scope: string[],
    where: string,
  ): PbField {
    const base = {
      name: f.name,
      jsonName: f.jsonName ?? protoJsonName(f.name),
      number: f.tag,
      oneof,
      defaultValue: f.defaultValue,
    };
    const kv = mapTypes(f.type);
    if (kv !== undefined) {
      const [keyType] = this.#resolve(kv[0], table, scope, where);
      const [valueType, valueName] = this.#resolve(kv[1], table, scope, where);
      return this.#mapField(base, keyType, valueType, valueName);
    }
    const [type, typeName] = this.#resolve(f.type, table, scope, where);
    const repeated = f.label === "repeated";
    if (repeated && type === "message") {
      // A descriptor-converted schema keeps map fields as repeated synthetic entry messages.
      const info = table.types.get(typeName);
      const entry = info?.isMap && info.element?.kind === "message" ? info.element : undefined;
      if (entry !== undefined) return this.#mapEntryField(base, entry, table, typeName);
    }
    const packedOption = option(f, "packed");
    const packable = repeated && type !== "message" && type !== "string" && type !== "bytes";
    const packed = packable && (packedOption !== undefined ? packedOption === "true" : syntax !== "proto2");
    const presence = !repeated && (type === "message" || oneof !== undefined || syntax !== "proto3" ||
      f.label === "optional");
    const printDefault = repeated ||
      (type !== "message" && oneof === undefined && !(syntax === "proto3" && f.label === "optional"));
    const required = f.label === "required";
    return { ...base, type, typeName, repeated, packed, map: undefined, presence, required, printDefault };
  }

  #mapField(
    base: Pick<PbField, "name" | "jsonName" | "number" | "oneof" | "defaultValue">,
    keyType: PbField["type"],
    valueType: PbField["type"],
    valueName: string,
  ): PbField {
    const part = (name: string, number: number, type: PbField["type"], typeName: string): PbField => ({
      name,
      jsonName: name,
      number,
      type,
      typeName,
      repeated: false,
      packed: false,
      map: undefined,
      oneof: undefined,
      presence: false,
      required: false,
      printDefault: true,
      defaultValue: undefined,
    });
    return {
      ...base,
      type: "message",
      typeName: "",
      repeated: true,
      packed: false,
      map: { key: part("key", 1, keyType, ""), value: part("value", 2, valueType, valueName) },
      presence: false,
      required: false,
      printDefault: true,
    };
  }

  #mapEntryField(
    base: Pick<PbField, "name" | "jsonName" | "number" | "oneof" | "defaultValue">,
    entry: ProtoMessage,
    table: ProtoTypes,
    entryName: string,
  ): PbField {
    const scope = entryName.split(".");
    const key = entry.fields.find((f) => f.tag === 1);
    const value = entry.fields.find((f) => f.tag === 2);
    if (key === undefined || value === undefined) fail(`Map entry ${entryName} needs fields 1 and 2`);
    const [keyType] = this.#resolve(key.type, table, scope, entryName);
    const [valueType, valueName] = this.#resolve(value.type, table, scope, entryName);
    return this.#mapField(base, keyType, valueType, valueName);
  }
}

const codecs = new WeakMap<ProtobufParsed, Codec>();

function codecOf(schema: ProtobufParsed): Codec {
  let c = codecs.get(schema);
  if (c === undefined) {
    c = new Codec(schema.types);
    codecs.set(schema, c);
  }
  return c;
}

function messageOrFail(codec: Codec, name: string): PbMessage {
  const m = codec.message(name);
  if (m === undefined) fail(`Message type ${name} is not defined or not supported`);
  return m;
}

function enumOrFail(codec: Codec, name: string): PbEnum {
  const e = codec.enum(name);
  if (e === undefined) fail(`Enum type ${name} is not defined`);
  return e;
}

// ---- JSON → message value ----

const MAX_DEPTH = 1000;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const UINT32_MAX = 2 ** 32 - 1;
const NUMERIC = /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function integralOf(v: unknown): bigint | undefined {
  if (typeof v === "bigint") return v;
  if (typeof v === "number") return Number.isInteger(v) ? BigInt(v) : undefined;
  if (typeof v !== "string") return undefined;
  if (/^-?\d+$/.test(v)) return BigInt(v);
  if (!NUMERIC.test(v)) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) ? BigInt(n) : undefined;
}

function scalarFromJson(type: ScalarType, v: unknown, path: string): unknown {
  switch (type) {
    case "int32":
    case "sint32":
    case "sfixed32":
    case "uint32":
    case "fixed32": {
      const n = integralOf(v);
      const unsigned = type === "uint32" || type === "fixed32";
      if (n === undefined || n < (unsigned ? 0n : BigInt(INT32_MIN)) || n > BigInt(unsigned ? UINT32_MAX : INT32_MAX)) {
        return fail(`${path}: expected ${type}, got ${describeValue(v)}`);
      }
      return Number(n);
    }
    case "int64":
    case "sint64":
    case "sfixed64":
    case "uint64":
    case "fixed64": {
      const n = integralOf(v);
      const unsigned = type === "uint64" || type === "fixed64";
      if (n === undefined || n < (unsigned ? 0n : -(2n ** 63n)) || n > (unsigned ? 2n ** 64n - 1n : 2n ** 63n - 1n)) {
        return fail(`${path}: expected ${type} (a number or a string of digits), got ${describeValue(v)}`);
      }
      return n;
    }
    case "float":
    case "double": {
      let n: number | undefined;
      if (typeof v === "number") n = v;
      else if (typeof v === "bigint") n = Number(v);
      else if (v === "NaN") n = Number.NaN;
      else if (v === "Infinity") n = Number.POSITIVE_INFINITY;
      else if (v === "-Infinity") n = Number.NEGATIVE_INFINITY;
      else if (typeof v === "string" && NUMERIC.test(v)) n = Number(v);
      if (n === undefined || (Number.isFinite(n) && type === "float" && Math.abs(n) > 3.4028235677973366e38)) {
        return fail(`${path}: expected ${type}, got ${describeValue(v)}`);
      }
      return n;
    }
    case "bool":
      if (typeof v === "boolean") return v;
      if (v === "true" || v === "false") return v === "true";
      return fail(`${path}: expected bool, got ${describeValue(v)}`);
    case "string":
      if (typeof v === "string") return v;
      if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") return String(v);
      return fail(`${path}: expected string, got ${describeValue(v)}`);
    case "bytes": {
      const b = typeof v === "string" ? base64Decode(v) : undefined;
      if (b === undefined) return fail(`${path}: expected bytes as base64, got ${describeValue(v)}`);
      return b;
    }
  }
}

function enumFromJson(e: PbEnum, v: unknown, path: string): number {
  if (typeof v === "string") {
    const n = e.byName.get(v);
    if (n !== undefined) return n;
  }
  const n = typeof v === "number" || (typeof v === "string" && /^-?\d+$/.test(v)) ? Number(v) : Number.NaN;
  if (Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX && (!e.closed || e.byNumber.has(n))) return n;
  return fail(`${path}: invalid enum value ${describeValue(v)} for enum type ${e.fullName}`);
}

function mapKeyFromJson(type: PbField["type"], key: string, path: string): unknown {
  switch (type) {
    case "string":
      return key;
    case "bool":
      if (key === "true" || key === "false") return key === "true";
      return fail(`${path}: invalid map key ${JSON.stringify(key)} for a bool key`);
    default:
      if (!/^-?\d+$/.test(key)) return fail(`${path}: invalid map key ${JSON.stringify(key)} for a ${type} key`);
      return scalarFromJson(type as ScalarType, key, path);
  }
}

function isValueType(f: PbField): boolean {
  return f.type === "message" && f.typeName === "google.protobuf.Value";
}

function isNullValueEnum(f: PbField): boolean {
  return f.type === "enum" && f.typeName === "google.protobuf.NullValue";
}

class FromJson {
  readonly codec: Codec;
  constructor(codec: Codec) {
    this.codec = codec;
  }

  value(f: PbField, v: unknown, path: string, depth: number): unknown {
    if (f.type === "message") {
      return this.message(messageOrFail(this.codec, f.typeName), v, path, depth + 1);
    }
    if (f.type === "enum") {
      if (v === null && isNullValueEnum(f)) return 0;
      return enumFromJson(enumOrFail(this.codec, f.typeName), v, path);
    }
    return scalarFromJson(f.type, v, path);
  }

  message(m: PbMessage, v: unknown, path: string, depth: number): PbValue {
    if (depth > MAX_DEPTH) fail(`${path}: nested deeper than ${MAX_DEPTH} levels`);
    const special = this.#wellKnown(m, v, path, depth);
    if (special !== undefined) return special;
    if (!isRecord(v)) return fail(`${path}: expected message ${m.fullName} (an object), got ${describeValue(v)}`);
    const out: PbValue = new Map();
    const oneofs = new Map<string, PbField>();
    for (const key of Object.keys(v)) {
      const f = m.byJsonKey.get(key);
      if (f === undefined) fail(`${path}: cannot find field ${JSON.stringify(key)} in message ${m.fullName}`);
      const at = childPath(path, key);
      if (out.has(f.number)) fail(`${at}: field ${m.fullName}.${f.name} has already been set`);
      const x = v[key];
      if (x === null && !(isValueType(f) && !f.repeated) && !isNullValueEnum(f)) continue;
      if (f.oneof !== undefined) {
        const other = oneofs.get(f.oneof);
        if (other !== undefined) {
          fail(
            `${at}: cannot set field ${m.fullName}.${f.name} because another field ${m.fullName}.${other.name} of oneof ${f.oneof} has already been set`,
          );
        }
        oneofs.set(f.oneof, f);
      }
      out.set(f.number, this.#field(f, x, at, depth));
    }
    for (const f of m.fields) {
      if (f.required && !out.has(f.number)) fail(`${path}: message ${m.fullName} is missing required field ${f.name}`);
    }
    return out;
  }

  #field(f: PbField, x: unknown, at: string, depth: number): unknown {
    if (f.map !== undefined) {
      if (!isRecord(x)) return fail(`${at}: expected a map (an object), got ${describeValue(x)}`);
      const entries = new Map<unknown, unknown>();
      for (const k of Object.keys(x)) {
        const kat = childPath(at, k);
        if (x[k] === null && !isValueType(f.map.value)) fail(`${kat}: a map value cannot be null`);
        entries.set(mapKeyFromJson(f.map.key.type, k, kat), this.value(f.map.value, x[k], kat, depth));
      }
      return entries;
    }
    if (f.repeated) {
      if (!Array.isArray(x)) return fail(`${at}: expected an array, got ${describeValue(x)}`);
      return x.map((e, i) => {
        const iat = childPath(at, i);
        if (e === null && !isValueType(f)) fail(`${iat}: repeated field elements cannot be null`);
        return this.value(f, e, iat, depth);
      });
    }
    return this.value(f, x, at, depth);
  }

  #wellKnown(m: PbMessage, v: unknown, path: string, depth: number): PbValue | undefined {
    switch (m.fullName) {
      case "google.protobuf.Timestamp": {
        const t = typeof v === "string" ? parseTimestamp(v) : undefined;
        if (t === undefined) fail(`${path}: expected a timestamp (RFC 3339), got ${describeValue(v)}`);
        return secondsNanos(t[0], t[1]);
      }
      case "google.protobuf.Duration": {
        const d = typeof v === "string" ? parseDuration(v) : undefined;
        if (d === undefined) fail(`${path}: expected a duration ("1.5s"), got ${describeValue(v)}`);
        return secondsNanos(d[0], d[1]);
      }
      case "google.protobuf.FieldMask": {
        if (typeof v !== "string") fail(`${path}: expected a field mask (a string), got ${describeValue(v)}`);
        const paths = v.split(",").filter((p) => p !== "").map(camelToSnake);
        return new Map(paths.length > 0 ? [[1, paths]] : []);
      }
      case "google.protobuf.Struct":
        if (!isRecord(v)) fail(`${path}: expected an object for google.protobuf.Struct, got ${describeValue(v)}`);
        return new Map([[
          1,
          new Map(Object.keys(v).map((k) => [k, this.#jsonValue(v[k], childPath(path, k), depth)])),
        ]]);
      case "google.protobuf.Value":
        return this.#jsonValue(v, path, depth);
      case "google.protobuf.ListValue":
        if (!Array.isArray(v)) {
          fail(`${path}: expected an array for google.protobuf.ListValue, got ${describeValue(v)}`);
        }
        return new Map([[1, v.map((x, i) => this.#jsonValue(x, childPath(path, i), depth))]]);
      case "google.protobuf.Any":
        return this.#any(v, path, depth);
      default:
        if (WRAPPERS.has(m.fullName)) {
          const f = m.byNumber.get(1)!;
          return new Map([[1, scalarFromJson(f.type as ScalarType, v, path)]]);
        }
        return undefined;
    }
  }

  #jsonValue(v: unknown, path: string, depth: number): PbValue {
    if (depth > MAX_DEPTH) fail(`${path}: nested deeper than ${MAX_DEPTH} levels`);
    if (v === null) return new Map([[1, 0]]);
    if (typeof v === "number") return new Map([[2, v]]);
    if (typeof v === "bigint") return new Map([[2, Number(v)]]);
    if (typeof v === "string") return new Map([[3, v]]);
    if (typeof v === "boolean") return new Map([[4, v]]);
    if (Array.isArray(v)) {
      return new Map([[6, new Map([[1, v.map((x, i) => this.#jsonValue(x, childPath(path, i), depth + 1))]])]]);
    }
    if (isRecord(v)) {
      const fields = new Map(Object.keys(v).map((k) => [k, this.#jsonValue(v[k], childPath(path, k), depth + 1)]));
      return new Map([[5, new Map([[1, fields]])]]);
    }
    return fail(`${path}: expected a JSON value, got ${describeValue(v)}`);
  }

  #any(v: unknown, path: string, depth: number): PbValue {
    if (!isRecord(v)) return fail(`${path}: expected an object for google.protobuf.Any, got ${describeValue(v)}`);
    const keys = Object.keys(v);
    if (keys.length === 0) return new Map();
    const url = v["@type"];
    if (typeof url !== "string") return fail(`${path}: google.protobuf.Any needs an "@type"`);
    const m = this.codec.message(url.slice(url.lastIndexOf("/") + 1));
    if (m === undefined) return fail(`${path}: cannot find type for url: ${url}`);
    let content: PbValue;
    if (SPECIAL_JSON.has(m.fullName)) {
      content = this.message(m, v["value"], childPath(path, "value"), depth + 1);
    } else {
      const rest: Record<string, unknown> = {};
      for (const k of keys) if (k !== "@type") setOwn(rest, k, v[k]);
      content = this.message(m, rest, path, depth + 1);
    }
    const w = new ByteWriter();
    writeMessage(this.codec, m, content, w);
    return new Map<number, unknown>([[1, url], [2, w.finish()]]);
  }
}

const WRAPPERS = new Set([
  "google.protobuf.DoubleValue",
  "google.protobuf.FloatValue",
  "google.protobuf.Int64Value",
  "google.protobuf.UInt64Value",
  "google.protobuf.Int32Value",
  "google.protobuf.UInt32Value",
  "google.protobuf.BoolValue",
  "google.protobuf.StringValue",
  "google.protobuf.BytesValue",
]);
/** Types whose JSON is not an object of fields (inside an Any they go under "value"). */
const SPECIAL_JSON = new Set([
  ...WRAPPERS,
  "google.protobuf.Timestamp",
  "google.protobuf.Duration",
  "google.protobuf.FieldMask",
  "google.protobuf.Struct",
  "google.protobuf.Value",
  "google.protobuf.ListValue",
  "google.protobuf.Any",
]);

function secondsNanos(seconds: bigint, nanos: number): PbValue {
  const out: PbValue = new Map();
  if (seconds !== 0n) out.set(1, seconds);
  if (nanos !== 0) out.set(2, nanos);
  return out;
}

function camelToSnake(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function snakeToCamel(s: string): string {
  return s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

const TIMESTAMP_MIN = -62135596800n; // 0001-01-01T00:00:00Z
const TIMESTAMP_MAX = 253402300799n; // 9999-12-31T23:59:59Z
const DURATION_MAX = 315576000000n;

function nanosOf(fraction: string | undefined): number {
  return fraction === undefined ? 0 : Number(fraction.padEnd(9, "0"));
}

/** RFC 3339 as `Timestamps.parse` takes it: seconds and nanos, or undefined. */
function parseTimestamp(s: string): [bigint, number] | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/.exec(
    s,
  );
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  if (d.getUTCDate() !== day) return undefined;
  let seconds = BigInt(d.getTime() / 1000) + BigInt(hour * 3600 + minute * 60 + second);
  if (m[8] !== undefined) {
    const offset = BigInt(Number(m[9]) * 3600 + Number(m[10]) * 60);
    seconds += m[8] === "+" ? -offset : offset;
  }
  if (seconds < TIMESTAMP_MIN || seconds > TIMESTAMP_MAX) return undefined;
  return [seconds, nanosOf(m[7])];
}

function parseDuration(s: string): [bigint, number] | undefined {
  const m = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(s);
  if (!m) return undefined;
  const seconds = BigInt(m[2]!);
  if (seconds > DURATION_MAX) return undefined;
  const nanos = nanosOf(m[3]);
  return m[1] ? [-seconds, -nanos] : [seconds, nanos];
}

function fraction(nanos: number): string {
  if (nanos === 0) return "";
  if (nanos % 1_000_000 === 0) return `.${String(nanos / 1_000_000).padStart(3, "0")}`;
  if (nanos % 1000 === 0) return `.${String(nanos / 1000).padStart(6, "0")}`;
  return `.${String(nanos).padStart(9, "0")}`;
}

function formatTimestamp(seconds: bigint, nanos: number): string {
  if (seconds < TIMESTAMP_MIN || seconds > TIMESTAMP_MAX || nanos < 0 || nanos > 999_999_999) {
    fail(`Timestamp is not valid: seconds ${seconds}, nanos ${nanos}`);
  }
  const iso = new Date(Number(seconds) * 1000).toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z
  return `${iso.slice(0, 19)}${fraction(nanos)}Z`;
}

function formatDuration(seconds: bigint, nanos: number): string {
  if (
    seconds < -DURATION_MAX || seconds > DURATION_MAX || Math.abs(nanos) > 999_999_999 ||
    (seconds > 0n && nanos < 0) || (seconds < 0n && nanos > 0)
  ) {
    fail(`Duration is not valid: seconds ${seconds}, nanos ${nanos}`);
  }
  const negative = seconds < 0n || nanos < 0;
  const abs = seconds < 0n ? -seconds : seconds;
  return `${negative ? "-" : ""}${abs}${fraction(Math.abs(nanos))}s`;
}

// ---- message value → binary ----

const WIRE_VARINT = 0;
const WIRE_64 = 1;
const WIRE_LEN = 2;
const WIRE_START_GROUP = 3;
const WIRE_END_GROUP = 4;
const WIRE_32 = 5;

function wireType(type: PbField["type"]): number {
  switch (type) {
    case "double":
    case "fixed64":
    case "sfixed64":
      return WIRE_64;
    case "float":
    case "fixed32":
    case "sfixed32":
      return WIRE_32;
    case "string":
    case "bytes":
    case "message":
      return WIRE_LEN;
    default:
      return WIRE_VARINT;
  }
}

function isDefault(type: PbField["type"], v: unknown): boolean {
  switch (type) {
    case "string":
      return v === "";
    case "bytes":
      return (v as Uint8Array).length === 0;
    case "bool":
      return v === false;
    case "message":
      return false;
    default:
      return v === 0n || (v === 0 && !Object.is(v, -0));
  }
}

function writeScalar(type: PbField["type"], v: unknown, w: ByteWriter): void {
  switch (type) {
    case "int32":
    case "enum": {
      const n = v as number;
      w.varint64(n >>> 0, n < 0 ? 0xffffffff : 0);
      return;
    }
    case "uint32":
      w.uvarint(v as number);
      return;
    case "sint32": {
      const n = v as number;
      w.uvarint(((n << 1) ^ (n >> 31)) >>> 0);
      return;
    }
    case "int64":
    case "uint64": {
      const [lo, hi] = toInt64Halves(v as bigint)!;
      w.varint64(lo, hi);
      return;
    }
    case "sint64": {
      const [lo, hi] = toInt64Halves(v as bigint)!;
      w.zigzag64(lo, hi);
      return;
    }
    case "fixed32":
    case "sfixed32":
      w.fixed32(v as number);
      return;
    case "fixed64":
    case "sfixed64": {
      const [lo, hi] = toInt64Halves(v as bigint)!;
      w.fixed64(lo, hi);
      return;
    }
    case "float":
      w.float32(v as number);
      return;
    case "double":
      w.float64(v as number);
      return;
    case "bool":
      w.byte(v ? 1 : 0);
      return;
    case "string": {
      const b = utf8.encode(v as string);
      w.uvarint(b.length);
      w.bytes(b);
      return;
    }
    case "bytes":
      w.uvarint((v as Uint8Array).length);
      w.bytes(v as Uint8Array);
      return;
    case "message":
      throw new Error("writeScalar() called for a message");
  }
}

const utf8 = new TextEncoder();

function writeTag(number: number, wt: number, w: ByteWriter): void {
  w.uvarint(number * 8 + wt);
}

function writeValue(codec: Codec, f: PbField, v: unknown, w: ByteWriter): void {
  writeTag(f.number, wireType(f.type), w);
  if (f.type === "message") {
    const sub = new ByteWriter();
    writeMessage(codec, messageOrFail(codec, f.typeName), v as PbValue, sub);
    w.uvarint(sub.length);
    w.bytes(sub.finish());
  } else writeScalar(f.type, v, w);
}

function writeMessage(codec: Codec, m: PbMessage, value: PbValue, w: ByteWriter): void {
  for (const f of m.fields) {
    const v = value.get(f.number);
    if (v === undefined) continue;
    if (f.map !== undefined) {
      for (const [k, x] of v as Map<unknown, unknown>) {
        const entry = new ByteWriter(64);
        writeValue(codec, f.map.key, k, entry);
        writeValue(codec, f.map.value, x, entry);
        writeTag(f.number, WIRE_LEN, w);
        w.uvarint(entry.length);
        w.bytes(entry.finish());
      }
    } else if (f.repeated) {
      const list = v as unknown[];
      if (list.length === 0) continue;
      if (f.packed) {
        const packed = new ByteWriter(64);
        for (const x of list) writeScalar(f.type, x, packed);
        writeTag(f.number, WIRE_LEN, w);
        w.uvarint(packed.length);
        w.bytes(packed.finish());
      } else {
        for (const x of list) writeValue(codec, f, x, w);
      }
    } else if (f.presence || !isDefault(f.type, v)) {
      writeValue(codec, f, v, w);
    }
  }
}

// ---- binary → message value ----

const utf8Decoder = new TextDecoder();

function skipField(r: ByteReader, wt: number, number: number, depth: number): void {
  switch (wt) {
    case WIRE_VARINT:
      r.varint64();
      return;
    case WIRE_64:
      r.bytes(8);
      return;
    case WIRE_LEN:
      r.bytes(r.uvarint32());
      return;
    case WIRE_32:
      r.bytes(4);
      return;
    case WIRE_START_GROUP:
      if (depth > MAX_DEPTH) throw new SerdeDecodeError("Groups nested too deep");
      for (;;) {
        const key = r.uvarint32();
        if ((key & 7) === WIRE_END_GROUP) {
          if (key >>> 3 !== number) throw new SerdeDecodeError(`Mismatched end of group ${number}`);
          return;
        }
        skipField(r, key & 7, key >>> 3, depth + 1);
      }
    default:
      throw new SerdeDecodeError(`Invalid wire type ${wt} at byte ${r.pos}`);
  }
}

function readScalar(type: PbField["type"], r: ByteReader): unknown {
  switch (type) {
    case "int32":
    case "enum":
      r.varint64();
      return r.lo | 0;
    case "uint32":
      r.varint64();
      return r.lo >>> 0;
    case "sint32": {
      r.varint64();
      const n = r.lo >>> 0;
      return (n >>> 1) ^ -(n & 1);
    }
    case "int64":
      r.varint64();
      return int64FromHalves(r.lo, r.hi);
    case "uint64":
      r.varint64();
      return uint64FromHalves(r.lo, r.hi);
    case "sint64": {
      r.varint64();
      const mask = -(r.lo & 1);
      return int64FromHalves(((r.lo >>> 1) | (r.hi << 31)) ^ mask, (r.hi >>> 1) ^ mask);
    }
    case "fixed32":
      return r.fixed32();
    case "sfixed32":
      return r.fixed32() | 0;
    case "fixed64":
      r.fixed64();
      return uint64FromHalves(r.lo, r.hi);
    case "sfixed64":
      r.fixed64();
      return int64FromHalves(r.lo, r.hi);
    case "float":
      return r.float32();
    case "double":
      return r.float64();
    case "bool":
      r.varint64();
      return r.lo !== 0 || r.hi !== 0;
    case "string":
      return utf8Decoder.decode(r.bytes(r.uvarint32()));
    case "bytes":
      return r.bytes(r.uvarint32()).slice();
    case "message":
      throw new Error("readScalar() called for a message");
  }
}

function readMessage(codec: Codec, m: PbMessage, r: ByteReader, end: number, into: PbValue, depth: number): void {
  if (depth > MAX_DEPTH) throw new SerdeDecodeError(`Messages nested deeper than ${MAX_DEPTH} levels`);
  while (r.pos < end) {
    const key = r.uvarint32();
    const number = key >>> 3;
    const wt = key & 7;
    if (number === 0) throw new SerdeDecodeError(`Invalid field number 0 at byte ${r.pos}`);
    const f = m.byNumber.get(number);
    if (f === undefined) {
      skipField(r, wt, number, depth);
      continue;
    }
    if (f.map !== undefined) {
      if (wt !== WIRE_LEN) {
        skipField(r, wt, number, depth);
        continue;
      }
      const len = r.uvarint32();
      const entryEnd = r.pos + len;
      if (entryEnd > end) throw new SerdeDecodeError(`Map entry overruns its message at byte ${r.pos}`);
      let k: unknown = defaultOf(codec, f.map.key);
      let x: unknown = undefined;
      while (r.pos < entryEnd) {
        const ekey = r.uvarint32();
        const en = ekey >>> 3;
        const ewt = ekey & 7;
        const part = en === 1 ? f.map.key : en === 2 ? f.map.value : undefined;
        if (part === undefined || ewt !== wireType(part.type)) skipField(r, ewt, en, depth);
        else if (part === f.map.key) k = readScalar(part.type, r);
        else x = readSingle(codec, part, r, x, depth);
      }
      if (r.pos !== entryEnd) throw new SerdeDecodeError(`Map entry length mismatch at byte ${r.pos}`);
      if (x === undefined) x = f.map.value.type === "message" ? new Map() : defaultOf(codec, f.map.value);
      if (!(f.map.value.type === "enum" && !enumAccepts(codec, f.map.value, x))) {
        let entries = into.get(number) as Map<unknown, unknown> | undefined;
        if (entries === undefined) into.set(number, entries = new Map());
        entries.set(typeof k === "bigint" || typeof k === "number" ? String(k) : k, x);
      }
      continue;
    }
    const expected = wireType(f.type);
    if (f.repeated) {
      let list = into.get(number) as unknown[] | undefined;
      if (list === undefined) into.set(number, list = []);
      if (wt === WIRE_LEN && expected !== WIRE_LEN) {
        const len = r.uvarint32();
        const packedEnd = r.pos + len;
        if (packedEnd > end) throw new SerdeDecodeError(`Packed field overruns its message at byte ${r.pos}`);
        while (r.pos < packedEnd) {
          const x = readScalar(f.type, r);
          if (f.type !== "enum" || enumAccepts(codec, f, x)) list.push(x);
        }
        if (r.pos !== packedEnd) throw new SerdeDecodeError(`Packed field length mismatch at byte ${r.pos}`);
      } else if (wt === expected) {
        const x = readSingle(codec, f, r, undefined, depth);
        if (f.type !== "enum" || enumAccepts(codec, f, x)) list.push(x);
      } else skipField(r, wt, number, depth);
      continue;
    }
    if (wt !== expected) {
      skipField(r, wt, number, depth);
      continue;
    }
    const x = readSingle(codec, f, r, into.get(number), depth);
    if (f.type === "enum" && !enumAccepts(codec, f, x)) continue;
    if (f.oneof !== undefined) {
      for (const other of m.fields) if (other.oneof === f.oneof && other !== f) into.delete(other.number);
    }
    into.set(number, x);
  }
  if (r.pos !== end) throw new SerdeDecodeError(`Message ${m.fullName} overruns its length`);
}

/** One value of a field; a message merges into `existing` (protobuf's rule for repeated occurrences). */
function readSingle(codec: Codec, f: PbField, r: ByteReader, existing: unknown, depth: number): unknown {
  if (f.type !== "message") return readScalar(f.type, r);
  const len = r.uvarint32();
  const end = r.pos + len;
  if (end > r.end) throw new SerdeDecodeError(`Message field overruns the data at byte ${r.pos}`);
  const into = existing instanceof Map ? existing as PbValue : new Map<number, unknown>();
  readMessage(codec, messageOrFail(codec, f.typeName), r, end, into, depth + 1);
  return into;
}

function enumAccepts(codec: Codec, f: PbField, n: unknown): boolean {
  const e = enumOrFail(codec, f.typeName);
  return !e.closed || e.byNumber.has(n as number);
}

function defaultOf(codec: Codec, f: PbField): unknown {
  const d = f.defaultValue;
  switch (f.type) {
    case "enum": {
      const e = enumOrFail(codec, f.typeName);
      return d !== undefined && e.byName.has(d) ? e.byName.get(d)! : e.defaultNumber;
    }
    case "string":
      return d ?? "";
    case "bytes":
      return d === undefined ? new Uint8Array() : latin1Bytes(d) ?? utf8.encode(d);
    case "bool":
      return d === "true";
    case "message":
      return undefined;
    default: {
      if (LONG_TYPES.has(f.type)) return d !== undefined && /^-?\d+$/.test(d) ? BigInt(d) : 0n;
      if (d === undefined) return 0;
      if (d === "inf") return Number.POSITIVE_INFINITY;
      if (d === "-inf") return Number.NEGATIVE_INFINITY;
      if (d === "nan") return Number.NaN;
      const n = Number(d);
      return Number.isNaN(n) ? 0 : n;
    }
  }
}

// ---- message value → JSON ----

function floatJson(n: number): number | string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Number.POSITIVE_INFINITY) return "Infinity";
  if (n === Number.NEGATIVE_INFINITY) return "-Infinity";
  return n;
}

class ToJson {
  readonly codec: Codec;
  constructor(codec: Codec) {
    this.codec = codec;
  }

  value(f: PbField, v: unknown, depth: number): unknown {
    switch (f.type) {
      case "message":
        return this.message(messageOrFail(this.codec, f.typeName), v as PbValue, depth + 1);
      case "enum": {
        if (f.typeName === "google.protobuf.NullValue") return null;
        return enumOrFail(this.codec, f.typeName).byNumber.get(v as number) ?? v;
      }
      case "int64":
      case "uint64":
      case "sint64":
      case "fixed64":
      case "sfixed64":
        return String(v);
      case "float":
        return floatJson(shortestFloat32(v as number));
      case "double":
        return floatJson(v as number);
      case "bytes":
        return base64Encode(v as Uint8Array);
      default:
        return v;
    }
  }

  message(m: PbMessage, v: PbValue, depth: number): unknown {
    if (depth > MAX_DEPTH) throw new SerdeDecodeError(`Messages nested deeper than ${MAX_DEPTH} levels`);
    const special = this.#wellKnown(m, v, depth);
    if (special !== undefined) return special.value;
    const out: Record<string, unknown> = {};
    for (const f of m.fields) {
      const x = v.get(f.number);
      if (x === undefined) {
        if (!f.printDefault) continue;
        if (f.map !== undefined) setOwn(out, f.jsonName, {});
        else if (f.repeated) setOwn(out, f.jsonName, []);
        else setOwn(out, f.jsonName, this.value(f, defaultOf(this.codec, f), depth));
        continue;
      }
      if (f.map !== undefined) {
        const entries: Record<string, unknown> = {};
        for (const [k, e] of x as Map<unknown, unknown>) setOwn(entries, String(k), this.value(f.map.value, e, depth));
        setOwn(out, f.jsonName, entries);
      } else if (f.repeated) {
        setOwn(out, f.jsonName, (x as unknown[]).map((e) => this.value(f, e, depth)));
      } else setOwn(out, f.jsonName, this.value(f, x, depth));
    }
    return out;
  }

  #wellKnown(m: PbMessage, v: PbValue, depth: number): { value: unknown } | undefined {
    const seconds = () => BigInt((v.get(1) as number | bigint | undefined) ?? 0);
    const nanos = () => (v.get(2) as number | undefined) ?? 0;
    switch (m.fullName) {
      case "google.protobuf.Timestamp":
        return { value: formatTimestamp(seconds(), nanos()) };
      case "google.protobuf.Duration":
        return { value: formatDuration(seconds(), nanos()) };
      case "google.protobuf.FieldMask":
        return { value: ((v.get(1) as string[] | undefined) ?? []).map(snakeToCamel).join(",") };
      case "google.protobuf.Struct": {
        const out: Record<string, unknown> = {};
        for (const [k, x] of (v.get(1) as Map<string, PbValue> | undefined) ?? []) {
          setOwn(out, k, this.#jsonValue(x, depth + 1));
        }
        return { value: out };
      }
      case "google.protobuf.Value":
        return { value: this.#jsonValue(v, depth) };
      case "google.protobuf.ListValue":
        return { value: ((v.get(1) as PbValue[] | undefined) ?? []).map((x) => this.#jsonValue(x, depth + 1)) };
      case "google.protobuf.Any":
        return { value: this.#any(v, depth) };
      default:
        if (WRAPPERS.has(m.fullName)) {
          const f = m.byNumber.get(1)!;
          return { value: this.value(f, v.get(1) ?? defaultOf(this.codec, f), depth) };
        }
        return undefined;
    }
  }

  #jsonValue(v: PbValue, depth: number): unknown {
    if (depth > MAX_DEPTH) throw new SerdeDecodeError(`Values nested deeper than ${MAX_DEPTH} levels`);
    if (v.has(2)) return floatJson(v.get(2) as number);
    if (v.has(3)) return v.get(3);
    if (v.has(4)) return v.get(4);
    if (v.has(5)) {
      return this.#wellKnown(messageOrFail(this.codec, "google.protobuf.Struct"), v.get(5) as PbValue, depth)!.value;
    }
    if (v.has(6)) {
      return this.#wellKnown(messageOrFail(this.codec, "google.protobuf.ListValue"), v.get(6) as PbValue, depth)!.value;
    }
    return null;
  }

  #any(v: PbValue, depth: number): unknown {
    const url = (v.get(1) as string | undefined) ?? "";
    const bytes = (v.get(2) as Uint8Array | undefined) ?? new Uint8Array();
    if (url === "" && bytes.length === 0) return {};
    const m = this.codec.message(url.slice(url.lastIndexOf("/") + 1));
    if (m === undefined) return fail(`Cannot find type for url: ${url}`);
    const content: PbValue = new Map();
    readMessage(this.codec, m, new ByteReader(bytes), bytes.length, content, depth + 1);
    const json = this.message(m, content, depth + 1);
    const out: Record<string, unknown> = { "@type": url };
    if (SPECIAL_JSON.has(m.fullName)) out["value"] = json;
    else for (const [k, x] of Object.entries(json as Record<string, unknown>)) setOwn(out, k, x);
    return out;
  }
}

function messageNamed(schema: ProtobufParsed, codec: Codec, name: string | undefined): PbMessage {
  const wanted = name ?? schema.name;
  if (wanted === undefined) fail("The schema defines no message");
  const pkg = schema.file.packageName;
  const m = codec.message(wanted) ?? (pkg ? codec.message(`${pkg}.${wanted}`) : undefined);
  if (m === undefined) fail(`Message ${wanted} is not defined in the schema`);
  return m;
}

/**
 * Encodes a JSON value (protobuf's JSON mapping) to protobuf binary, as a message of the schema.
 * The payload has no message-index prefix (the wire format adds it).
 * @param schema the parsed schema
 * @param value the message as JSON
 * @param options `messageName`: the message type, fully qualified or relative to the package
 *   (default: the first message of the file)
 * @returns the protobuf bytes, or where the value does not match the message
 * @example
 * encodeProtobuf(schema, { id: "42", tags: ["a"] }, { messageName: "acme.User" })
 */
export function encodeProtobuf(
  schema: ProtobufParsed,
  value: unknown,
  options: { messageName?: string } = {},
): SerdeResult<Uint8Array> {
  try {
    const codec = codecOf(schema);
    const m = messageNamed(schema, codec, options.messageName);
    const content = new FromJson(codec).message(m, value, "$", 0);
    const w = new ByteWriter();
    writeMessage(codec, m, content, w);
    return { ok: true, value: w.finish() };
  } catch (e) {
    if (e instanceof PbDataError) return { ok: false, message: e.message };
    throw e;
  }
}

/**
 * Decodes protobuf binary (no message-index prefix) to JSON (protobuf's JSON mapping, every field
 * without presence printed with its default).
 * @param schema the parsed schema
 * @param bytes the message bytes
 * @param options `messageName`: the message type (default: the first message of the file)
 * @returns the JSON value, or why the bytes do not decode
 */
export function decodeProtobuf(
  schema: ProtobufParsed,
  bytes: Uint8Array,
  options: { messageName?: string } = {},
): SerdeResult<unknown> {
  try {
    const codec = codecOf(schema);
    const m = messageNamed(schema, codec, options.messageName);
    const content: PbValue = new Map();
    readMessage(codec, m, new ByteReader(bytes), bytes.length, content, 0);
    return { ok: true, value: new ToJson(codec).message(m, content, 0) };
  } catch (e) {
    if (e instanceof PbDataError || e instanceof SerdeDecodeError) return { ok: false, message: e.message };
    throw e;
  }
}
