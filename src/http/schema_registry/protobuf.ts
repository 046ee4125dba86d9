/**
 * Protobuf schemas (`.proto` text) as Confluent's registry handles them. Confluent parses with
 * Square Wire's parser and keeps its element tree (`ProtoFileElement`): fields keep the label as
 * written (none, `optional`, `required`, `repeated`), type names as written, map fields as
 * `map<K, V>`, options with their kind (string, number, enum identifier…) and messages in
 * declaration order. Its canonical text and its compatibility diff are both computed on that tree,
 * so this module builds the same tree with its own parser. protobufjs is not used: its reflection
 * model drops what the canonical text needs (option kinds — an enum identifier and a string become
 * the same JS string —, number spellings, whether a label was written).
 *
 * Types are resolved with protobuf's scoping rules against the file, its imports (references,
 * looked up by import path) and the well-known imports Confluent knows without a reference; an
 * unresolvable type is a parse error, as with Confluent's `validate()`.
 *
 * @module
 */

import { protoFileFromBase64 } from "./protobuf_descriptor.ts";
import { WELL_KNOWN_TEXTS, WELL_KNOWN_TYPES } from "./protobuf_well_known.ts";
import { printProtoFile } from "./protobuf_text.ts";

export type ProtoLabel = "optional" | "required" | "repeated";
export type OptionKind = "STRING" | "BOOLEAN" | "NUMBER" | "ENUM" | "MAP" | "LIST" | "OPTION";

/** A scalar inside an aggregate option value. */
export interface OptionPrimitive {
  kind: "STRING" | "BOOLEAN" | "NUMBER" | "ENUM";
  value: string;
}
/** A value inside an aggregate (`{ a: 1, b { c: "x" } }`) or list option value. */
export type OptionAggregate = OptionPrimitive | Map<string, OptionAggregate> | OptionAggregate[];

/** Wire's `OptionElement`. `value` is a string for scalars, a nested option for `OPTION`. */
export interface ProtoOption {
  name: string;
  kind: OptionKind;
  value: string | ProtoOption | Map<string, OptionAggregate> | OptionAggregate[];
  parenthesized: boolean;
}

export interface ProtoField {
  label: ProtoLabel | undefined;
  /** As written: `int32`, `Foo.Bar`, `.pkg.Foo`, `map<string, Foo>`. */
  type: string;
  name: string;
  tag: number;
  defaultValue: string | undefined;
  jsonName: string | undefined;
  options: ProtoOption[];
}
export interface ProtoGroup {
  label: ProtoLabel | undefined;
  name: string;
  tag: number;
  fields: ProtoField[];
}
export interface ProtoOneOf {
  name: string;
  fields: ProtoField[];
  groups: ProtoGroup[];
  options: ProtoOption[];
}
/** A reserved or extensions entry: a number, a name, or an inclusive range. */
export type ProtoRangeValue = number | string | [number, number];
export interface ProtoReserved {
  values: ProtoRangeValue[];
}
export interface ProtoExtensions {
  values: ProtoRangeValue[];
  options: ProtoOption[];
}
export interface ProtoExtend {
  name: string;
  fields: ProtoField[];
}
export interface ProtoMessage {
  kind: "message";
  name: string;
  options: ProtoOption[];
  reserveds: ProtoReserved[];
  fields: ProtoField[];
  oneOfs: ProtoOneOf[];
  groups: ProtoGroup[];
  extensions: ProtoExtensions[];
  extendDeclarations: ProtoExtend[];
  nestedTypes: ProtoType[];
}
export interface ProtoEnumConstant {
  name: string;
  tag: number;
  options: ProtoOption[];
}
export interface ProtoEnum {
  kind: "enum";
  name: string;
  options: ProtoOption[];
  reserveds: ProtoReserved[];
  constants: ProtoEnumConstant[];
}
export type ProtoType = ProtoMessage | ProtoEnum;
export interface ProtoRpc {
  name: string;
  requestType: string;
  responseType: string;
  requestStreaming: boolean;
  responseStreaming: boolean;
  options: ProtoOption[];
}
export interface ProtoService {
  name: string;
  options: ProtoOption[];
  rpcs: ProtoRpc[];
}
export interface ProtoFile {
  syntax: "proto2" | "proto3" | undefined;
  edition: string | undefined;
  packageName: string | undefined;
  imports: string[];
  publicImports: string[];
  options: ProtoOption[];
  types: ProtoType[];
  extendDeclarations: ProtoExtend[];
  services: ProtoService[];
}

/** Where a type is declared: the main file (""), an import path, or a well-known import. */
export interface ProtoTypeInfo {
  fullName: string;
  packageName: string;
  /** Import path of the declaring file ("" for the schema itself). */
  file: string;
  kind: "message" | "enum";
  /** The element, when the declaring file was parsed (not for well-known types listed by name). */
  element: ProtoType | undefined;
  /** A synthetic map entry message (`option map_entry = true`), as descriptors carry them. */
  isMap: boolean;
}

/** Extension fields (custom options), by full name. */
export interface ProtoExtendInfo {
  fullName: string;
  field: ProtoField;
}

function resolveIn(table: Map<string, unknown>, name: string, scope: readonly string[]): string | undefined {
  if (name.startsWith(".")) return table.has(name.slice(1)) ? name.slice(1) : undefined;
  for (let n = scope.length; n > 0; n--) {
    const candidate = `${scope.slice(0, n).join(".")}.${name}`;
    if (table.has(candidate)) return candidate;
  }
  return table.has(name) ? name : undefined;
}

/** All types visible to a schema: its own, its imports' and the well-known ones. */
export class ProtoTypes {
  readonly types = new Map<string, ProtoTypeInfo>();
  readonly extendFields = new Map<string, ProtoExtendInfo>();
  /** The parsed files by import path ("" for the schema itself), for what a type's file says (its syntax). */
  readonly files = new Map<string, ProtoFile>();

  /**
   * The full name a type name stands for, seen from `scope` (package parts, then enclosing message
   * names), by protobuf's scoping rules: innermost scope first, a leading dot is absolute.
   */
  resolveName(name: string, scope: readonly string[]): string | undefined {
    return resolveIn(this.types, name, scope);
  }

  /** Like {@link resolveName}, for an extension field (a custom option's name). */
  resolveExtension(name: string, scope: readonly string[]): string | undefined {
    return resolveIn(this.extendFields, name, scope);
  }

  resolveType(name: string, scope: readonly string[]): ProtoTypeInfo | undefined {
    const full = this.resolveName(name, scope);
    return full === undefined ? undefined : this.types.get(full);
  }
}

/** A parsed Protobuf schema. */
export interface ProtobufParsed {
  readonly schemaType: "PROTOBUF";
  readonly canonical: string;
  readonly normalized: string;
  readonly file: ProtoFile;
  readonly types: ProtoTypes;
  /** Full name of the first message (Confluent `name()`), if any. */
  readonly name: string | undefined;
}

export type ProtobufParseResult = { ok: true; value: ProtobufParsed } | { ok: false; message: string };

export const SCALAR_TYPES: ReadonlySet<string> = new Set([
  "double",
  "float",
  "int32",
  "int64",
  "uint32",
  "uint64",
  "sint32",
  "sint64",
  "fixed32",
  "fixed64",
  "sfixed32",
  "sfixed64",
  "bool",
  "string",
  "bytes",
]);

/** Highest field number protobuf allows (also what `max` means in ranges). */
export const MAX_TAG_VALUE = 536_870_911;

class ProtoError extends SyntaxError {}

/** Splits `map<K, V>` into its key and value types. */
export function mapTypes(type: string): [string, string] | undefined {
  const m = /^map\s*<\s*([^,\s]+)\s*,\s*([^>\s]+)\s*>$/.exec(type);
  return m ? [m[1]!, m[2]!] : undefined;
}

/** Character-level reader with Wire's token rules (words are `[A-Za-z0-9_.-]+`). */
class Reader {
  readonly #s: string;
  #pos = 0;

  constructor(text: string) {
    this.#s = text;
  }

  fail(message: string): never {
    const before = this.#s.slice(0, this.#pos);
    const line = before.split("\n").length;
    const column = this.#pos - before.lastIndexOf("\n");
    throw new ProtoError(`Syntax error at line ${line}, column ${column}: ${message}`);
  }

  #skip(): void {
    const s = this.#s;
    for (;;) {
      while (this.#pos < s.length && /\s/.test(s[this.#pos]!)) this.#pos++;
      if (s.startsWith("//", this.#pos)) {
        const nl = s.indexOf("\n", this.#pos);
        this.#pos = nl < 0 ? s.length : nl + 1;
      } else if (s.startsWith("/*", this.#pos)) {
        const end = s.indexOf("*/", this.#pos + 2);
        if (end < 0) this.fail("unterminated comment");
        this.#pos = end + 2;
      } else return;
    }
  }

  exhausted(): boolean {
    this.#skip();
    return this.#pos >= this.#s.length;
  }

  peekChar(): string {
    this.#skip();
    return this.#s[this.#pos] ?? "";
  }

  /** Consumes `c` if it is next. */
  accept(c: string): boolean {
    if (this.peekChar() !== c) return false;
    this.#pos++;
    return true;
  }

  expect(c: string, what = `'${c}'`): void {
    if (!this.accept(c)) this.fail(`expected ${what}`);
  }

  readChar(): string {
    const c = this.peekChar();
    if (c === "") this.fail("unexpected end of file");
    this.#pos++;
    return c;
  }

  peekWord(): string {
    const save = this.#pos;
    const w = this.#word();
    this.#pos = save;
    return w;
  }

  #word(): string {
    this.#skip();
    const start = this.#pos;
    while (this.#pos < this.#s.length && /[A-Za-z0-9_.-]/.test(this.#s[this.#pos]!)) this.#pos++;
    return this.#s.slice(start, this.#pos);
  }

  readWord(what = "a word"): string {
    const w = this.#word();
    if (w === "") this.fail(`expected ${what}`);
    return w;
  }

  /** An identifier, or a `(...)` / `[...]` option name (returned without the brackets). */
  readName(): string {
    const c = this.peekChar();
    if (c === "(" || c === "[") {
      this.#pos++;
      const close = c === "(" ? ")" : "]";
      const end = this.#s.indexOf(close, this.#pos);
      if (end < 0) this.fail(`expected '${close}'`);
      const name = this.#s.slice(this.#pos, end).trim();
      this.#pos = end + 1;
      return name;
    }
    return this.readWord("a name");
  }

  readIdentifier(what: string): string {
    const w = this.readWord(what);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(w)) this.fail(`expected ${what}, got '${w}'`);
    return w;
  }

  /** Wire's readInt: decimal or 0x hex, optionally negative. */
  readInt(what: string): number {
    const w = this.readWord(what);
    const m = /^(-?)(0[xX][0-9a-fA-F]+|\d+)$/.exec(w);
    if (!m) this.fail(`expected ${what}, got '${w}'`);
    const n = Number.parseInt(m[2]!.replace(/^0[xX]/, ""), /^0[xX]/.test(m[2]!) ? 16 : 10) * (m[1] ? -1 : 1);
    if (!Number.isSafeInteger(n) || n > 2 ** 31 - 1 || n < -(2 ** 31)) this.fail(`${what} out of range: ${w}`);
    return n;
  }

  /** A quoted string; adjacent literals are concatenated. */
  readString(): string {
    let out = "";
    do {
      const q = this.readChar();
      if (q !== '"' && q !== "'") this.fail("expected a string");
      for (;;) {
        const c = this.#s[this.#pos++];
        if (c === undefined || c === "\n") this.fail("unterminated string");
        if (c === q) break;
        if (c !== "\\") {
          out += c;
          continue;
        }
        out += this.#escape();
      }
    } while (this.peekChar() === '"' || this.peekChar() === "'");
    return out;
  }

  #escape(): string {
    const c = this.#s[this.#pos++];
    const simple: Record<string, string> = {
      a: "\x07",
      b: "\b",
      f: "\f",
      n: "\n",
      r: "\r",
      t: "\t",
      v: "\v",
      "\\": "\\",
      "'": "'",
      '"': '"',
      "?": "?",
    };
    if (c !== undefined && c in simple) return simple[c]!;
    const digits = (re: RegExp, max: number, radix: number): string => {
      let d = "";
      while (d.length < max && re.test(this.#s[this.#pos] ?? "")) d += this.#s[this.#pos++];
      if (d === "") this.fail("invalid escape");
      return String.fromCodePoint(Number.parseInt(d, radix));
    };
    if (c === "x" || c === "X") return digits(/[0-9a-fA-F]/, 2, 16);
    if (c === "u") return digits(/[0-9a-fA-F]/, 4, 16);
    if (c === "U") return digits(/[0-9a-fA-F]/, 8, 16);
    if (c !== undefined && /[0-7]/.test(c)) {
      this.#pos--;
      return digits(/[0-7]/, 3, 8);
    }
    return this.fail("invalid escape");
  }
}

/** Parses `.proto` text into Wire's element tree (no type resolution). */
class ProtoParser {
  readonly r: Reader;
  #syntax: "proto2" | "proto3" | undefined;

  constructor(text: string) {
    this.r = new Reader(text);
  }

  file(): ProtoFile {
    const r = this.r;
    const f: ProtoFile = {
      syntax: undefined,
      edition: undefined,
      packageName: undefined,
      imports: [],
      publicImports: [],
      options: [],
      types: [],
      extendDeclarations: [],
      services: [],
    };
    let first = true;
    while (!r.exhausted()) {
      if (r.accept(";")) continue;
      const word = r.readWord("a declaration");
      switch (word) {
        case "syntax": {
          if (!first) r.fail("'syntax' must be the first declaration");
          r.expect("=");
          const s = r.readString();
          if (s !== "proto2" && s !== "proto3") return r.fail(`unexpected syntax: ${s}`);
          f.syntax = s;
          this.#syntax = s;
          r.expect(";");
          break;
        }
        case "edition": {
          if (!first) r.fail("'edition' must be the first declaration");
          r.expect("=");
          f.edition = r.readString();
          r.expect(";");
          break;
        }
        case "package": {
          if (f.packageName !== undefined) r.fail("too many package names");
          f.packageName = r.readWord("a package name");
          r.expect(";");
          break;
        }
        case "import": {
          const modifier = r.peekWord();
          if (modifier === "public" || modifier === "weak") r.readWord();
          const path = r.readString();
          (modifier === "public" ? f.publicImports : f.imports).push(path);
          r.expect(";");
          break;
        }
        case "option":
          f.options.push(this.option("="));
          r.expect(";");
          break;
        case "message":
          f.types.push(this.message());
          break;
        case "enum":
          f.types.push(this.enum());
          break;
        case "service":
          f.services.push(this.service());
          break;
        case "extend":
          f.extendDeclarations.push(this.extend());
          break;
        default:
          r.fail(`unexpected label: ${word}`);
      }
      first = false;
    }
    return f;
  }

  message(): ProtoMessage {
    const r = this.r;
    const m: ProtoMessage = {
      kind: "message",
      name: r.readIdentifier("a message name"),
      options: [],
      reserveds: [],
      fields: [],
      oneOfs: [],
      groups: [],
      extensions: [],
      extendDeclarations: [],
      nestedTypes: [],
    };
    r.expect("{");
    while (!r.accept("}")) {
      if (r.accept(";")) continue;
      const word = r.peekWord();
      switch (word) {
        case "option":
          r.readWord();
          m.options.push(this.option("="));
          r.expect(";");
          break;
        case "message":
          r.readWord();
          m.nestedTypes.push(this.message());
          break;
        case "enum":
          r.readWord();
          m.nestedTypes.push(this.enum());
          break;
        case "oneof":
          r.readWord();
          m.oneOfs.push(this.oneOf());
          break;
        case "reserved":
          r.readWord();
          m.reserveds.push({ values: this.ranges(true) });
          r.expect(";");
          break;
        case "extensions": {
          r.readWord();
          const values = this.ranges(false);
          const options = r.peekChar() === "[" ? this.optionList() : [];
          m.extensions.push({ values, options });
          r.expect(";");
          break;
        }
        case "extend":
          r.readWord();
          m.extendDeclarations.push(this.extend());
          break;
        case "":
          r.fail("expected a field, message, enum, oneof or option");
          break;
        default: {
          const field = this.fieldOrGroup(false);
          if ("fields" in field) m.groups.push(field);
          else m.fields.push(field);
        }
      }
    }
    return m;
  }

  oneOf(): ProtoOneOf {
    const r = this.r;
    const o: ProtoOneOf = { name: r.readIdentifier("a oneof name"), fields: [], groups: [], options: [] };
    r.expect("{");
    while (!r.accept("}")) {
      if (r.accept(";")) continue;
      if (r.peekWord() === "option") {
        r.readWord();
        o.options.push(this.option("="));
        r.expect(";");
        continue;
      }
      const field = this.fieldOrGroup(true);
      if ("fields" in field) o.groups.push(field);
      else o.fields.push(field);
    }
    return o;
  }

  fieldOrGroup(inOneOf: boolean): ProtoField | ProtoGroup {
    const r = this.r;
    let label: ProtoLabel | undefined;
    let type = r.readWord("a field type");
    if (type === "optional" || type === "required" || type === "repeated") {
      if (inOneOf) r.fail(`fields in oneofs must not have labels: ${type}`);
      label = type;
      type = r.readWord("a field type");
    }
    if (type === "map" && r.peekChar() === "<") {
      r.expect("<");
      const key = r.readWord("a map key type");
      r.expect(",");
      const value = r.readWord("a map value type");
      r.expect(">");
      type = `map<${key}, ${value}>`;
    } else if (type === "group") {
      const name = r.readIdentifier("a group name");
      r.expect("=");
      const tag = this.tag();
      if (r.peekChar() === "[") this.optionList();
      r.expect("{");
      const fields: ProtoField[] = [];
      while (!r.accept("}")) {
        if (r.accept(";")) continue;
        const f = this.fieldOrGroup(false);
        if ("fields" in f) return r.fail("nested groups are not supported");
        fields.push(f);
      }
      return { label, name, tag, fields };
    }
    if (!/^\.?[A-Za-z_][A-Za-z0-9_.]*$/.test(type) && !type.startsWith("map<")) {
      r.fail(`expected a field type, got '${type}'`);
    }
    if (this.#syntax === "proto3" && label === "required") r.fail("required fields are not allowed in proto3");
    const name = r.readIdentifier("a field name");
    r.expect("=");
    const tag = this.tag();
    const field: ProtoField = { label, type, name, tag, defaultValue: undefined, jsonName: undefined, options: [] };
    if (r.peekChar() === "[") {
      for (const o of this.optionList()) {
        if (o.name === "default" && !o.parenthesized && typeof o.value === "string") field.defaultValue = o.value;
        else if (o.name === "json_name" && !o.parenthesized && typeof o.value === "string") field.jsonName = o.value;
        else field.options.push(o);
      }
    }
    r.expect(";");
    return field;
  }

  tag(): number {
    const tag = this.r.readInt("a field number");
    if (tag < 1 || tag > MAX_TAG_VALUE) this.r.fail(`field number out of range: ${tag}`);
    return tag;
  }

  enum(): ProtoEnum {
    const r = this.r;
    const e: ProtoEnum = {
      kind: "enum",
      name: r.readIdentifier("an enum name"),
      options: [],
      reserveds: [],
      constants: [],
    };
    r.expect("{");
    while (!r.accept("}")) {
      if (r.accept(";")) continue;
      const word = r.peekWord();
      if (word === "option") {
        r.readWord();
        e.options.push(this.option("="));
      } else if (word === "reserved") {
        r.readWord();
        e.reserveds.push({ values: this.ranges(true) });
      } else {
        const name = r.readIdentifier("an enum constant name");
        r.expect("=");
        const tag = r.readInt("an enum value");
        const options = r.peekChar() === "[" ? this.optionList() : [];
        e.constants.push({ name, tag, options });
      }
      r.expect(";");
    }
    return e;
  }

  service(): ProtoService {
    const r = this.r;
    const s: ProtoService = { name: r.readIdentifier("a service name"), options: [], rpcs: [] };
    r.expect("{");
    while (!r.accept("}")) {
      if (r.accept(";")) continue;
      const word = r.readWord("an rpc or option");
      if (word === "option") {
        s.options.push(this.option("="));
        r.expect(";");
        continue;
      }
      if (word !== "rpc") r.fail(`unexpected label: ${word}`);
      const rpc: ProtoRpc = {
        name: r.readIdentifier("an rpc name"),
        requestType: "",
        responseType: "",
        requestStreaming: false,
        responseStreaming: false,
        options: [],
      };
      r.expect("(");
      let t = r.readWord("a request type");
      if (t === "stream" && r.peekChar() !== ")") {
        rpc.requestStreaming = true;
        t = r.readWord("a request type");
      }
      rpc.requestType = t;
      r.expect(")");
      if (r.readWord("'returns'") !== "returns") r.fail("expected 'returns'");
      r.expect("(");
      t = r.readWord("a response type");
      if (t === "stream" && r.peekChar() !== ")") {
        rpc.responseStreaming = true;
        t = r.readWord("a response type");
      }
      rpc.responseType = t;
      r.expect(")");
      if (r.accept("{")) {
        while (!r.accept("}")) {
          if (r.accept(";")) continue;
          if (r.readWord("an option") !== "option") r.fail("expected 'option'");
          rpc.options.push(this.option("="));
          r.expect(";");
        }
        r.accept(";");
      } else r.expect(";");
      s.rpcs.push(rpc);
    }
    return s;
  }

  extend(): ProtoExtend {
    const r = this.r;
    const x: ProtoExtend = { name: r.readWord("an extended type"), fields: [] };
    r.expect("{");
    while (!r.accept("}")) {
      if (r.accept(";")) continue;
      const f = this.fieldOrGroup(false);
      if (!("fields" in f)) x.fields.push(f);
    }
    return x;
  }

  ranges(allowNames: boolean): ProtoRangeValue[] {
    const r = this.r;
    const values: ProtoRangeValue[] = [];
    do {
      const c = r.peekChar();
      if (c === '"' || c === "'") {
        if (!allowNames) r.fail("expected a number");
        values.push(r.readString());
        continue;
      }
      if (allowNames && /[A-Za-z_]/.test(c)) {
        values.push(r.readIdentifier("a reserved name")); // editions spell reserved names bare
        continue;
      }
      const start = r.readInt("a number");
      if (r.peekWord() === "to") {
        r.readWord();
        const end = r.peekWord() === "max" ? (r.readWord(), MAX_TAG_VALUE) : r.readInt("a number");
        values.push([start, end]);
      } else values.push(start);
    } while (r.accept(","));
    return values;
  }

  optionList(): ProtoOption[] {
    const r = this.r;
    r.expect("[");
    const out: ProtoOption[] = [];
    do out.push(this.option("=")); while (r.accept(","));
    r.expect("]");
    return out;
  }

  /** Wire's `OptionReader.readOption`. */
  option(separator: "=" | ":"): ProtoOption {
    const r = this.r;
    const first = r.peekChar();
    const parenthesized = first === "(";
    let name = r.readName();
    if (first === "[") name = `[${name}]`;
    let subNames: string[] = [];
    let c = r.peekChar();
    if (c === ".") {
      r.readChar();
      subNames = r.readWord("an option name").split(".");
      c = r.peekChar();
    }
    if (!(separator === ":" && c === "{")) r.expect(separator);
    let [kind, value] = this.kindAndValue();
    for (const sub of subNames.reverse()) {
      value = { name: sub, kind, value, parenthesized: false };
      kind = "OPTION";
    }
    return { name, kind, value, parenthesized };
  }

  kindAndValue(): [OptionKind, ProtoOption["value"]] {
    const r = this.r;
    const c = r.peekChar();
    if (c === "{") return ["MAP", this.aggregate()];
    if (c === "[") return ["LIST", this.list()];
    if (c === '"' || c === "'") return ["STRING", r.readString()];
    const word = r.readWord("an option value");
    if (/^[0-9-]/.test(word)) return ["NUMBER", word];
    if (word === "true" || word === "false") return ["BOOLEAN", word];
    return ["ENUM", word];
  }

  #aggregateValue(kind: OptionKind, value: ProtoOption["value"]): OptionAggregate {
    if (kind === "MAP" || kind === "LIST") return value as OptionAggregate;
    return { kind: kind as OptionPrimitive["kind"], value: value as string };
  }

  aggregate(): Map<string, OptionAggregate> {
    const r = this.r;
    r.expect("{");
    const out = new Map<string, OptionAggregate>();
    while (!r.accept("}")) {
      const o = this.option(":");
      let value: OptionAggregate;
      if (o.kind === "OPTION") {
        const inner = o.value as ProtoOption;
        const nested = out.get(o.name) instanceof Map ? out.get(o.name) as Map<string, OptionAggregate> : new Map();
        nested.set(inner.name, this.#aggregateValue(inner.kind, inner.value));
        out.set(o.name, nested);
      } else {
        value = this.#aggregateValue(o.kind, o.value);
        const previous = out.get(o.name);
        if (previous === undefined) out.set(o.name, value);
        else if (Array.isArray(previous)) previous.push(...(Array.isArray(value) ? value : [value]));
        else out.set(o.name, [previous, ...(Array.isArray(value) ? value : [value])]);
      }
      if (!r.accept(",")) r.accept(";");
    }
    return out;
  }

  list(): OptionAggregate[] {
    const r = this.r;
    r.expect("[");
    const out: OptionAggregate[] = [];
    while (!r.accept("]")) {
      const [kind, value] = this.kindAndValue();
      out.push(this.#aggregateValue(kind, value));
      r.accept(",");
    }
    return out;
  }
}

/** Parses `.proto` text into its element tree, or the syntax error. */
export function parseProtoFile(text: string): { ok: true; value: ProtoFile } | { ok: false; message: string } {
  try {
    return { ok: true, value: new ProtoParser(text).file() };
  } catch (e) {
    if (e instanceof ProtoError) return { ok: false, message: e.message };
    throw e;
  }
}

function fail(message: string): never {
  throw new ProtoError(message);
}

/** Collects the types of one file into the table. */
function collectTypes(types: ProtoTypes, file: ProtoFile, path: string): void {
  const pkg = file.packageName ?? "";
  const prefix = pkg === "" ? [] : [pkg];
  types.files.set(path, file);
  const extend = (x: ProtoExtend[], scope: string[]) => {
    for (const e of x) {
      for (const f of e.fields) {
        const fullName = [...scope, f.name].join(".");
        types.extendFields.set(fullName, { fullName, field: f });
      }
    }
  };
  const walk = (list: ProtoType[], scope: string[]) => {
    for (const t of list) {
      const fullName = [...scope, t.name].join(".");
      const isMap = t.kind === "message" &&
        t.options.some((o) => o.name === "map_entry" && !o.parenthesized && o.value === "true");
      if (!types.types.has(fullName)) {
        types.types.set(fullName, { fullName, packageName: pkg, file: path, kind: t.kind, element: t, isMap });
      } else if (path === "") fail(`"${fullName}" is already defined`);
      if (t.kind === "message") {
        extend(t.extendDeclarations, [...scope, t.name]);
        walk(t.nestedTypes, [...scope, t.name]);
      }
    }
  };
  extend(file.extendDeclarations, prefix);
  walk(file.types, prefix);
}

/** Loads the imports of a file (references first, then well-known ones), depth first, once each. */
function loadImports(
  file: ProtoFile,
  types: ProtoTypes,
  lookup: ((name: string) => string | undefined) | undefined,
  loaded: Set<string>,
): void {
  for (const path of [...file.imports, ...file.publicImports]) {
    if (loaded.has(path)) continue;
    loaded.add(path);
    const text = lookup?.(path) ?? WELL_KNOWN_TEXTS.get(path);
    if (text !== undefined) {
      const parsed = parseProtoFile(text);
      if (!parsed.ok) fail(`Reference "${path}": ${parsed.message}`);
      loadImports(parsed.value, types, lookup, loaded);
      collectTypes(types, parsed.value, path);
      continue;
    }
    const known = WELL_KNOWN_TYPES.get(path);
    if (known === undefined) continue; // unresolved types, if any, are reported below
    for (const [names, kind] of [[known.messages, "message"], [known.enums, "enum"]] as const) {
      for (const n of names) {
        const fullName = `${known.packageName}.${n}`;
        types.types.set(fullName, {
          fullName,
          packageName: known.packageName,
          file: path,
          kind,
          element: undefined,
          isMap: false,
        });
      }
    }
  }
}

/** Checks what protoc would reject in a message and that every type name resolves. */
function validate(file: ProtoFile, types: ProtoTypes): void {
  const pkg = file.packageName ? file.packageName.split(".") : [];
  const need = (type: string, scope: string[]) => {
    if (SCALAR_TYPES.has(type)) return;
    const map = mapTypes(type);
    if (map) {
      if (!SCALAR_TYPES.has(map[0]) || map[0] === "double" || map[0] === "float" || map[0] === "bytes") {
        fail(`Invalid map key type: ${map[0]}`);
      }
      return need(map[1], scope);
    }
    if (types.resolveType(type, scope) === undefined) fail(`Could not resolve type: ${type}`);
  };
  const fieldsOf = (m: ProtoMessage) => [...m.fields, ...m.oneOfs.flatMap((o) => o.fields)];
  const message = (m: ProtoMessage, scope: string[]) => {
    const inner = [...scope, m.name];
    const tags = new Map<number, string>();
    const names = new Set<string>();
    for (const f of fieldsOf(m)) {
      if (tags.has(f.tag)) {
        fail(`Field number ${f.tag} has already been used in "${inner.join(".")}" by field "${tags.get(f.tag)}"`);
      }
      if (names.has(f.name)) fail(`Field "${f.name}" is already defined in "${inner.join(".")}"`);
      tags.set(f.tag, f.name);
      names.add(f.name);
      need(f.type, inner);
    }
    for (const x of m.extendDeclarations) {
      need(x.name, inner);
      for (const f of x.fields) need(f.type, inner);
    }
    types_(m.nestedTypes, inner);
  };
  const enumeration = (e: ProtoEnum, scope: string[]) => {
    const names = new Set<string>();
    for (const c of e.constants) {
      if (names.has(c.name)) fail(`Enum value "${c.name}" is already defined in "${[...scope, e.name].join(".")}"`);
      names.add(c.name);
    }
  };
  const types_ = (list: ProtoType[], scope: string[]) => {
    for (const t of list) t.kind === "message" ? message(t, scope) : enumeration(t, scope);
  };
  types_(file.types, pkg);
  for (const x of file.extendDeclarations) {
    need(x.name, pkg);
    for (const f of x.fields) need(f.type, pkg);
  }
  for (const s of file.services) {
    for (const rpc of s.rpcs) {
      need(rpc.requestType, pkg);
      need(rpc.responseType, pkg);
    }
  }
}

/**
 * Parses a Protobuf schema: `.proto` text, or (as Confluent falls back to) a base64
 * `FileDescriptorProto`. Imports are resolved through `lookup` (by import path), then the
 * well-known imports; `references` that the file does not import are still loaded and checked.
 */
export function parseProtobuf(
  text: string,
  options: { references?: readonly string[]; lookup?: (name: string) => string | undefined } = {},
): ProtobufParseResult {
  const parsed = parseProtoFile(text);
  const file = parsed.ok ? parsed.value : protoFileFromBase64(text);
  if (file === undefined) return parsed as { ok: false; message: string };
  try {
    const types = new ProtoTypes();
    const loaded = new Set<string>();
    loadImports(file, types, options.lookup, loaded);
    const extra = (options.references ?? []).filter((r) => !loaded.has(r));
    for (const r of extra) {
      const refText = options.lookup?.(r);
      if (refText === undefined) fail(`Reference "${r}" not found`);
      const ref = parseProtoFile(refText);
      if (!ref.ok) fail(`Reference "${r}": ${ref.message}`);
    }
    collectTypes(types, file, "");
    validate(file, types);
    const canonical = printProtoFile(file, types, { normalize: false });
    const normalized = printProtoFile(file, types, { normalize: true });
    const firstMessage = file.types.find((t) => t.kind === "message");
    const name = firstMessage === undefined
      ? undefined
      : file.packageName
      ? `${file.packageName}.${firstMessage.name}`
      : firstMessage.name;
    return { ok: true, value: { schemaType: "PROTOBUF", canonical, normalized, file, types, name } };
  } catch (e) {
    if (e instanceof ProtoError) return { ok: false, message: e.message };
    throw e;
  }
}
