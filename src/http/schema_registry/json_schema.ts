/**
 * JSON Schema documents as Confluent's registry handles them. The canonical text is the document
 * re-printed compactly by Jackson (key order kept, numbers as exact decimals); `normalize=true`
 * sorts every object's keys. The parsed model mirrors the everit schema classes that Confluent's
 * `SchemaDiff` walks: a document with keywords of several kinds becomes a synthetic `allOf`, a
 * `type` array becomes an `anyOf`, and keywords without a `type` imply a kind (a `properties`
 * object implies an object schema that does not require objects). `$ref` is resolved inside the
 * document (`#`, JSON pointers) and against references by name (the `$ref` text, with or without
 * its fragment, or the URI resolved against `$id`).
 *
 * @module
 */

import {
  isJsonNumber,
  isJsonObject,
  type JsonNumber,
  type JsonObject,
  type JsonValue,
  parseJson,
  sortKeys,
  stringifyJson,
} from "./json_text.ts";

interface Common {
  /** Stable text for this subschema (dedup of `allOf`/`anyOf`/`oneOf` branches). */
  key: string;
  id?: string | undefined;
  title?: string | undefined;
  description?: string | undefined;
  default?: JsonValue | undefined;
  connectType?: string | undefined;
  /** `if`/`then`/`else` on this schema (draft 7+), kept for validation; the checkers ignore it. */
  ifThenElse?: { if: JsonSchemaNode; then?: JsonSchemaNode | undefined; else?: JsonSchemaNode | undefined } | undefined;
}

export interface JsonEmpty extends Common {
  kind: "empty";
  /** `true` (everit's TrueSchema) rather than `{}`. */
  isTrue: boolean;
}
export interface JsonFalse extends Common {
  kind: "false";
}
export interface JsonString extends Common {
  kind: "string";
  /** Set when `type` asks for this kind (a keyword alone implies the kind but accepts other types). */
  requiresType?: boolean;
  format?: string | undefined;
  minLength?: number | undefined;
  maxLength?: number | undefined;
  pattern?: string | undefined;
}
export interface JsonNumberSchema extends Common {
  kind: "number";
  requiresInteger: boolean;
  requiresType?: boolean;
  minimum?: JsonNumber | undefined;
  maximum?: JsonNumber | undefined;
  exclusiveMinimum?: JsonNumber | undefined;
  exclusiveMaximum?: JsonNumber | undefined;
  multipleOf?: JsonNumber | undefined;
}
export interface JsonBoolean extends Common {
  kind: "boolean";
}
export interface JsonNull extends Common {
  kind: "null";
}
export interface JsonObjectSchema extends Common {
  kind: "object";
  requiresType?: boolean;
  properties: Map<string, JsonSchemaNode>;
  propertyNames?: JsonSchemaNode | undefined;
  required: string[];
  permitsAdditionalProperties: boolean;
  additionalProperties?: JsonSchemaNode | undefined;
  patternProperties: [RegExp, JsonSchemaNode][];
  minProperties?: number | undefined;
  maxProperties?: number | undefined;
  propertyDependencies: Map<string, Set<string>>;
  schemaDependencies: Map<string, JsonSchemaNode>;
  unevaluatedProperties?: JsonSchemaNode | undefined;
}
export interface JsonArraySchema extends Common {
  kind: "array";
  requiresType?: boolean;
  contains?: JsonSchemaNode | undefined;
  allItems?: JsonSchemaNode | undefined;
  itemSchemas?: JsonSchemaNode[] | undefined;
  permitsAdditionalItems: boolean;
  additionalItems?: JsonSchemaNode | undefined;
  minItems?: number | undefined;
  maxItems?: number | undefined;
  uniqueItems: boolean;
  minContains?: number | undefined;
  maxContains?: number | undefined;
  unevaluatedItems?: JsonSchemaNode | undefined;
}
export interface JsonEnum extends Common {
  kind: "enum";
  values: JsonValue[];
}
export interface JsonConst extends Common {
  kind: "const";
  value: JsonValue;
}
export interface JsonCombined extends Common {
  kind: "combined";
  criterion: "allOf" | "anyOf" | "oneOf";
  subschemas: JsonSchemaNode[];
}
export interface JsonNot extends Common {
  kind: "not";
  mustNotMatch: JsonSchemaNode;
}
export interface JsonRef extends Common {
  kind: "ref";
  ref: string;
  target?: JsonSchemaNode | undefined;
}
export interface JsonConditional extends Common {
  kind: "conditional";
}
export type JsonSchemaNode =
  | JsonEmpty
  | JsonFalse
  | JsonString
  | JsonNumberSchema
  | JsonBoolean
  | JsonNull
  | JsonObjectSchema
  | JsonArraySchema
  | JsonEnum
  | JsonConst
  | JsonCombined
  | JsonNot
  | JsonRef
  | JsonConditional;

/** A parsed JSON Schema. */
export interface JsonSchemaParsed {
  readonly schemaType: "JSON";
  readonly canonical: string;
  readonly normalized: string;
  readonly root: JsonSchemaNode;
  /** The root `title` (Confluent `name()`), if any. */
  readonly name: string | undefined;
}

export type JsonSchemaParseResult = { ok: true; value: JsonSchemaParsed } | { ok: false; message: string };

const ARRAY_KEYWORDS = [
  "items",
  "additionalItems",
  "minItems",
  "maxItems",
  "uniqueItems",
  "contains",
  "prefixItems",
  "minContains",
  "maxContains",
  "unevaluatedItems",
];
const OBJECT_KEYWORDS = [
  "properties",
  "required",
  "minProperties",
  "maxProperties",
  "dependencies",
  "dependentRequired",
  "dependentSchemas",
  "patternProperties",
  "additionalProperties",
  "propertyNames",
  "unevaluatedProperties",
];
const NUMBER_KEYWORDS = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"];
const STRING_KEYWORDS = ["minLength", "maxLength", "pattern", "format"];
const CONDITIONAL_KEYWORDS = ["if", "then", "else"];
const TYPES = new Set(["string", "integer", "number", "boolean", "null", "array", "object"]);

class JsonSchemaError extends SyntaxError {}

function fail(message: string): never {
  throw new JsonSchemaError(message);
}

function typeName(v: JsonValue | undefined): string {
  if (v === null) return "Null";
  if (typeof v === "boolean") return "Boolean";
  if (typeof v === "string") return "String";
  if (isJsonNumber(v)) return v.integral ? "Integer" : "BigDecimal";
  if (Array.isArray(v)) return "JSONArray";
  return "JSONObject";
}

function pathText(path: string[]): string {
  return `#${path.length === 0 ? "" : `/${path.join("/")}`}`;
}

interface Document {
  name: string;
  /** The document's base URI (its `$id`, else its reference name). */
  base: string;
  value: JsonValue;
  draft4: boolean;
  /** 2020-12: `items` without `prefixItems` also says whether items are allowed at all. */
  draft2020: boolean;
}

class Loader {
  readonly #lookup: ((name: string) => string | undefined) | undefined;
  readonly #docs = new Map<string, Document>();
  readonly #cache = new Map<Document, Map<string, JsonSchemaNode>>();
  readonly #pending: [JsonRef, Document][] = [];

  constructor(lookup: ((name: string) => string | undefined) | undefined) {
    this.#lookup = lookup;
  }

  document(name: string, value: JsonValue): Document {
    const id = isJsonObject(value) ? value.get("$id") ?? value.get("id") : undefined;
    const schema = isJsonObject(value) ? value.get("$schema") : undefined;
    const doc: Document = {
      name,
      base: typeof id === "string" ? id : name,
      value,
      draft4: typeof schema === "string" && schema.includes("draft-04"),
      draft2020: typeof schema === "string" && schema.includes("2020-12"),
    };
    this.#docs.set(name, doc);
    if (doc.base !== name) this.#docs.set(doc.base, doc);
    return doc;
  }

  /** Loads the subschema at a JSON pointer of a document, once. */
  at(doc: Document, pointer: string): JsonSchemaNode {
    let byPointer = this.#cache.get(doc);
    if (byPointer === undefined) {
      byPointer = new Map();
      this.#cache.set(doc, byPointer);
    }
    const cached = byPointer.get(pointer);
    if (cached !== undefined) return cached;
    const parts = pointer === "" ? [] : pointer.replace(/^\//, "").split("/").map(unescapePointer);
    let v: JsonValue | undefined = doc.value;
    for (const p of parts) {
      if (Array.isArray(v)) v = v[Number(p)];
      else if (isJsonObject(v)) v = v.get(p);
      else v = undefined;
      if (v === undefined) return fail(`Could not resolve $ref '${doc.name}#${pointer}': no such location`);
    }
    // `$ref`s inside are resolved after loading (resolveRefs), so a cycle ends at this cache.
    const node = this.load(v, doc, parts);
    byPointer.set(pointer, node);
    return node;
  }

  /** Resolves every `$ref` met so far (resolving may load more). */
  resolveRefs(): void {
    while (this.#pending.length > 0) {
      const [ref, doc] = this.#pending.shift()!;
      ref.target = this.#resolve(ref.ref, doc);
    }
  }

  #resolve(ref: string, doc: Document): JsonSchemaNode {
    const hash = ref.indexOf("#");
    const location = hash >= 0 ? ref.slice(0, hash) : ref;
    const fragment = hash >= 0 ? ref.slice(hash + 1) : "";
    let target = doc;
    if (location !== "" && location !== doc.base && location !== doc.name) {
      const found = this.#docs.get(location) ?? this.#fetch(location) ?? this.#fetch(resolveUri(doc.base, location));
      if (found === undefined) return fail(`Could not resolve $ref '${ref}'`);
      target = found;
    }
    if (fragment !== "" && !fragment.startsWith("/")) {
      return fail(`Could not resolve $ref '${ref}': anchors are not supported`);
    }
    return this.at(target, fragment);
  }

  #fetch(name: string): Document | undefined {
    const existing = this.#docs.get(name);
    if (existing !== undefined) return existing;
    const text = this.#lookup?.(name);
    if (text === undefined) return undefined;
    const parsed = parseJson(text);
    if (!parsed.ok) return fail(`Reference "${name}": ${parsed.message}`);
    return this.document(name, parsed.value);
  }

  load(v: JsonValue, doc: Document, path: string[]): JsonSchemaNode {
    const key = stringifyJson(v, "decimal");
    if (v === true) return { kind: "empty", isTrue: true, key };
    if (v === false) return { kind: "false", key };
    if (!isJsonObject(v)) return fail(`${pathText(path)}: expected type: JSONObject or Boolean, found: ${typeName(v)}`);
    let result: JsonSchemaNode;
    const ref = v.get("$ref");
    if (ref !== undefined) {
      if (typeof ref !== "string") {
        return fail(`${pathText([...path, "$ref"])}: expected type: String, found: ${typeName(ref)}`);
      }
      const node: JsonRef = { kind: "ref", ref, key };
      this.#pending.push([node, doc]);
      result = node;
    } else {
      const extracted = this.#extract(v, doc, path, key);
      result = extracted.length === 0
        ? { kind: "empty", isTrue: false, key }
        : extracted.length === 1
        ? extracted[0]!
        : { kind: "combined", criterion: "allOf", subschemas: extracted, key };
    }
    const str = (k: string): string | undefined => {
      const x = v.get(k);
      if (x === undefined) return undefined;
      return typeof x === "string"
        ? x
        : fail(`${pathText([...path, k])}: expected type: String, found: ${typeName(x)}`);
    };
    result.id = str(doc.draft4 ? "id" : "$id");
    result.title = str("title");
    result.description = str("description");
    result.default = v.get("default");
    const connect = v.get("connect.type");
    result.connectType = typeof connect === "string" ? connect : undefined;
    if (!doc.draft4 && v.has("if")) {
      result.ifThenElse = {
        if: this.load(v.get("if")!, doc, [...path, "if"]),
        then: this.#child(v, "then", doc, path),
        else: this.#child(v, "else", doc, path),
      };
    }
    return result;
  }

  #child(v: JsonObject, k: string, doc: Document, path: string[]): JsonSchemaNode | undefined {
    const x = v.get(k);
    return x === undefined ? undefined : this.load(x, doc, [...path, k]);
  }

  #extract(v: JsonObject, doc: Document, path: string[], key: string): JsonSchemaNode[] {
    const out: JsonSchemaNode[] = [];
    const consumed = new Set<string>();
    const has = (k: string) => v.has(k) && !consumed.has(k);
    const enumValues = v.get("enum");
    if (enumValues !== undefined) {
      if (!Array.isArray(enumValues)) {
        fail(`${pathText([...path, "enum"])}: expected type: JSONArray, found: ${typeName(enumValues)}`);
      }
      consumed.add("enum");
      out.push({ kind: "enum", values: enumValues, key: `${key}#enum` });
    }
    for (const criterion of ["allOf", "anyOf", "oneOf"] as const) {
      const list = v.get(criterion);
      if (list === undefined) continue;
      if (!Array.isArray(list)) {
        fail(`${pathText([...path, criterion])}: expected type: JSONArray, found: ${typeName(list)}`);
      }
      consumed.add(criterion);
      const subschemas = list.map((s, i) => this.load(s, doc, [...path, criterion, String(i)]));
      out.push({ kind: "combined", criterion, subschemas, key: `${key}#${criterion}` });
    }
    const not = v.get("not");
    if (not !== undefined) {
      consumed.add("not");
      out.push({ kind: "not", mustNotMatch: this.load(not, doc, [...path, "not"]), key: `${key}#not` });
    }
    if (v.has("const") && !doc.draft4) {
      consumed.add("const");
      out.push({ kind: "const", value: v.get("const")!, key: `${key}#const` });
    }
    const type = v.get("type");
    if (type !== undefined) {
      consumed.add("type");
      const typed = (t: JsonValue): JsonSchemaNode => {
        if (typeof t !== "string") {
          return fail(`${pathText([...path, "type"])}: expected type: String, found: ${typeName(t)}`);
        }
        if (!TYPES.has(t)) return fail(`${pathText(path)}: unknown type: [${t}]`);
        const k = `${key}#${t}`;
        switch (t) {
          case "string":
            return this.#string(v, path, k, consumed);
          case "integer":
          case "number":
            return this.#number(v, doc, path, k, consumed, t === "integer");
          case "boolean":
            return { kind: "boolean", key: k };
          case "null":
            return { kind: "null", key: k };
          case "array":
            return this.#array(v, doc, path, k, consumed);
          default:
            return this.#object(v, doc, path, k, consumed);
        }
      };
      const required = (t: JsonValue): JsonSchemaNode => {
        const node = typed(t);
        if (node.kind === "string" || node.kind === "number" || node.kind === "object" || node.kind === "array") {
          node.requiresType = true;
        }
        return node;
      };
      if (Array.isArray(type)) {
        out.push({ kind: "combined", criterion: "anyOf", subschemas: type.map(required), key: `${key}#type` });
      } else {
        out.push(required(type));
      }
    } else {
      if (ARRAY_KEYWORDS.some(has)) out.push(this.#array(v, doc, path, `${key}#array`, consumed));
      if (OBJECT_KEYWORDS.some(has)) out.push(this.#object(v, doc, path, `${key}#object`, consumed));
      if (NUMBER_KEYWORDS.some(has)) out.push(this.#number(v, doc, path, `${key}#number`, consumed, false));
      if (STRING_KEYWORDS.some(has)) out.push(this.#string(v, path, `${key}#string`, consumed));
      if (!doc.draft4 && CONDITIONAL_KEYWORDS.some(has)) {
        for (const k of CONDITIONAL_KEYWORDS) {
          consumed.add(k);
          this.#child(v, k, doc, path);
        }
        out.push({ kind: "conditional", key: `${key}#if` });
      }
    }
    return out;
  }

  #int(v: JsonObject, k: string, path: string[]): number | undefined {
    const x = v.get(k);
    if (x === undefined) return undefined;
    if (!isJsonNumber(x) || !x.integral) {
      return fail(`${pathText([...path, k])}: expected type: Integer, found: ${typeName(x)}`);
    }
    return x.value;
  }

  #num(v: JsonObject, k: string, path: string[]): JsonNumber | undefined {
    const x = v.get(k);
    if (x === undefined) return undefined;
    if (!isJsonNumber(x)) return fail(`${pathText([...path, k])}: expected type: Number, found: ${typeName(x)}`);
    return x;
  }

  #string(v: JsonObject, path: string[], key: string, consumed: Set<string>): JsonString {
    for (const k of STRING_KEYWORDS) consumed.add(k);
    const pattern = v.get("pattern");
    if (pattern !== undefined) {
      if (typeof pattern !== "string") {
        fail(`${pathText([...path, "pattern"])}: expected type: String, found: ${typeName(pattern)}`);
      }
      try {
        new RegExp(pattern, "u");
      } catch {
        fail(`${pathText([...path, "pattern"])}: invalid regular expression: ${pattern}`);
      }
    }
    return {
      kind: "string",
      key,
      minLength: this.#int(v, "minLength", path),
      maxLength: this.#int(v, "maxLength", path),
      pattern: typeof pattern === "string" ? pattern : undefined,
      format: typeof v.get("format") === "string" ? v.get("format") as string : undefined,
    };
  }

  #number(
    v: JsonObject,
    doc: Document,
    path: string[],
    key: string,
    consumed: Set<string>,
    integer: boolean,
  ): JsonNumberSchema {
    for (const k of NUMBER_KEYWORDS) consumed.add(k);
    const multipleOf = this.#num(v, "multipleOf", path);
    if (multipleOf !== undefined && multipleOf.value === 0) fail(`${pathText(path)}: multipleOf should not be 0`);
    const node: JsonNumberSchema = {
      kind: "number",
      key,
      requiresInteger: integer,
      minimum: this.#num(v, "minimum", path),
      maximum: this.#num(v, "maximum", path),
      multipleOf,
    };
    if (doc.draft4) {
      // Draft 4: the exclusive keywords are flags that make minimum/maximum exclusive.
      if (v.get("exclusiveMinimum") === true) [node.exclusiveMinimum, node.minimum] = [node.minimum, undefined];
      if (v.get("exclusiveMaximum") === true) [node.exclusiveMaximum, node.maximum] = [node.maximum, undefined];
    } else {
      node.exclusiveMinimum = this.#num(v, "exclusiveMinimum", path);
      node.exclusiveMaximum = this.#num(v, "exclusiveMaximum", path);
    }
    return node;
  }

  #array(v: JsonObject, doc: Document, path: string[], key: string, consumed: Set<string>): JsonArraySchema {
    for (const k of ARRAY_KEYWORDS) consumed.add(k);
    const node: JsonArraySchema = {
      kind: "array",
      key,
      permitsAdditionalItems: true,
      uniqueItems: v.get("uniqueItems") === true,
      minItems: this.#int(v, "minItems", path),
      maxItems: this.#int(v, "maxItems", path),
      minContains: this.#int(v, "minContains", path),
      maxContains: this.#int(v, "maxContains", path),
      unevaluatedItems: this.#child(v, "unevaluatedItems", doc, path),
    };
    node.contains = this.#child(v, "contains", doc, path);
    const prefix = v.get("prefixItems");
    const items = v.get("items");
    let additional = v.get("additionalItems");
    if (prefix !== undefined) {
      // 2020-12: prefixItems is the tuple and items the schema of the items after it.
      if (!Array.isArray(prefix)) {
        fail(`${pathText([...path, "prefixItems"])}: expected type: JSONArray, found: ${typeName(prefix)}`);
      }
      node.itemSchemas = prefix.map((s, i) => this.load(s, doc, [...path, "prefixItems", String(i)]));
      additional = items;
    } else if (doc.draft2020 && typeof items === "boolean") {
      additional = items;
    } else if (Array.isArray(items)) {
      node.itemSchemas = items.map((s, i) => this.load(s, doc, [...path, "items", String(i)]));
    } else if (items !== undefined) {
      node.allItems = this.load(items, doc, [...path, "items"]);
    }
    if (additional === false) node.permitsAdditionalItems = false;
    else if (additional !== undefined && additional !== true) {
      node.additionalItems = this.load(additional, doc, [...path, "additionalItems"]);
    }
    return node;
  }

  #object(v: JsonObject, doc: Document, path: string[], key: string, consumed: Set<string>): JsonObjectSchema {
    for (const k of OBJECT_KEYWORDS) consumed.add(k);
    const node: JsonObjectSchema = {
      kind: "object",
      key,
      properties: new Map(),
      required: [],
      permitsAdditionalProperties: true,
      patternProperties: [],
      propertyDependencies: new Map(),
      schemaDependencies: new Map(),
      minProperties: this.#int(v, "minProperties", path),
      maxProperties: this.#int(v, "maxProperties", path),
      unevaluatedProperties: this.#child(v, "unevaluatedProperties", doc, path),
    };
    const objectAt = (k: string): JsonObject | undefined => {
      const x = v.get(k);
      if (x === undefined) return undefined;
      return isJsonObject(x) ? x : fail(`${pathText([...path, k])}: expected type: JSONObject, found: ${typeName(x)}`);
    };
    for (const [name, s] of objectAt("properties") ?? []) {
      node.properties.set(name, this.load(s, doc, [...path, "properties", name]));
    }
    const required = v.get("required");
    if (required !== undefined) {
      if (!Array.isArray(required) || required.some((r) => typeof r !== "string")) {
        fail(`${pathText([...path, "required"])}: expected type: JSONArray of String, found: ${typeName(required)}`);
      }
      node.required = required as string[];
    }
    const additional = v.get("additionalProperties");
    if (additional === false) node.permitsAdditionalProperties = false;
    else if (additional !== undefined && additional !== true) {
      node.additionalProperties = this.load(additional, doc, [...path, "additionalProperties"]);
    }
    for (const [pattern, s] of objectAt("patternProperties") ?? []) {
      let re: RegExp;
      try {
        re = new RegExp(pattern, "u");
      } catch {
        return fail(`${pathText([...path, "patternProperties"])}: invalid regular expression: ${pattern}`);
      }
      node.patternProperties.push([re, this.load(s, doc, [...path, "patternProperties", pattern])]);
    }
    const deps = new Map([...(objectAt("dependencies") ?? []), ...(objectAt("dependentRequired") ?? [])]);
    for (const [name, d] of [...deps, ...(objectAt("dependentSchemas") ?? [])]) {
      if (Array.isArray(d)) node.propertyDependencies.set(name, new Set(d.filter((x) => typeof x === "string")));
      else node.schemaDependencies.set(name, this.load(d, doc, [...path, "dependencies", name]));
    }
    node.propertyNames = this.#child(v, "propertyNames", doc, path);
    return node;
  }
}

function unescapePointer(part: string): string {
  let decoded = part;
  try {
    decoded = decodeURIComponent(part);
  } catch {
    // not percent-encoded: use as written
  }
  return decoded.replaceAll("~1", "/").replaceAll("~0", "~");
}

/** Resolves a relative URI reference against a base (RFC 3986, enough for `$id`-relative refs). */
function resolveUri(base: string, ref: string): string {
  try {
    return new URL(ref, base).href;
  } catch {
    return ref;
  }
}

/**
 * Parses a JSON Schema document. References (`$ref` to other documents) are looked up by name;
 * declared references that nothing uses are still checked to exist and parse.
 */
export function parseJsonSchema(
  text: string,
  options: { references?: readonly string[]; lookup?: (name: string) => string | undefined } = {},
): JsonSchemaParseResult {
  const parsed = parseJson(text);
  if (!parsed.ok) return { ok: false, message: parsed.message };
  const value = parsed.value;
  if (typeof value !== "boolean" && !isJsonObject(value)) {
    return { ok: false, message: `#: expected type: JSONObject or Boolean, found: ${typeName(value)}` };
  }
  const loader = new Loader(options.lookup);
  try {
    for (const name of options.references ?? []) {
      const refText = options.lookup?.(name);
      if (refText === undefined) fail(`Reference "${name}" not found`);
      const refDoc = parseJson(refText);
      if (!refDoc.ok) fail(`Reference "${name}": ${refDoc.message}`);
      loader.document(name, refDoc.value);
    }
    const doc = loader.document("", value);
    const root = loader.at(doc, "");
    loader.resolveRefs();
    const title = isJsonObject(value) ? value.get("title") : undefined;
    return {
      ok: true,
      value: {
        schemaType: "JSON",
        canonical: stringifyJson(value, "decimal"),
        normalized: stringifyJson(sortKeys(value), "decimal"),
        root,
        name: typeof title === "string" ? title : undefined,
      },
    };
  } catch (e) {
    if (e instanceof JsonSchemaError) return { ok: false, message: e.message };
    throw e;
  }
}
