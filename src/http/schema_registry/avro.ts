/**
 * Avro schemas as Confluent's registry handles them: parsed with Apache Avro's (Java) rules for a
 * new registration (strict names, defaults validated, a union default may match any branch), the
 * canonical text Confluent stores (Avro's `Schema.toString()`, with referenced types written as
 * names) and the `normalize=true` text (`AvroSchemaUtils.toNormalizedString`: properties and
 * aliases sorted, logical-type properties first). The parsed graph is what the compatibility
 * checker of `avro_compat.ts` walks; named types are shared objects, so recursion is a cycle.
 *
 * avsc is not used: its parser rejects union defaults that Avro ≥ 1.10 accepts, and its resolver
 * compares full names where Avro's checker compares unqualified names (§10 of the reference).
 *
 * @module
 */

import {
  isJsonNumber,
  isJsonObject,
  javaDoubleText,
  JsonNumber,
  type JsonObject,
  type JsonValue,
  parseJson,
  quote,
  stringifyJson,
} from "./json_text.ts";

export const AVRO_PRIMITIVES = ["null", "boolean", "int", "long", "float", "double", "bytes", "string"] as const;
export type AvroPrimitiveType = (typeof AVRO_PRIMITIVES)[number];

/** A name with its namespace (`space` is null for the null namespace). */
export interface AvroName {
  readonly name: string;
  readonly space: string | null;
  readonly full: string;
}

/** Non-reserved attributes, in document order (`logicalType` is one of them). */
export type AvroProps = Map<string, JsonValue>;

export interface AvroPrimitive {
  type: AvroPrimitiveType;
  props: AvroProps;
}
export interface AvroRecord {
  type: "record";
  isError: boolean;
  name: AvroName;
  doc: string | undefined;
  fields: AvroField[];
  props: AvroProps;
  aliases: AvroName[];
}
export interface AvroField {
  name: string;
  type: AvroSchema;
  doc: string | undefined;
  /** The default as written (undefined: no default; JSON null is a default). */
  default: JsonValue | undefined;
  order: "ascending" | "descending" | "ignore";
  aliases: string[];
  props: AvroProps;
  pos: number;
}
export interface AvroEnum {
  type: "enum";
  name: AvroName;
  doc: string | undefined;
  symbols: string[];
  default: string | undefined;
  props: AvroProps;
  aliases: AvroName[];
}
export interface AvroFixed {
  type: "fixed";
  name: AvroName;
  doc: string | undefined;
  size: number;
  props: AvroProps;
  aliases: AvroName[];
}
export interface AvroArray {
  type: "array";
  items: AvroSchema;
  props: AvroProps;
}
export interface AvroMap {
  type: "map";
  values: AvroSchema;
  props: AvroProps;
}
export interface AvroUnion {
  type: "union";
  types: AvroSchema[];
}
export type AvroNamed = AvroRecord | AvroEnum | AvroFixed;
export type AvroSchema = AvroPrimitive | AvroNamed | AvroArray | AvroMap | AvroUnion;

/** A parsed Avro schema. */
export interface AvroParsed {
  readonly schemaType: "AVRO";
  /** What Confluent stores and serves (Java `Schema.toString(referencedSchemas, false)`). */
  readonly canonical: string;
  /** The `normalize=true` form. */
  readonly normalized: string;
  readonly root: AvroSchema;
  /** Full name of a record schema (Confluent `name()`), else undefined. */
  readonly name: string | undefined;
}

/** Outcome of {@link parseAvro}. */
export type AvroParseResult = { ok: true; value: AvroParsed } | { ok: false; message: string };

/** An unresolved name, replaced by the named type once the whole document (and references) is read. */
interface UnresolvedName {
  type: "$ref";
  full: string;
  written: string;
}
type Parsing = AvroSchema | UnresolvedName;

const SCHEMA_RESERVED = new Set([
  "doc",
  "fields",
  "items",
  "name",
  "namespace",
  "size",
  "symbols",
  "values",
  "type",
  "aliases",
]);
const ENUM_RESERVED = new Set([...SCHEMA_RESERVED, "default"]);
const FIELD_RESERVED = new Set(["default", "doc", "name", "order", "type", "aliases"]);
/** `Schema.Type` names: a name equal to one of these is always written with its namespace. */
const TYPE_NAMES = new Set([...AVRO_PRIMITIVES, "record", "enum", "array", "map", "union", "fixed"]);

class AvroError extends SyntaxError {}

function fail(message: string): never {
  throw new AvroError(message);
}

/** Avro's strict name rule (`NameValidator.STRICT_VALIDATOR`). */
function validateName(name: string | null | undefined): string {
  if (name === null || name === undefined) return fail("Null name");
  if (name.length === 0) return fail("Empty name");
  if (!/^[A-Za-z_]/.test(name)) return fail(`Illegal initial character: ${name}`);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return fail(`Illegal character in: ${name}`);
  return name;
}

/** Java `new Name(name, space)`: a dotted name carries its own namespace; "" is the null namespace. */
function makeName(written: string, space: string | null): AvroName {
  const dot = written.lastIndexOf(".");
  let ns = space;
  let name = written;
  if (dot >= 0) {
    ns = written.slice(0, dot);
    name = written.slice(dot + 1);
  }
  validateName(name);
  if (ns === "") ns = null;
  if (ns !== null) {
    for (const part of ns.split(".")) {
      try {
        validateName(part);
      } catch (e) {
        if (e instanceof AvroError) fail(`Namespace "${ns}" is invalid: ${e.message}`);
        throw e;
      }
    }
  }
  return { name, space: ns, full: ns === null ? name : `${ns}.${name}` };
}

function text(obj: JsonObject, key: string): string | undefined {
  const v = obj.get(key);
  return typeof v === "string" ? v : undefined;
}

function json(v: JsonValue): string {
  return stringifyJson(v, "avro");
}

class Parser {
  readonly named = new Map<string, AvroNamed>();
  readonly #lookup: ((name: string) => string | undefined) | undefined;
  /** Top-level named types of the references: written as names in the canonical text. */
  readonly referenced = new Set<string>();
  readonly #roots: Parsing[] = [];
  readonly #fields: AvroField[] = [];

  constructor(lookup: ((name: string) => string | undefined) | undefined) {
    this.#lookup = lookup;
  }

  parseDocument(text: string, what: string): Parsing {
    const doc = parseJson(text);
    if (!doc.ok) return fail(what === "" ? doc.message : `${what}: ${doc.message}`);
    const root = this.parse(doc.value, null);
    this.#roots.push(root);
    return root;
  }

  parseReference(name: string): boolean {
    const text = this.#lookup?.(name);
    if (text === undefined) return false;
    const root = this.parseDocument(text, `Reference "${name}"`);
    if (root.type !== "$ref" && "name" in root) this.referenced.add(root.name.full);
    return true;
  }

  parse(node: JsonValue, space: string | null): Parsing {
    if (typeof node === "string") return this.#find(node, space);
    if (Array.isArray(node)) {
      const types = node.map((n) => this.parse(n, space));
      return { type: "union", types: types as AvroSchema[] };
    }
    if (!isJsonObject(node)) return fail(`Schema not yet supported: ${node === null ? "null" : json(node)}`);
    const type = text(node, "type");
    if (type === undefined) return fail(`No type: ${json(node)}`);
    if ((AVRO_PRIMITIVES as readonly string[]).includes(type)) {
      return { type: type as AvroPrimitiveType, props: props(node, SCHEMA_RESERVED) };
    }
    switch (type) {
      case "record":
      case "error":
        return this.#record(node, space, type === "error");
      case "enum":
        return this.#enum(node, space);
      case "array": {
        const items = node.get("items");
        if (items === undefined) return fail(`Array has no items type: ${json(node)}`);
        return { type: "array", items: this.parse(items, space) as AvroSchema, props: props(node, SCHEMA_RESERVED) };
      }
      case "map": {
        const values = node.get("values");
        if (values === undefined) return fail(`Map has no values type: ${json(node)}`);
        return { type: "map", values: this.parse(values, space) as AvroSchema, props: props(node, SCHEMA_RESERVED) };
      }
      case "fixed": {
        const name = this.#name(node, space);
        const size = node.get("size");
        if (!isJsonNumber(size) || !size.integral || size.value < 0 || size.value > 0x7fffffff) {
          return fail(`Invalid or no size: ${json(node)}`);
        }
        const fixed: AvroFixed = {
          type: "fixed",
          name,
          doc: text(node, "doc"),
          size: size.value,
          props: props(node, SCHEMA_RESERVED),
          aliases: aliases(node, name.space),
        };
        return this.#define(fixed);
      }
      default:
        return fail(
          'A schema "type" MUST be a primitive type or one of "enum", "fixed", "record", "error", "array" or "map".',
        );
    }
  }

  #name(node: JsonObject, space: string | null): AvroName {
    const written = text(node, "name");
    if (written === undefined) return fail(`No name in schema: ${json(node)}`);
    return makeName(written, text(node, "namespace") ?? space);
  }

  #record(node: JsonObject, space: string | null, isError: boolean): Parsing {
    const name = this.#name(node, space);
    const fieldsNode = node.get("fields");
    if (!Array.isArray(fieldsNode)) return fail(`Record has no fields: ${json(node)}`);
    const fields: AvroField[] = [];
    const seen = new Set<string>();
    for (const f of fieldsNode) {
      if (!isJsonObject(f)) return fail(`No field name: ${json(f)}`);
      const fieldName = text(f, "name");
      if (fieldName === undefined) return fail(`No field name: ${json(f)}`);
      const typeNode = f.get("type");
      if (typeNode === undefined) return fail(`No field type: ${json(f)}`);
      const type = this.parse(typeNode, name.space) as AvroSchema;
      const orderNode = f.get("order");
      let order: AvroField["order"] = "ascending";
      if (orderNode !== undefined) {
        const o = typeof orderNode === "string" ? orderNode.toLowerCase() : "";
        if (o !== "ascending" && o !== "descending" && o !== "ignore") {
          return fail(`Invalid order for field "${fieldName}": ${json(orderNode)}`);
        }
        order = o;
      }
      let def = f.get("default");
      // Avro reads a textual default of a float/double field as a number ("NaN" included).
      if (typeof def === "string" && (type.type === "float" || type.type === "double")) {
        const d = javaParseDouble(def);
        if (d === undefined) return fail(`Invalid default for field ${fieldName}: ${quote(def)}`);
        def = d;
      }
      validateName(fieldName);
      if (seen.has(fieldName)) return fail(`Duplicate field ${fieldName} in record ${name.full}`);
      seen.add(fieldName);
      const field: AvroField = {
        name: fieldName,
        type,
        doc: text(f, "doc"),
        default: def,
        order,
        aliases: [...new Set(aliasTexts(f))],
        props: props(f, FIELD_RESERVED),
        pos: fields.length,
      };
      fields.push(field);
      this.#fields.push(field);
    }
    const record: AvroRecord = {
      type: "record",
      isError,
      name,
      doc: text(node, "doc"),
      fields,
      props: props(node, SCHEMA_RESERVED),
      aliases: aliases(node, name.space),
    };
    return this.#define(record);
  }

  #enum(node: JsonObject, space: string | null): Parsing {
    const name = this.#name(node, space);
    const symbolsNode = node.get("symbols");
    if (!Array.isArray(symbolsNode)) return fail(`Enum has no symbols: ${json(node)}`);
    const symbols: string[] = [];
    for (const s of symbolsNode) {
      const symbol = validateName(typeof s === "string" ? s : null);
      if (symbols.includes(symbol)) return fail(`Duplicate enum symbol: ${symbol}`);
      symbols.push(symbol);
    }
    const def = node.get("default");
    const enumDefault = typeof def === "string" ? def : undefined;
    if (enumDefault !== undefined && !symbols.includes(enumDefault)) {
      return fail(`The Enum Default: ${enumDefault} is not in the enum symbol set: [${symbols.join(", ")}]`);
    }
    const e: AvroEnum = {
      type: "enum",
      name,
      doc: text(node, "doc"),
      symbols,
      default: enumDefault,
      props: props(node, ENUM_RESERVED),
      aliases: aliases(node, name.space),
    };
    return this.#define(e);
  }

  #define(t: AvroNamed): AvroNamed {
    const existing = this.named.get(t.name.full);
    if (existing !== undefined) {
      // Avro allows a redefinition only when it is the same schema.
      if (
        printAvro(existing, { known: new Set(), normalize: false }) !==
          printAvro(t, { known: new Set(), normalize: false })
      ) {
        return fail(`Can't redefine: ${t.name.full}`);
      }
      return existing;
    }
    this.named.set(t.name.full, t);
    return t;
  }

  #find(written: string, space: string | null): Parsing {
    if ((AVRO_PRIMITIVES as readonly string[]).includes(written)) {
      return { type: written as AvroPrimitiveType, props: new Map() };
    }
    const full = space !== null && !written.includes(".") ? `${space}.${written}` : written;
    return this.named.get(full) ?? this.named.get(written) ?? { type: "$ref", full, written };
  }

  /** Resolves the names read before their definition, looking up those no document defined; then checks unions and defaults. */
  resolve(): void {
    const seen = new Set<object>();
    const resolveOne = (p: Parsing): AvroSchema => {
      if (p.type !== "$ref") return p;
      let t = this.named.get(p.full) ?? this.named.get(p.written);
      if (
        t === undefined && (this.parseReference(p.full) || (p.written !== p.full && this.parseReference(p.written)))
      ) {
        t = this.named.get(p.full) ?? this.named.get(p.written);
      }
      if (t === undefined) {
        return fail(
          `"${p.written}" is not a defined name. The type must be a defined name or a {"type": ...} expression.`,
        );
      }
      return t;
    };
    const walk = (s: AvroSchema): void => {
      if (seen.has(s)) return;
      seen.add(s);
      switch (s.type) {
        case "record":
          for (const f of s.fields) {
            f.type = resolveOne(f.type);
            walk(f.type);
          }
          break;
        case "array":
          s.items = resolveOne(s.items);
          walk(s.items);
          break;
        case "map":
          s.values = resolveOne(s.values);
          walk(s.values);
          break;
        case "union": {
          s.types = s.types.map(resolveOne);
          const names = new Set<string>();
          for (const b of s.types) {
            if (b.type === "union") fail(`Nested union: ${printAvro(s, { known: new Set(), normalize: false })}`);
            const n = "name" in b ? b.name.full : b.type;
            if (names.has(n)) fail(`Duplicate in union:${n}`);
            names.add(n);
            walk(b);
          }
          break;
        }
      }
    };
    // Resolving may parse more references, which adds roots: loop until all are walked.
    for (let i = 0; i < this.#roots.length; i++) {
      const r = resolveOne(this.#roots[i]!);
      this.#roots[i] = r;
      walk(r);
    }
    for (const f of this.#fields) {
      if (f.default !== undefined && !isValidDefault(f.type, f.default)) {
        fail(
          `Invalid default for field ${f.name}: ${json(f.default)} not a ${
            printAvro(f.type, { known: new Set(), normalize: false })
          }`,
        );
      }
    }
  }

  root(i: number): AvroSchema {
    return this.#roots[i] as AvroSchema;
  }

  get rootCount(): number {
    return this.#roots.length;
  }
}

function props(node: JsonObject, reserved: Set<string>): AvroProps {
  const out: AvroProps = new Map();
  for (const [k, v] of node) if (!reserved.has(k)) out.set(k, v);
  return out;
}

function aliasTexts(node: JsonObject): string[] {
  const a = node.get("aliases");
  if (a === undefined) return [];
  if (!Array.isArray(a)) return fail(`aliases not an array: ${json(node)}`);
  return a.map((x) => (typeof x === "string" ? x : fail(`alias not a string: ${json(x)}`)));
}

function aliases(node: JsonObject, space: string | null): AvroName[] {
  const out: AvroName[] = [];
  for (const a of aliasTexts(node)) {
    const n = makeName(a, space);
    if (!out.some((x) => x.full === n.full)) out.push(n);
  }
  return out;
}

/** Java `Double.parseDouble` for a textual float default; undefined when Java would throw. */
function javaParseDouble(s: string): JsonNumber | undefined {
  const t = s.trim().replace(/[fFdD]$/, "");
  if (/^[+-]?NaN$/.test(t)) return new JsonNumber("NaN");
  if (/^[+-]?Infinity$/.test(t)) return new JsonNumber(t.startsWith("-") ? "-Infinity" : "Infinity");
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return undefined;
  return new JsonNumber(javaDoubleText(Number(t)));
}

const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;

function integralIn(v: JsonValue, bits: 32 | 64): boolean {
  if (!isJsonNumber(v) || !v.integral) return false;
  if (bits === 32) return v.value >= INT_MIN && v.value <= INT_MAX;
  const b = BigInt(v.raw);
  return b >= -(2n ** 63n) && b <= 2n ** 63n - 1n;
}

/** Avro's `Schema.isValidDefault` (Avro ≥ 1.10: a union default may match any branch). */
function isValidDefault(s: AvroSchema, v: JsonValue | undefined): boolean {
  if (v === undefined) return false;
  switch (s.type) {
    case "string":
    case "bytes":
    case "enum":
    case "fixed":
      return typeof v === "string";
    case "int":
      return integralIn(v, 32);
    case "long":
      return integralIn(v, 64);
    case "float":
    case "double":
      return isJsonNumber(v);
    case "boolean":
      return typeof v === "boolean";
    case "null":
      return v === null;
    case "array":
      return Array.isArray(v) && v.every((x) => isValidDefault(s.items, x));
    case "map":
      return isJsonObject(v) && [...v.values()].every((x) => isValidDefault(s.values, x));
    case "union":
      return s.types.some((b) => isValidDefault(b, v));
    case "record":
      return isJsonObject(v) &&
        s.fields.every((f) => isValidDefault(f.type, v.has(f.name) ? v.get(f.name) : f.default));
  }
}

/**
 * The logical type Java recognises on a schema (`LogicalTypes.fromSchemaIgnoreInvalid`); an invalid
 * one is ignored by Avro but kept as a property.
 */
export function logicalTypeOf(s: AvroSchema): string | undefined {
  if (!("props" in s)) return undefined;
  const lt = s.props.get("logicalType");
  if (typeof lt !== "string") return undefined;
  const intProp = (k: string): number | undefined => {
    const v = s.props.get(k);
    return isJsonNumber(v) && v.integral ? v.value : undefined;
  };
  switch (lt) {
    case "decimal": {
      if (s.type !== "bytes" && s.type !== "fixed") return undefined;
      const precision = intProp("precision");
      const scale = s.props.has("scale") ? intProp("scale") : 0;
      if (precision === undefined || precision <= 0 || scale === undefined || scale < 0 || scale > precision) {
        return undefined;
      }
      if (s.type === "fixed" && precision > Math.floor(Math.log10(2) * (8 * s.size - 1))) return undefined;
      return lt;
    }
    case "big-decimal":
      return s.type === "bytes" ? lt : undefined;
    case "uuid":
      return s.type === "string" || (s.type === "fixed" && s.size === 16) ? lt : undefined;
    case "date":
    case "time-millis":
      return s.type === "int" ? lt : undefined;
    case "time-micros":
    case "timestamp-millis":
    case "timestamp-micros":
    case "timestamp-nanos":
    case "local-timestamp-millis":
    case "local-timestamp-micros":
    case "local-timestamp-nanos":
      return s.type === "long" ? lt : undefined;
    case "duration":
      return s.type === "fixed" && s.size === 12 ? lt : undefined;
    default:
      return undefined;
  }
}

interface PrintOptions {
  /** Full names already written (or defined by references): written as names. */
  known: Set<string>;
  /** The normalize=true layout. */
  normalize: boolean;
}

/** Java `Name.getQualified(space)`. */
function qualified(n: AvroName, space: string | null): string {
  if (n.space !== null && n.space === space && !TYPE_NAMES.has(n.name)) return n.name;
  return n.full;
}

function nameAttrs(n: AvroName, space: string | null): string {
  let out = `"name":${quote(n.name)}`;
  if (n.space !== null) {
    if (n.space !== space) out += `,"namespace":${quote(n.space)}`;
  } else if (space !== null) out += `,"namespace":""`;
  return out;
}

function propsText(s: Exclude<AvroSchema, AvroUnion> | AvroField, o: PrintOptions): string {
  const p = s.props;
  let keys = [...p.keys()];
  if (o.normalize) {
    // toNormalizedString writes the recognised logical type's own properties first, then all
    // properties sorted; re-parsing keeps each key at its first position.
    const first: string[] = [];
    const lt = typeof s.type === "string" ? logicalTypeOf(s as AvroSchema) : undefined;
    if (lt !== undefined) {
      first.push("logicalType");
      if (lt === "decimal") {
        first.push("precision");
        const scale = p.get("scale");
        if (isJsonNumber(scale) && scale.value !== 0) first.push("scale");
      }
    }
    keys = [...first, ...keys.filter((k) => !first.includes(k)).sort()];
  }
  return keys.map((k) => `,${quote(k)}:${json(p.get(k)!)}`).join("");
}

function aliasesText(n: AvroName, aliases: AvroName[], o: PrintOptions): string {
  if (aliases.length === 0) return "";
  const list = o.normalize ? [...aliases].sort((a, b) => (a.full < b.full ? -1 : a.full > b.full ? 1 : 0)) : aliases;
  return `,"aliases":[${list.map((a) => quote(qualified(a, n.space))).join(",")}]`;
}

function docText(doc: string | undefined, o: PrintOptions): string {
  if (doc === undefined || (o.normalize && doc === "")) return "";
  return `,"doc":${quote(doc)}`;
}

/** Java `Schema.toJson` (compact), or the normalized layout. */
function printAvro(s: AvroSchema | UnresolvedName, o: PrintOptions, space: string | null = null): string {
  switch (s.type) {
    case "$ref":
      return quote(s.written);
    case "union":
      return `[${s.types.map((t) => printAvro(t, o, space)).join(",")}]`;
    case "array":
      return `{"type":"array","items":${printAvro(s.items, o, space)}${propsText(s, o)}}`;
    case "map":
      return `{"type":"map","values":${printAvro(s.values, o, space)}${propsText(s, o)}}`;
    case "record": {
      if (o.known.has(s.name.full)) return quote(qualified(s.name, space));
      o.known.add(s.name.full);
      const type = s.isError && !o.normalize ? "error" : "record";
      const fields = s.fields.map((f) => printField(f, o, s.name.space)).join(",");
      return `{"type":"${type}",${nameAttrs(s.name, space)}${docText(s.doc, o)},"fields":[${fields}]${propsText(s, o)}${
        aliasesText(s.name, s.aliases, o)
      }}`;
    }
    case "enum": {
      if (o.known.has(s.name.full)) return quote(qualified(s.name, space));
      o.known.add(s.name.full);
      const def = s.default !== undefined ? `,"default":${quote(s.default)}` : "";
      return `{"type":"enum",${nameAttrs(s.name, space)}${docText(s.doc, o)},"symbols":[${
        s.symbols.map(quote).join(",")
      }]${def}${propsText(s, o)}${aliasesText(s.name, s.aliases, o)}}`;
    }
    case "fixed": {
      if (o.known.has(s.name.full)) return quote(qualified(s.name, space));
      o.known.add(s.name.full);
      return `{"type":"fixed",${nameAttrs(s.name, space)}${docText(s.doc, o)},"size":${s.size}${propsText(s, o)}${
        aliasesText(s.name, s.aliases, o)
      }}`;
    }
    default:
      if (s.props.size === 0) return quote(s.type);
      return `{"type":${quote(s.type)}${propsText(s, o)}}`;
  }
}

function printField(f: AvroField, o: PrintOptions, space: string | null): string {
  let out = `{"name":${quote(f.name)},"type":${printAvro(f.type, o, space)}`;
  if (f.doc !== undefined) out += `,"doc":${quote(f.doc)}`;
  if (f.default !== undefined) out += `,"default":${json(f.default)}`;
  if (f.order !== "ascending") out += `,"order":"${f.order}"`;
  if (f.aliases.length > 0) {
    const list = o.normalize ? [...f.aliases].sort() : f.aliases;
    out += `,"aliases":[${list.map(quote).join(",")}]`;
  }
  return `${out}${propsText(f, o)}}`;
}

/**
 * Parses an Avro schema. Declared references are parsed first, in order; names no document defines
 * are looked up as references too. Never throws for a bad schema: the reason comes back.
 */
export function parseAvro(
  text: string,
  options: { references?: readonly string[]; lookup?: (name: string) => string | undefined } = {},
): AvroParseResult {
  const parser = new Parser(options.lookup);
  try {
    for (const name of options.references ?? []) {
      if (!parser.parseReference(name)) fail(`Reference "${name}" not found`);
    }
    const mainIndex = parser.rootCount;
    parser.parseDocument(text, "");
    parser.resolve();
    const root = parser.root(mainIndex);
    const canonical = printAvro(root, { known: new Set(parser.referenced), normalize: false });
    const normalized = printAvro(root, { known: new Set(parser.referenced), normalize: true });
    const name = root.type === "record" ? root.name.full : undefined;
    return { ok: true, value: { schemaType: "AVRO", canonical, normalized, root, name } };
  } catch (e) {
    if (e instanceof AvroError) return { ok: false, message: e.message };
    throw e;
  }
}

/** The Avro `Schema.Type` name of a schema, as Avro's checker prints it (`INT`, `RECORD`…). */
export function avroTypeName(s: AvroSchema): string {
  return s.type.toUpperCase();
}

/** Standalone JSON of a schema fragment (every named type written in full once). */
export function avroToString(s: AvroSchema): string {
  return printAvro(s, { known: new Set(), normalize: false });
}
