/**
 * Protobuf compatibility as Confluent decides it (`protobuf.diff.SchemaDiff`, §9.3): the old file is
 * diffed against the new one; messages and enums are matched by name at each nesting level, fields
 * by number across the whole message (oneof membership tracked separately), and the change is
 * compatible when every difference is in the compatible set. Scalar type changes are allowed within
 * wire-compatible groups; a field that refers to another message by the same name in an imported
 * file is compared recursively.
 *
 * @module
 */

import {
  mapTypes,
  type ProtobufParsed,
  type ProtoEnum,
  type ProtoField,
  type ProtoMessage,
  type ProtoOneOf,
  type ProtoType,
  type ProtoTypeInfo,
  type ProtoTypes,
  SCALAR_TYPES,
} from "./protobuf.ts";

export const PROTOBUF_DIFFERENCE_TYPES = [
  "PACKAGE_CHANGED",
  "MESSAGE_ADDED",
  "MESSAGE_REMOVED",
  "MESSAGE_MOVED",
  "ENUM_ADDED",
  "ENUM_REMOVED",
  "ENUM_CONST_ADDED",
  "ENUM_CONST_CHANGED",
  "ENUM_CONST_REMOVED",
  "FIELD_ADDED",
  "FIELD_REMOVED",
  "FIELD_NAME_CHANGED",
  "FIELD_KIND_CHANGED",
  "FIELD_SCALAR_KIND_CHANGED",
  "FIELD_NAMED_TYPE_CHANGED",
  "FIELD_NUMERIC_LABEL_CHANGED",
  "FIELD_STRING_OR_BYTES_LABEL_CHANGED",
  "REQUIRED_FIELD_ADDED",
  "REQUIRED_FIELD_REMOVED",
  "ONEOF_ADDED",
  "ONEOF_REMOVED",
  "ONEOF_FIELD_ADDED",
  "ONEOF_FIELD_REMOVED",
  "ONEOF_FIELD_MOVED_TO_TOP_LEVEL",
  "MULTIPLE_FIELDS_MOVED_TO_ONEOF",
  "FIELD_MOVED_TO_EXISTING_ONEOF",
] as const;
export type ProtobufDifferenceType = (typeof PROTOBUF_DIFFERENCE_TYPES)[number];

export interface ProtobufDifference {
  type: ProtobufDifferenceType;
  path: string;
}

/** The difference types Confluent accepts. */
export const PROTOBUF_COMPATIBLE: ReadonlySet<ProtobufDifferenceType> = new Set<ProtobufDifferenceType>([
  "MESSAGE_ADDED",
  "MESSAGE_MOVED",
  "ENUM_ADDED",
  "ENUM_REMOVED",
  "ENUM_CONST_ADDED",
  "ENUM_CONST_CHANGED",
  "ENUM_CONST_REMOVED",
  "FIELD_ADDED",
  "FIELD_REMOVED",
  "FIELD_NAME_CHANGED",
  "FIELD_STRING_OR_BYTES_LABEL_CHANGED",
  "ONEOF_ADDED",
  "ONEOF_REMOVED",
  "ONEOF_FIELD_ADDED",
  "ONEOF_FIELD_MOVED_TO_TOP_LEVEL",
]);

interface Side {
  types: ProtoTypes;
  packageName: string;
}

class Ctx {
  readonly diffs: ProtobufDifference[] = [];
  readonly original: Side;
  readonly update: Side;
  /** Path segments (`#/Msg/oneof/3`) and the subset that are names (type resolution scope). */
  readonly path: string[];
  readonly names: string[];
  /** Original messages being compared (breaks recursion through imported types). */
  readonly active: Set<ProtoMessage>;

  constructor(
    original: Side,
    update: Side,
    path: string[] = [],
    names: string[] = [],
    active = new Set<ProtoMessage>(),
  ) {
    this.original = original;
    this.update = update;
    this.path = path;
    this.names = names;
    this.active = active;
  }

  sub(original: Side = this.original, update: Side = this.update): Ctx {
    return new Ctx(original, update, [...this.path], [...this.names], new Set(this.active));
  }

  add(type: ProtobufDifferenceType): void {
    this.diffs.push({ type, path: `#/${this.path.join("/")}` });
  }

  at<T>(segment: string, f: () => T): T {
    this.path.push(segment);
    try {
      return f();
    } finally {
      this.path.pop();
    }
  }

  named<T>(name: string, f: () => T): T {
    this.path.push(name);
    this.names.push(name);
    try {
      return f();
    } finally {
      this.names.pop();
      this.path.pop();
    }
  }

  isCompatible(): boolean {
    return this.diffs.every((d) => PROTOBUF_COMPATIBLE.has(d.type));
  }

  side(isOriginal: boolean): Side {
    return isOriginal ? this.original : this.update;
  }

  scope(isOriginal: boolean): string[] {
    const pkg = this.side(isOriginal).packageName;
    return [...(pkg === "" ? [] : pkg.split(".")), ...this.names];
  }

  resolve(name: string, isOriginal: boolean): string | undefined {
    return this.side(isOriginal).types.resolveName(name, this.scope(isOriginal));
  }

  type(name: string, isOriginal: boolean): ProtoTypeInfo | undefined {
    const full = this.resolve(name, isOriginal);
    return full === undefined ? undefined : this.side(isOriginal).types.types.get(full);
  }
}

function compareTypeElements(ctx: Ctx, original: ProtoType[], update: ProtoType[]): void {
  const index = (list: ProtoType[]) => {
    const messages = new Map<string, [ProtoMessage, number]>();
    const enums = new Map<string, ProtoEnum>();
    let i = 0;
    for (const t of list) {
      if (t.kind === "message") messages.set(t.name, [t, i++]);
      else enums.set(t.name, t);
    }
    return { messages, enums };
  };
  const o = index(original);
  const u = index(update);
  for (const name of new Set([...o.messages.keys(), ...u.messages.keys()])) {
    ctx.named(name, () => {
      const om = o.messages.get(name);
      const um = u.messages.get(name);
      if (um === undefined) {
        const info = ctx.type(name, true);
        if (info !== undefined && !info.isMap) ctx.add("MESSAGE_REMOVED");
      } else if (om === undefined) {
        const info = ctx.type(name, false);
        if (info !== undefined && !info.isMap) ctx.add("MESSAGE_ADDED");
      } else {
        compareMessages(ctx, om[0], um[0]);
        // Message indexes are relative to the writer's schema id, so a move stays compatible.
        if (om[1] !== um[1]) ctx.add("MESSAGE_MOVED");
      }
    });
  }
  for (const name of new Set([...o.enums.keys(), ...u.enums.keys()])) {
    ctx.named(name, () => {
      const oe = o.enums.get(name);
      const ue = u.enums.get(name);
      if (ue === undefined) ctx.add("ENUM_REMOVED");
      else if (oe === undefined) ctx.add("ENUM_ADDED");
      else compareEnums(ctx, oe, ue);
    });
  }
}

function compareEnums(ctx: Ctx, o: ProtoEnum, u: ProtoEnum): void {
  const ot = new Map(o.constants.map((c) => [c.tag, c]));
  const ut = new Map(u.constants.map((c) => [c.tag, c]));
  for (const tag of new Set([...ot.keys(), ...ut.keys()])) {
    ctx.at(String(tag), () => {
      const oc = ot.get(tag);
      const uc = ut.get(tag);
      if (uc === undefined) ctx.add("ENUM_CONST_REMOVED");
      else if (oc === undefined) ctx.add("ENUM_CONST_ADDED");
      else if (oc.name !== uc.name) ctx.add("ENUM_CONST_CHANGED");
    });
  }
}

function collectFields(m: ProtoMessage) {
  const byTag = new Map<number, ProtoField>();
  const tagToOneOf = new Map<number, string>();
  const oneOfs = new Map<string, ProtoOneOf>();
  for (const f of m.fields) byTag.set(f.tag, f);
  for (const o of m.oneOfs) {
    oneOfs.set(o.name, o);
    for (const f of o.fields) {
      byTag.set(f.tag, f);
      tagToOneOf.set(f.tag, o.name);
    }
  }
  return { byTag, tagToOneOf, oneOfs };
}

function compareMessages(ctx: Ctx, original: ProtoMessage, update: ProtoMessage): void {
  if (!ctx.active.has(original)) {
    ctx.active.add(original);
    try {
      compareMessageFields(ctx, original, update);
    } finally {
      ctx.active.delete(original);
    }
  }
  compareTypeElements(ctx, original.nestedTypes, update.nestedTypes);
}

function compareMessageFields(ctx: Ctx, original: ProtoMessage, update: ProtoMessage): void {
  const o = collectFields(original);
  const u = collectFields(update);
  // A oneof removed with none of its members left anywhere is a whole deletion (compatible).
  const deleted = new Set<string>();
  for (const [name, oneOf] of o.oneOfs) {
    if (!u.oneOfs.has(name) && !oneOf.fields.some((f) => u.byTag.has(f.tag))) deleted.add(name);
  }
  // Members of a new oneof that came from different original groups are newly exclusive.
  for (const oneOf of update.oneOfs) {
    ctx.at(oneOf.name, () => {
      const groups = new Set<string>();
      let movedIn = 0;
      for (const f of oneOf.fields) {
        const from = o.tagToOneOf.get(f.tag);
        if (from !== undefined) groups.add(`oneof:${from}`);
        else if (o.byTag.has(f.tag)) {
          groups.add(`field:${f.tag}`);
          movedIn++;
        }
      }
      if (groups.size > 1) ctx.add(movedIn > 1 ? "MULTIPLE_FIELDS_MOVED_TO_ONEOF" : "FIELD_MOVED_TO_EXISTING_ONEOF");
    });
  }
  for (const name of [...new Set([...o.oneOfs.keys(), ...u.oneOfs.keys()])].sort()) {
    ctx.at(name, () => {
      if (!u.oneOfs.has(name)) ctx.add("ONEOF_REMOVED");
      else if (!o.oneOfs.has(name)) ctx.add("ONEOF_ADDED");
    });
  }
  const tags = [...new Set([...o.byTag.keys(), ...u.byTag.keys()])].sort((a, b) => a - b);
  for (const tag of tags) {
    const of = o.byTag.get(tag);
    const uf = u.byTag.get(tag);
    const oo = o.tagToOneOf.get(tag);
    const uo = u.tagToOneOf.get(tag);
    const atTag = (f: () => void) => ctx.at(String(tag), f);
    if (uf === undefined) {
      if (oo !== undefined) {
        if (!deleted.has(oo)) ctx.at(oo, () => atTag(() => ctx.add("ONEOF_FIELD_REMOVED")));
      } else atTag(() => ctx.add(of!.label === "required" ? "REQUIRED_FIELD_REMOVED" : "FIELD_REMOVED"));
    } else if (of === undefined) {
      if (uo !== undefined) ctx.at(uo, () => atTag(() => ctx.add("ONEOF_FIELD_ADDED")));
      else atTag(() => ctx.add(uf.label === "required" ? "REQUIRED_FIELD_ADDED" : "FIELD_ADDED"));
    } else {
      if (oo !== undefined && uo === undefined) atTag(() => ctx.add("ONEOF_FIELD_MOVED_TO_TOP_LEVEL"));
      if (uo !== undefined) ctx.at(uo, () => atTag(() => compareFields(ctx, of, uf)));
      else atTag(() => compareFields(ctx, of, uf));
    }
  }
}

type Kind = "SCALAR" | "MAP" | "MESSAGE";

function kind(ctx: Ctx, type: string, isOriginal: boolean): Kind {
  if (SCALAR_TYPES.has(type)) return "SCALAR";
  if (mapTypes(type)) return "MAP";
  return ctx.type(type, isOriginal)?.kind === "enum" ? "SCALAR" : "MESSAGE";
}

function scalarKind(ctx: Ctx, type: string, isOriginal: boolean): string {
  if (ctx.type(type, isOriginal)?.kind === "enum") return "GENERAL_NUMBER";
  switch (type) {
    case "int32":
    case "int64":
    case "uint32":
    case "uint64":
    case "bool":
      return "GENERAL_NUMBER";
    case "sint32":
    case "sint64":
      return "SIGNED_NUMBER";
    case "string":
    case "bytes":
      return "STRING_OR_BYTES";
    case "fixed32":
    case "sfixed32":
      return "FIXED32";
    case "fixed64":
    case "sfixed64":
      return "FIXED64";
    default:
      return type.toUpperCase(); // FLOAT, DOUBLE
  }
}

function compareFields(ctx: Ctx, o: ProtoField, u: ProtoField): void {
  if (o.name !== u.name) ctx.add("FIELD_NAME_CHANGED");
  compareLabelsAndTypes(ctx, o.label, u.label, o.type, u.type);
}

/** A synthetic map entry message (from a descriptor) reads as `map<K, V>`. */
function asMap(ctx: Ctx, type: string, isOriginal: boolean): string {
  const info = ctx.type(type, isOriginal);
  if (info?.isMap && info.element?.kind === "message") {
    const key = info.element.fields.find((f) => f.name === "key");
    const value = info.element.fields.find((f) => f.name === "value");
    if (key && value) return `map<${key.type}, ${value.type}>`;
  }
  return type;
}

function compareLabelsAndTypes(
  ctx: Ctx,
  ol: ProtoField["label"],
  ul: ProtoField["label"],
  originalType: string,
  updateType: string,
): void {
  const ot = asMap(ctx, originalType, true);
  const ut = asMap(ctx, updateType, false);
  const ok = kind(ctx, ot, true);
  if (ok !== kind(ctx, ut, false)) return ctx.add("FIELD_KIND_CHANGED");
  if (ok === "SCALAR") {
    const os = scalarKind(ctx, ot, true);
    if (os !== scalarKind(ctx, ut, false)) return ctx.add("FIELD_SCALAR_KIND_CHANGED");
    // Labels are compared only when both were written (proto3 implicit presence has none).
    if (ol !== undefined && ul !== undefined && ol !== ul) {
      ctx.add(os === "STRING_OR_BYTES" ? "FIELD_STRING_OR_BYTES_LABEL_CHANGED" : "FIELD_NUMERIC_LABEL_CHANGED");
    }
  } else if (ok === "MESSAGE") compareMessageTypes(ctx, ot, ut);
  else {
    const om = mapTypes(ot)!;
    const um = mapTypes(ut)!;
    compareLabelsAndTypes(ctx, undefined, undefined, om[0], um[0]);
    compareLabelsAndTypes(ctx, undefined, undefined, om[1], um[1]);
  }
}

function localName(info: ProtoTypeInfo): string {
  return info.packageName !== "" && info.fullName.startsWith(`${info.packageName}.`)
    ? info.fullName.slice(info.packageName.length + 1)
    : info.fullName;
}

function compareMessageTypes(ctx: Ctx, original: string, update: string): void {
  const oi = ctx.type(original, true);
  const ui = ctx.type(update, false);
  if (oi === undefined || ui === undefined) {
    if (original !== update) ctx.add("FIELD_NAMED_TYPE_CHANGED");
    return;
  }
  const on = localName(oi);
  if (on !== localName(ui)) return ctx.add("FIELD_NAMED_TYPE_CHANGED");
  // Types of the schema itself are compared where they are declared; imported ones here.
  if (oi.file === "" && ui.file === "") return;
  if (oi.element?.kind !== "message" || ui.element?.kind !== "message") return;
  const sub = ctx.sub(
    { types: ctx.original.types, packageName: oi.packageName },
    { types: ctx.update.types, packageName: ui.packageName },
  );
  sub.names.splice(0, sub.names.length, ...on.split("."));
  sub.path.splice(0, sub.path.length, ...on.split("."));
  compareMessages(sub, oi.element, ui.element);
  ctx.diffs.push(...sub.diffs);
  if (!sub.isCompatible()) ctx.add("FIELD_NAMED_TYPE_CHANGED");
}

/** Every difference between two Protobuf schemas (Confluent `SchemaDiff.compare(original, update)`). */
export function protobufDifferences(original: ProtobufParsed, update: ProtobufParsed): ProtobufDifference[] {
  const ctx = new Ctx(
    { types: original.types, packageName: original.file.packageName ?? "" },
    { types: update.types, packageName: update.file.packageName ?? "" },
  );
  if ((original.file.packageName ?? undefined) !== (update.file.packageName ?? undefined)) ctx.add("PACKAGE_CHANGED");
  compareTypeElements(ctx, original.file.types, update.file.types);
  return ctx.diffs;
}

/** Confluent's message for one difference (`protobuf.diff.Difference.toString()`), roles filled in. */
export function protobufDifferenceMessage(d: ProtobufDifference, roles: readonly [string, string]): string {
  const [a, b] = roles;
  const p = d.path;
  const descriptions: Partial<Record<ProtobufDifferenceType, string>> = {
    PACKAGE_CHANGED: `The package at '${p}' in the ${a} schema does not match the package in the ${b} schema`,
    MESSAGE_REMOVED: `The ${a} schema is missing a MESSAGE type at path '${p}' in the ${b} schema`,
    FIELD_KIND_CHANGED: `The type of a field at path '${p}' in the ${a} schema does not match the ${b} schema`,
    FIELD_SCALAR_KIND_CHANGED:
      `The kind of a SCALAR field at path '${p}' in the ${a} schema does not match its kind in the ${b} schema`,
    FIELD_NAMED_TYPE_CHANGED:
      `The type of a MESSAGE field at path '${p}' in the ${a} schema does not match its type in the ${b} schema`,
    FIELD_NUMERIC_LABEL_CHANGED:
      `The label for a NUMERIC field at path '${p}' in the ${a} schema does not match its label in the ${b} schema`,
    REQUIRED_FIELD_ADDED: `A required field  at path '${p}' in the ${a} schema is missing in the ${b} schema`,
    REQUIRED_FIELD_REMOVED: `The ${a} schema is missing a required field at path: '${p}' in the ${b} schema`,
    ONEOF_FIELD_REMOVED: `The ${a} schema is missing a oneof field at path '${p}' in the ${b} schema`,
    ONEOF_FIELD_MOVED_TO_TOP_LEVEL:
      `The oneof field at path '${p}' in the ${a} schema was moved out of its oneof to a top-level field in the ${b} schema`,
    MULTIPLE_FIELDS_MOVED_TO_ONEOF:
      `Multiple fields in the oneof at path '${p}' in the ${a} schema are outside a oneof in the ${b} schema`,
    FIELD_MOVED_TO_EXISTING_ONEOF:
      `A field in the oneof at path '${p}' in the ${a} schema is outside an existing oneof in the ${b} schema`,
  };
  return `{errorType:"${d.type}", description:"${descriptions[d.type] ?? ""}"}`;
}

/**
 * Confluent `ProtobufSchema.isBackwardCompatible`: the incompatible differences of previous → next,
 * as messages with the roles filled in (`["new", "old"]` for BACKWARD).
 */
export function protobufBackwardMessages(
  next: ProtobufParsed,
  previous: ProtobufParsed,
  options: { roles: readonly [string, string] },
): string[] {
  return protobufDifferences(previous, next)
    .filter((d) => !PROTOBUF_COMPATIBLE.has(d.type))
    .map((d) => protobufDifferenceMessage(d, options.roles));
}
