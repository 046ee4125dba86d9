/**
 * Prints a `.proto` element tree the way Confluent's `ProtobufSchemaUtils` does: the canonical text
 * the registry stores (messages before enums at each level, options after the label and type,
 * `default`/`json_name` as trailing options, two-space indents) and, with `normalize`, the
 * `normalize=true` text (imports and options sorted, fields by number, enum constants by number,
 * reserved ranges split and sorted, type names fully qualified with a leading dot, proto2 `syntax`
 * line dropped, numbers re-spelled as Java's DecimalFormat does).
 *
 * @module
 */

import {
  mapTypes,
  MAX_TAG_VALUE,
  type OptionAggregate,
  type OptionPrimitive,
  type ProtoEnum,
  type ProtoEnumConstant,
  type ProtoExtend,
  type ProtoExtensions,
  type ProtoField,
  type ProtoFile,
  type ProtoGroup,
  type ProtoMessage,
  type ProtoOneOf,
  type ProtoOption,
  type ProtoRangeValue,
  type ProtoReserved,
  type ProtoRpc,
  type ProtoService,
  type ProtoType,
  type ProtoTypes,
  SCALAR_TYPES,
} from "./protobuf.ts";

interface Ctx {
  normalize: boolean;
  types: ProtoTypes;
  /** Package parts then enclosing message names. */
  scope: string[];
}

function indent(value: string): string {
  const lines = value.split("\n");
  if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
  return lines.map((l) => `  ${l}\n`).join("");
}

/** Java's escapeChars for option strings. */
function escape(s: string): string {
  const map: Record<string, string> = {
    "\x07": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
  };
  return [...s].map((c) => map[c] ?? c).join("");
}

/** `NumberUtils.createNumber` then `DecimalFormat` without grouping (3 fraction digits, half-even). */
function formatNumber(ctx: Ctx, value: string): string {
  if (!ctx.normalize) return value;
  const m = /^(-?)(?:0[xX]([0-9a-fA-F]+)|(0[0-7]+)|(\d+))$/.exec(value);
  if (m) {
    const digits = m[2] !== undefined
      ? BigInt(`0x${m[2]}`)
      : m[3] !== undefined
      ? BigInt(`0o${m[3].slice(1)}`)
      : BigInt(m[4]!);
    return `${m[1] && digits !== 0n ? "-" : ""}${digits}`;
  }
  if (!/^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?[fFdD]?$/.test(value)) return value;
  const d = Number(value.replace(/[fFdD]$/, ""));
  if (!Number.isFinite(d)) return value;
  const scaled = d * 1000;
  let rounded = Math.round(scaled);
  if (Math.abs(scaled % 1) === 0.5 && rounded % 2 !== 0) rounded -= 1; // half-even
  const text = (rounded / 1000).toFixed(3).replace(/\.?0+$/, "");
  return text === "-0" ? "-0" : text;
}

function resolveName(ctx: Ctx, type: string): string {
  const full = ctx.types.resolveName(type, ctx.scope);
  return full === undefined ? type : `.${full}`;
}

function primitive(ctx: Ctx, p: OptionPrimitive): string {
  switch (p.kind) {
    case "STRING":
      return `"${escape(p.value)}"`;
    case "NUMBER":
      return formatNumber(ctx, p.value);
    default:
      return p.value;
  }
}

function aggregateValue(ctx: Ctx, v: OptionAggregate | ProtoOption): string {
  if (v instanceof Map) return `{\n${mapEntries(ctx, v)}}`;
  if (Array.isArray(v)) {
    if (ctx.normalize && v.length === 1) return aggregateValue(ctx, v[0]!);
    return `[\n${v.map((x, i) => indent(aggregateValue(ctx, x) + (i < v.length - 1 ? "," : ""))).join("")}]`;
  }
  if ("name" in v) return optionText(ctx, v);
  return primitive(ctx, v);
}

function mapEntries(ctx: Ctx, m: Map<string, OptionAggregate>): string {
  let entries = [...m.entries()];
  if (ctx.normalize) {
    entries = entries.filter(([, v]) => !Array.isArray(v) || v.length > 0);
    entries = entries.map(([k, v]): [string, OptionAggregate] => {
      if (k.startsWith("[") && k.endsWith("]")) {
        const full = ctx.types.resolveExtension(k.slice(1, -1), ctx.scope);
        if (full !== undefined) return [`[${full}]`, v];
      }
      return [k, v];
    });
    const seen = new Set<string>();
    entries = entries.filter(([k]) => !seen.has(k) && seen.add(k)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
  return entries.map(([k, v], i) => indent(`${k}: ${aggregateValue(ctx, v)}${i < entries.length - 1 ? "," : ""}`))
    .join("");
}

function optionText(ctx: Ctx, o: ProtoOption): string {
  let out = o.parenthesized ? `(${o.name})` : o.name;
  switch (o.kind) {
    case "STRING":
      return `${out} = "${escape(o.value as string)}"`;
    case "BOOLEAN":
    case "ENUM":
      return `${out} = ${o.value as string}`;
    case "NUMBER":
      return `${out} = ${formatNumber(ctx, o.value as string)}`;
    case "OPTION":
      return `${out}.${optionText(ctx, o.value as ProtoOption)}`;
    case "MAP":
      return `${out} = {\n${mapEntries(ctx, o.value as Map<string, OptionAggregate>)}}`;
    case "LIST":
      out += " = ";
      return out + optionList(ctx, o.value as OptionAggregate[]);
  }
}

function optionList(ctx: Ctx, list: (OptionAggregate | ProtoOption)[]): string {
  if (list.length === 1) return `[${aggregateValue(ctx, list[0]!)}]`;
  return `[\n${list.map((x, i) => indent(aggregateValue(ctx, x) + (i < list.length - 1 ? "," : ""))).join("")}]`;
}

/** Turns `(opt).a.b = 1` into `(opt) = { a: { b: 1 } }`, as normalization does. */
function optionToMap(o: ProtoOption): ProtoOption {
  if (o.kind !== "OPTION") return o;
  const inner = optionToMap(o.value as ProtoOption);
  const value: OptionAggregate = inner.kind === "MAP" || inner.kind === "LIST"
    ? inner.value as OptionAggregate
    : { kind: inner.kind as OptionPrimitive["kind"], value: inner.value as string };
  return { name: o.name, kind: "MAP", value: new Map([[inner.name, value]]), parenthesized: o.parenthesized };
}

function mergeAggregates(
  a: Map<string, OptionAggregate>,
  b: Map<string, OptionAggregate>,
): Map<string, OptionAggregate> {
  const out = new Map(a);
  for (const [k, v] of b) {
    const prev = out.get(k);
    if (prev === undefined) out.set(k, v);
    else if (prev instanceof Map && v instanceof Map) out.set(k, mergeAggregates(prev, v));
    else out.set(k, [...(Array.isArray(prev) ? prev : [prev]), ...(Array.isArray(v) ? v : [v])]);
  }
  return out;
}

function filterOptions(ctx: Ctx, options: ProtoOption[]): ProtoOption[] {
  if (!ctx.normalize || options.length === 0) return options;
  const resolved = options.map((o) => {
    if (!o.parenthesized) return o;
    const full = ctx.types.resolveExtension(o.name, ctx.scope);
    return full === undefined ? o : optionToMap({ ...o, name: full });
  });
  const sorted = resolved.map((o, i) => [o, i] as const).sort(([a, i], [b, j]) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : i - j
  ).map(([o]) => o);
  const out: ProtoOption[] = [];
  for (const o of sorted) {
    const prev = out[out.length - 1];
    const ext = o.parenthesized ? ctx.types.extendFields.get(o.name) : undefined;
    if (prev !== undefined && prev.name === o.name && ext !== undefined && ext.field.label !== "repeated") {
      // Confluent merges the message literals of a non-repeated custom option.
      if (prev.kind === "MAP" && o.kind === "MAP") {
        out[out.length - 1] = {
          ...o,
          value: mergeAggregates(prev.value as Map<string, OptionAggregate>, o.value as Map<string, OptionAggregate>),
        };
      } else out[out.length - 1] = o;
      continue;
    }
    out.push(o);
  }
  return out;
}

function rangeText(ctx: Ctx, v: ProtoRangeValue): string {
  if (typeof v === "string") return `"${v}"`;
  if (typeof v === "number") return String(v);
  if (ctx.normalize && v[0] === v[1]) return String(v[0]);
  return `${v[0]} to ${v[1] < MAX_TAG_VALUE ? v[1] : "max"}`;
}

function rangeStart(v: ProtoRangeValue): number {
  return typeof v === "number" ? v : typeof v === "string" ? Number.MAX_SAFE_INTEGER : v[0];
}

function sortedRanges<T extends { values: ProtoRangeValue[] }>(ctx: Ctx, list: T[], byText: boolean): T[] {
  if (!ctx.normalize) return list;
  const split = list.flatMap((r) => r.values.map((v) => ({ ...r, values: [v] })));
  return split.sort((a, b) => {
    const d = rangeStart(a.values[0]!) - rangeStart(b.values[0]!);
    if (d !== 0 || !byText) return d;
    const x = String(a.values[0]);
    const y = String(b.values[0]);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

function reservedText(ctx: Ctx, r: ProtoReserved): string {
  return `reserved ${r.values.map((v) => rangeText(ctx, v)).join(", ")};\n`;
}

function extensionsText(ctx: Ctx, e: ProtoExtensions): string {
  const options = filterOptions(ctx, e.options);
  const suffix = options.length > 0 ? ` ${optionList(ctx, options)}` : "";
  return `extensions ${e.values.map((v) => rangeText(ctx, v)).join(", ")}${suffix};\n`;
}

const byTag = <T extends { tag: number }>(list: T[]) => [...list].sort((a, b) => a.tag - b.tag);

function fieldText(ctx: Ctx, f: ProtoField): string {
  let label = f.label;
  let type = f.type;
  let map = mapTypes(type);
  if (ctx.normalize) {
    if (!SCALAR_TYPES.has(type) && map === undefined) {
      const info = ctx.types.resolveType(type, ctx.scope);
      if (info?.isMap && info.element?.kind === "message") {
        const key = info.element.fields.find((x) => x.name === "key");
        const value = info.element.fields.find((x) => x.name === "value");
        if (key && value) map = [key.type, value.type];
      }
      if (map === undefined) type = resolveName(ctx, type);
    }
    if (map !== undefined) {
      const value = ctx.types.resolveName(map[1], ctx.scope);
      type = `map<${map[0]}, ${value === undefined ? map[1] : `.${value}`}>`;
      label = undefined;
    }
  }
  let out = `${label ? `${label} ` : ""}${type} ${f.name} = ${f.tag}`;
  const options: ProtoOption[] = [...f.options];
  if (f.defaultValue !== undefined) {
    const t = (map ? "" : type).replace(/^\./, "");
    const kind = t === "bool" ? "BOOLEAN" : t === "string" ? "STRING" : SCALAR_TYPES.has(t) ? "NUMBER" : "ENUM";
    options.push({ name: "default", kind, value: f.defaultValue, parenthesized: false });
  }
  if (f.jsonName !== undefined) {
    options.push({ name: "json_name", kind: "STRING", value: f.jsonName, parenthesized: false });
  }
  const filtered = filterOptions(ctx, options);
  if (filtered.length > 0) out += ` ${optionList(ctx, filtered)}`;
  return `${out};\n`;
}

function groupText(ctx: Ctx, g: ProtoGroup): string {
  let out = `${g.label ? `${g.label} ` : ""}group ${g.name} = ${g.tag} {`;
  if (g.fields.length > 0) {
    out += "\n";
    for (const f of ctx.normalize ? byTag(g.fields) : g.fields) out += indent(fieldText(ctx, f));
  }
  return `${out}}\n`;
}

function oneOfText(ctx: Ctx, o: ProtoOneOf): string {
  let out = `oneof ${o.name} {`;
  const options = filterOptions(ctx, o.options);
  if (options.length > 0) out += `\n${options.map((x) => indent(`option ${optionText(ctx, x)};\n`)).join("")}`;
  if (o.fields.length > 0) out += `\n${o.fields.map((f) => indent(fieldText(ctx, f))).join("")}`;
  if (o.groups.length > 0) {
    out += `\n${(ctx.normalize ? byTag(o.groups) : o.groups).map((g) => indent(groupText(ctx, g))).join("")}`;
  }
  return `${out}}\n`;
}

function extendList(ctx: Ctx, list: ProtoExtend[]): ProtoExtend[] {
  if (!ctx.normalize) return list;
  const grouped = new Map<string, ProtoField[]>();
  for (const e of list) {
    const name = resolveName(ctx, e.name);
    grouped.set(name, [...(grouped.get(name) ?? []), ...e.fields]);
  }
  return [...grouped].map(([name, fields]) => ({ name, fields }));
}

function extendText(ctx: Ctx, e: ProtoExtend): string {
  let out = `extend ${e.name} {`;
  if (e.fields.length > 0) {
    out += `\n${(ctx.normalize ? byTag(e.fields) : e.fields).map((f) => indent(fieldText(ctx, f))).join("")}`;
  }
  return `${out}}\n`;
}

/** Messages first, then enums; normalization drops synthetic map entries. */
function typesText(ctx: Ctx, types: ProtoType[], wrap: (s: string) => string): string {
  const kept = ctx.normalize
    ? types.filter((t) => t.kind !== "message" || !ctx.types.resolveType(t.name, ctx.scope)?.isMap)
    : types;
  let out = "";
  for (const kind of ["message", "enum"] as const) {
    for (const t of kept) {
      if (t.kind !== kind) continue;
      ctx.scope.push(t.name);
      out += wrap(t.kind === "message" ? messageText(ctx, t) : enumText(ctx, t));
      ctx.scope.pop();
    }
  }
  return out;
}

function messageText(ctx: Ctx, m: ProtoMessage): string {
  let out = `message ${m.name} {`;
  if (m.reserveds.length > 0) {
    out += `\n${sortedRanges(ctx, m.reserveds, true).map((r) => indent(reservedText(ctx, r))).join("")}`;
  }
  const options = filterOptions(ctx, m.options);
  if (options.length > 0) out += `\n${options.map((o) => indent(`option ${optionText(ctx, o)};\n`)).join("")}`;
  if (m.fields.length > 0) {
    out += `\n${(ctx.normalize ? byTag(m.fields) : m.fields).map((f) => indent(fieldText(ctx, f))).join("")}`;
  }
  if (m.oneOfs.length > 0) {
    let oneOfs = m.oneOfs;
    if (ctx.normalize) {
      oneOfs = oneOfs.filter((o) => o.fields.length > 0).map((o) => ({ ...o, fields: byTag(o.fields) }))
        .sort((a, b) => a.fields[0]!.tag - b.fields[0]!.tag);
    }
    out += `\n${oneOfs.map((o) => indent(oneOfText(ctx, o))).join("")}`;
  }
  if (m.groups.length > 0) {
    out += `\n${(ctx.normalize ? byTag(m.groups) : m.groups).map((g) => indent(groupText(ctx, g))).join("")}`;
  }
  if (m.extensions.length > 0) {
    out += `\n${sortedRanges(ctx, m.extensions, false).map((e) => indent(extensionsText(ctx, e))).join("")}`;
  }
  if (m.extendDeclarations.length > 0) {
    out += `\n${extendList(ctx, m.extendDeclarations).map((e) => indent(extendText(ctx, e))).join("")}`;
  }
  const nested = typesText(ctx, m.nestedTypes, indent);
  if (nested !== "") out += `\n${nested}`;
  return `${out}}\n`;
}

function constantText(ctx: Ctx, c: ProtoEnumConstant): string {
  const options = filterOptions(ctx, c.options);
  return `${c.name} = ${c.tag}${options.length > 0 ? ` ${optionList(ctx, options)}` : ""};\n`;
}

function enumText(ctx: Ctx, e: ProtoEnum): string {
  let out = `enum ${e.name} {`;
  if (e.reserveds.length > 0) {
    out += `\n${sortedRanges(ctx, e.reserveds, true).map((r) => indent(reservedText(ctx, r))).join("")}`;
  }
  if (e.reserveds.length === 0 && (e.options.length > 0 || e.constants.length > 0)) out += "\n";
  for (const o of filterOptions(ctx, e.options)) out += indent(`option ${optionText(ctx, o)};\n`);
  const constants = ctx.normalize
    ? [...e.constants].sort((a, b) => a.tag - b.tag || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    : e.constants;
  for (const c of constants) out += indent(constantText(ctx, c));
  return `${out}}\n`;
}

function rpcText(ctx: Ctx, rpc: ProtoRpc): string {
  const req = ctx.normalize ? resolveName(ctx, rpc.requestType) : rpc.requestType;
  const resp = ctx.normalize ? resolveName(ctx, rpc.responseType) : rpc.responseType;
  let out = `rpc ${rpc.name} (${rpc.requestStreaming ? "stream " : ""}${req}) returns (${
    rpc.responseStreaming ? "stream " : ""
  }${resp})`;
  const options = filterOptions(ctx, rpc.options);
  if (options.length > 0) out += ` {\n${options.map((o) => indent(`option ${optionText(ctx, o)};\n`)).join("")}}`;
  return `${out};\n`;
}

function serviceText(ctx: Ctx, s: ProtoService): string {
  let out = `service ${s.name} {`;
  const options = filterOptions(ctx, s.options);
  if (options.length > 0) out += `\n${options.map((o) => indent(`option ${optionText(ctx, o)};\n`)).join("")}`;
  if (s.rpcs.length > 0) out += `\n${s.rpcs.map((r) => indent(rpcText(ctx, r))).join("")}`;
  return `${out}}\n`;
}

/** Confluent's `ProtobufSchemaUtils.toString` (canonical) or `toNormalizedString` (normalize). */
export function printProtoFile(file: ProtoFile, types: ProtoTypes, options: { normalize: boolean }): string {
  const ctx: Ctx = {
    normalize: options.normalize,
    types,
    scope: file.packageName ? file.packageName.split(".") : [],
  };
  let out = "";
  if (file.edition !== undefined) out += `edition = "${file.edition}";\n`;
  else if (file.syntax !== undefined && (!ctx.normalize || file.syntax === "proto3")) {
    out += `syntax = "${file.syntax}";\n`;
  }
  if (file.packageName !== undefined) out += `package ${file.packageName};\n`;
  if (file.imports.length > 0 || file.publicImports.length > 0) {
    out += "\n";
    const sorted = (l: string[]) => (ctx.normalize ? [...new Set(l)].sort() : l);
    for (const i of sorted(file.imports)) out += `import "${i}";\n`;
    for (const i of sorted(file.publicImports)) out += `import public "${i}";\n`;
  }
  const fileOptions = filterOptions(ctx, file.options);
  if (fileOptions.length > 0) out += `\n${fileOptions.map((o) => `option ${optionText(ctx, o)};\n`).join("")}`;
  const types_ = typesText(ctx, file.types, (s) => s);
  if (types_ !== "") out += `\n${types_}`;
  if (file.extendDeclarations.length > 0) {
    out += `\n${extendList(ctx, file.extendDeclarations).map((e) => extendText(ctx, e)).join("")}`;
  }
  if (file.services.length > 0) out += `\n${file.services.map((s) => serviceText(ctx, s)).join("")}`;
  return out;
}
