/**
 * Protobuf schemas registered as a base64 `FileDescriptorProto` (what the official JS client
 * `@confluentinc/schemaregistry` sends). Confluent tries the `.proto` text parser first and falls back
 * to this form, converting the descriptor into Wire's element tree (`ProtobufSchema.toProtoFile`):
 * fully qualified type names with a leading dot, synthetic map-entry messages kept, proto3 labels
 * dropped unless `optional`, the standard options it knows plus Confluent's `meta` extensions, other
 * custom options dropped. The canonical text is then printed from that tree like any schema.
 *
 * @module
 */

import type {
  OptionAggregate,
  ProtoEnum,
  ProtoExtend,
  ProtoField,
  ProtoFile,
  ProtoMessage,
  ProtoOneOf,
  ProtoOption,
  ProtoRangeValue,
  ProtoService,
} from "./protobuf.ts";

class DescriptorError extends RangeError {}

/** One field of an encoded message: varints as bigint, length-delimited as bytes. */
type Raw = { n: number; v: bigint | Uint8Array };

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Splits an encoded message into its fields, in order (fixed32/64 are skipped). */
function fields(bytes: Uint8Array): Raw[] {
  const out: Raw[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const b = bytes[pos++];
      if (b === undefined) throw new DescriptorError("truncated varint");
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
    }
    throw new DescriptorError("varint too long");
  };
  while (pos < bytes.length) {
    const key = varint();
    const n = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (n === 0) throw new DescriptorError("field number 0");
    if (wire === 0) out.push({ n, v: varint() });
    else if (wire === 2) {
      const len = Number(varint());
      if (pos + len > bytes.length) throw new DescriptorError("truncated field");
      out.push({ n, v: bytes.subarray(pos, pos + len) });
      pos += len;
    } else if (wire === 1 || wire === 5) {
      pos += wire === 1 ? 8 : 4;
      if (pos > bytes.length) throw new DescriptorError("truncated field");
    } else throw new DescriptorError(`unsupported wire type ${wire}`);
  }
  return out;
}

const str = (v: bigint | Uint8Array): string => (v instanceof Uint8Array ? utf8.decode(v) : String(v));
const int32 = (v: bigint | Uint8Array): number => (typeof v === "bigint" ? Number(BigInt.asIntN(32, v)) : 0);
const bytesOf = (v: bigint | Uint8Array): Uint8Array => (v instanceof Uint8Array ? v : new Uint8Array());

function get(list: Raw[], n: number): bigint | Uint8Array | undefined {
  let last: bigint | Uint8Array | undefined;
  for (const f of list) if (f.n === n) last = f.v;
  return last;
}
const all = (list: Raw[], n: number) => list.filter((f) => f.n === n).map((f) => f.v);

/** Repeated int32 fields may be packed. */
function ints(list: Raw[], n: number): number[] {
  const out: number[] = [];
  for (const v of all(list, n)) {
    if (typeof v === "bigint") out.push(int32(v));
    else {
      for (let pos = 0; pos < v.length;) {
        let r = 0n;
        let shift = 0n;
        for (;;) {
          const b = v[pos++];
          if (b === undefined) throw new DescriptorError("truncated packed varint");
          r |= BigInt(b & 0x7f) << shift;
          shift += 7n;
          if ((b & 0x80) === 0) break;
        }
        out.push(int32(r));
      }
    }
  }
  return out;
}

const opt = (name: string, kind: ProtoOption["kind"], value: string): ProtoOption => ({
  name,
  kind,
  value,
  parenthesized: false,
});

/** A standard option of a descriptor options message: field number, name, kind, enum names. */
type Known = [number, string, "STRING" | "BOOLEAN" | "ENUM", string[]?];

const FILE_OPTIONS: Known[] = [
  [1, "java_package", "STRING"],
  [8, "java_outer_classname", "STRING"],
  [10, "java_multiple_files", "BOOLEAN"],
  [20, "java_generate_equals_and_hash", "BOOLEAN"],
  [27, "java_string_check_utf8", "BOOLEAN"],
  [9, "optimize_for", "ENUM", ["", "SPEED", "CODE_SIZE", "LITE_RUNTIME"]],
  [11, "go_package", "STRING"],
  [16, "cc_generic_services", "BOOLEAN"],
  [17, "java_generic_services", "BOOLEAN"],
  [18, "py_generic_services", "BOOLEAN"],
  [23, "deprecated", "BOOLEAN"],
  [31, "cc_enable_arenas", "BOOLEAN"],
  [36, "objc_class_prefix", "STRING"],
  [37, "csharp_namespace", "STRING"],
  [39, "swift_prefix", "STRING"],
  [40, "php_class_prefix", "STRING"],
  [41, "php_namespace", "STRING"],
  [44, "php_metadata_namespace", "STRING"],
  [45, "ruby_package", "STRING"],
];
const MESSAGE_OPTIONS: Known[] = [[2, "no_standard_descriptor_accessor", "BOOLEAN"], [3, "deprecated", "BOOLEAN"], [
  7,
  "map_entry",
  "BOOLEAN",
]];
const FIELD_OPTIONS: Known[] = [
  [1, "ctype", "ENUM", ["STRING", "CORD", "STRING_PIECE"]],
  [2, "packed", "BOOLEAN"],
  [6, "jstype", "ENUM", ["JS_NORMAL", "JS_STRING", "JS_NUMBER"]],
  [3, "deprecated", "BOOLEAN"],
  [16, "debug_redact", "BOOLEAN"],
  [17, "retention", "ENUM", ["RETENTION_UNKNOWN", "RETENTION_RUNTIME", "RETENTION_SOURCE"]],
];
const TARGET_TYPES = [
  "TARGET_TYPE_UNKNOWN",
  "TARGET_TYPE_FILE",
  "TARGET_TYPE_EXTENSION_RANGE",
  "TARGET_TYPE_MESSAGE",
  "TARGET_TYPE_FIELD",
  "TARGET_TYPE_ONEOF",
  "TARGET_TYPE_ENUM",
  "TARGET_TYPE_ENUM_ENTRY",
  "TARGET_TYPE_SERVICE",
  "TARGET_TYPE_METHOD",
];
const ENUM_OPTIONS: Known[] = [[2, "allow_alias", "BOOLEAN"], [3, "deprecated", "BOOLEAN"]];
const ENUM_VALUE_OPTIONS: Known[] = [[1, "deprecated", "BOOLEAN"], [3, "debug_redact", "BOOLEAN"]];
const SERVICE_OPTIONS: Known[] = [[33, "deprecated", "BOOLEAN"]];
const METHOD_OPTIONS: Known[] = [[33, "deprecated", "BOOLEAN"], [34, "idempotency_level", "ENUM", [
  "IDEMPOTENCY_UNKNOWN",
  "NO_SIDE_EFFECTS",
  "IDEMPOTENT",
]]];
/** Confluent's `meta` extensions on each options message. */
const META_FIELD = 1088;

/** Confluent `toOption(name, Meta)`: doc, params (value first for precision/scale), tags, rules. */
function metaOption(name: string, bytes: Uint8Array): ProtoOption | undefined {
  const m = fields(bytes);
  const s = (value: string): OptionAggregate => ({ kind: "STRING", value });
  const map = new Map<string, OptionAggregate>();
  const doc = get(m, 1);
  if (doc !== undefined && str(doc) !== "") map.set("doc", s(str(doc)));
  const params = all(m, 2).map((e) => {
    const kv = fields(bytesOf(e));
    const key = str(get(kv, 1) ?? new Uint8Array());
    const value = str(get(kv, 2) ?? new Uint8Array());
    const entry = new Map<string, OptionAggregate>();
    if (key === "precision" || key === "scale") entry.set("value", s(value)).set("key", s(key));
    else entry.set("key", s(key)).set("value", s(value));
    return entry;
  });
  if (params.length > 0) map.set("params", params);
  const tags = all(m, 3).map((t) => s(str(t)));
  if (tags.length > 0) map.set("tags", tags);
  const rules = all(m, 4).map((r) => {
    const rf = fields(bytesOf(r));
    const entry = new Map<string, OptionAggregate>();
    for (const [n, key] of [[1, "name"], [2, "doc"], [3, "expr"], [4, "sql"]] as const) {
      const v = get(rf, n);
      if (v !== undefined && str(v) !== "") entry.set(key, s(str(v)));
    }
    return entry;
  }).filter((e) => e.size > 0);
  if (rules.length > 0) map.set("rules", rules);
  return map.size === 0 ? undefined : { name, kind: "MAP", value: map, parenthesized: true };
}

function options(raw: bigint | Uint8Array | undefined, known: Known[], meta?: string): ProtoOption[] {
  if (raw === undefined) return [];
  const o = fields(bytesOf(raw));
  const out: ProtoOption[] = [];
  for (const [n, name, kind, names] of known) {
    const v = get(o, n);
    if (v === undefined) continue;
    if (kind === "STRING") out.push(opt(name, kind, str(v)));
    else if (kind === "BOOLEAN") out.push(opt(name, kind, v === 0n ? "false" : "true"));
    else out.push(opt(name, kind, names?.[int32(v)] ?? String(int32(v))));
  }
  if (known === FIELD_OPTIONS) {
    for (const t of ints(o, 19)) out.push(opt("targets", "ENUM", TARGET_TYPES[t] ?? String(t)));
  }
  const m = meta === undefined ? undefined : get(o, META_FIELD);
  if (meta !== undefined && m instanceof Uint8Array) {
    const option = metaOption(meta, m);
    if (option) out.push(option);
  }
  return out;
}

const SCALARS = [
  "",
  "double",
  "float",
  "int64",
  "uint64",
  "int32",
  "fixed64",
  "fixed32",
  "bool",
  "string",
  "group",
  "message",
  "bytes",
  "uint32",
  "enum",
  "sfixed32",
  "sfixed64",
  "sint32",
  "sint64",
];

function field(f: Raw[], proto3: boolean, inOneOf: boolean): ProtoField {
  const typeName = get(f, 6);
  const label = int32(get(f, 4) ?? 1n);
  const proto3Optional = get(f, 17) !== undefined && get(f, 17) !== 0n;
  let fieldLabel: ProtoField["label"];
  if (!inOneOf) {
    if (proto3Optional) fieldLabel = "optional";
    else if (label === 3) fieldLabel = "repeated";
    else if (!proto3) fieldLabel = label === 2 ? "required" : "optional";
  }
  const def = get(f, 7);
  const json = get(f, 10);
  return {
    label: fieldLabel,
    type: typeName !== undefined ? str(typeName) : SCALARS[int32(get(f, 5) ?? 0n)] ?? "",
    name: str(get(f, 1) ?? new Uint8Array()),
    tag: int32(get(f, 3) ?? 0n),
    defaultValue: !proto3 && def !== undefined ? str(def) : undefined,
    jsonName: json !== undefined ? str(json) : undefined,
    options: options(get(f, 8), FIELD_OPTIONS, "confluent.field_meta"),
  };
}

function extendsOf(list: (bigint | Uint8Array)[], proto3: boolean): ProtoExtend[] {
  const byExtendee = new Map<string, ProtoField[]>();
  for (const raw of list) {
    const f = fields(bytesOf(raw));
    const extendee = str(get(f, 2) ?? new Uint8Array());
    byExtendee.set(extendee, [...(byExtendee.get(extendee) ?? []), field(f, proto3, false)]);
  }
  return [...byExtendee].map(([name, fs]) => ({ name, fields: fs }));
}

/** Reserved/extension ranges: `end` is exclusive in messages, inclusive in enums. */
function range(raw: bigint | Uint8Array, endExclusive: boolean): ProtoRangeValue {
  const r = fields(bytesOf(raw));
  const start = int32(get(r, 1) ?? 0n);
  const end = int32(get(r, 2) ?? 0n) - (endExclusive ? 1 : 0);
  return start === end ? start : [start, end];
}

function message(raw: bigint | Uint8Array, proto3: boolean): ProtoMessage {
  const d = fields(bytesOf(raw));
  const oneOfs: ProtoOneOf[] = all(d, 8).map((o) => ({
    name: str(get(fields(bytesOf(o)), 1) ?? new Uint8Array()),
    fields: [],
    groups: [],
    options: [],
  }));
  const m: ProtoMessage = {
    kind: "message",
    name: str(get(d, 1) ?? new Uint8Array()),
    options: options(get(d, 7), MESSAGE_OPTIONS, "confluent.message_meta"),
    reserveds: [
      ...all(d, 9).map((r) => ({ values: [range(r, true)] })),
      ...all(d, 10).map((n) => ({ values: [str(n)] })),
    ],
    fields: [],
    oneOfs: [],
    groups: [],
    extensions: all(d, 5).map((r) => ({ values: [range(r, true)], options: [] })),
    extendDeclarations: extendsOf(all(d, 6), proto3),
    nestedTypes: [...all(d, 3).map((n) => message(n, proto3)), ...all(d, 4).map((e) => enumOf(e))],
  };
  for (const raw of all(d, 2)) {
    const f = fields(bytesOf(raw));
    const oneOfIndex = get(f, 9);
    const proto3Optional = get(f, 17) !== undefined && get(f, 17) !== 0n;
    const oneOf = oneOfIndex !== undefined && !proto3Optional ? oneOfs[int32(oneOfIndex)] : undefined;
    if (oneOf !== undefined) oneOf.fields.push(field(f, proto3, true));
    else m.fields.push(field(f, proto3, false));
  }
  m.oneOfs = oneOfs.filter((o) => o.fields.length > 0);
  return m;
}

function enumOf(raw: bigint | Uint8Array): ProtoEnum {
  const d = fields(bytesOf(raw));
  return {
    kind: "enum",
    name: str(get(d, 1) ?? new Uint8Array()),
    options: options(get(d, 3), ENUM_OPTIONS, "confluent.enum_meta"),
    reserveds: [
      ...all(d, 4).map((r) => ({ values: [range(r, false)] })),
      ...all(d, 5).map((n) => ({ values: [str(n)] })),
    ],
    constants: all(d, 2).map((v) => {
      const c = fields(bytesOf(v));
      return {
        name: str(get(c, 1) ?? new Uint8Array()),
        tag: int32(get(c, 2) ?? 0n),
        options: options(get(c, 3), ENUM_VALUE_OPTIONS, "confluent.enum_value_meta"),
      };
    }),
  };
}

function service(raw: bigint | Uint8Array): ProtoService {
  const d = fields(bytesOf(raw));
  return {
    name: str(get(d, 1) ?? new Uint8Array()),
    options: options(get(d, 3), SERVICE_OPTIONS),
    rpcs: all(d, 2).map((r) => {
      const m = fields(bytesOf(r));
      return {
        name: str(get(m, 1) ?? new Uint8Array()),
        requestType: str(get(m, 2) ?? new Uint8Array()),
        responseType: str(get(m, 3) ?? new Uint8Array()),
        requestStreaming: (get(m, 5) ?? 0n) !== 0n,
        responseStreaming: (get(m, 6) ?? 0n) !== 0n,
        options: options(get(m, 4), METHOD_OPTIONS),
      };
    }),
  };
}

/** Decodes base64 text (Java's basic decoder alphabet; padding optional). */
function base64(text: string): Uint8Array | undefined {
  const t = text.trim();
  if (t.length === 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(t) || t.length % 4 === 1) return undefined;
  try {
    const bin = atob(t.padEnd(Math.ceil(t.length / 4) * 4, "="));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/** Converts a base64 `FileDescriptorProto` into Wire's element tree, or undefined if it is not one. */
export function protoFileFromBase64(text: string): ProtoFile | undefined {
  const bytes = base64(text);
  if (bytes === undefined) return undefined;
  try {
    const d = fields(bytes);
    const syntaxText = get(d, 12) === undefined ? "" : str(get(d, 12)!);
    const proto3 = syntaxText === "proto3";
    const pkg = get(d, 2) === undefined ? "" : str(get(d, 2)!);
    const deps = all(d, 3).map(str);
    const publicDeps = new Set(ints(d, 10));
    const weakDeps = new Set(ints(d, 11));
    const file: ProtoFile = {
      syntax: syntaxText === "proto2" ? "proto2" : proto3 ? "proto3" : undefined,
      edition: undefined,
      packageName: pkg === "" ? undefined : pkg,
      imports: deps.filter((_, i) => !publicDeps.has(i) && !weakDeps.has(i)),
      publicImports: deps.filter((_, i) => publicDeps.has(i)),
      options: options(get(d, 8), FILE_OPTIONS, "confluent.file_meta"),
      types: [...all(d, 4).map((m) => message(m, proto3)), ...all(d, 5).map((e) => enumOf(e))],
      extendDeclarations: extendsOf(all(d, 7), proto3),
      services: all(d, 6).map(service),
    };
    const named = (n: string) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(n);
    const check = (types: ProtoFile["types"]): boolean =>
      types.every((t) =>
        named(t.name) &&
        (t.kind === "enum" ||
          ([...t.fields, ...t.oneOfs.flatMap((o) => o.fields)].every((f) =>
            named(f.name) && f.type !== "" && f.tag > 0
          ) &&
            check(t.nestedTypes)))
      );
    return check(file.types) ? file : undefined;
  } catch (e) {
    if (e instanceof DescriptorError || e instanceof TypeError) return undefined;
    throw e;
  }
}
