/**
 * JSON Schema compatibility as Confluent decides it (`json.diff.SchemaDiff`, STRICT policy unless
 * LENIENT is asked): the old schema is diffed against the new one, every difference gets a type,
 * and the change is compatible when every difference is in the compatible set (§9.2). BACKWARD
 * diffs (old → new); FORWARD swaps them. The open/closed content model decides what adding or
 * removing a property means: an object without `additionalProperties`, `patternProperties` or a
 * restricting `unevaluatedProperties` is open (old data may already carry any new name).
 *
 * @module
 */

import { jsonEquals, type JsonNumber, type JsonValue } from "./json_text.ts";
import type {
  JsonArraySchema,
  JsonCombined,
  JsonEnum,
  JsonNumberSchema,
  JsonObjectSchema,
  JsonSchemaNode,
  JsonString,
} from "./json_schema.ts";

const DIFFERENCE_TYPES = [
  "ID_CHANGED",
  "DESCRIPTION_CHANGED",
  "TITLE_CHANGED",
  "DEFAULT_CHANGED",
  "SCHEMA_ADDED",
  "SCHEMA_REMOVED",
  "TYPE_EXTENDED",
  "TYPE_NARROWED",
  "TYPE_CHANGED",
  "MAX_LENGTH_ADDED",
  "MAX_LENGTH_REMOVED",
  "MAX_LENGTH_INCREASED",
  "MAX_LENGTH_DECREASED",
  "MIN_LENGTH_ADDED",
  "MIN_LENGTH_REMOVED",
  "MIN_LENGTH_INCREASED",
  "MIN_LENGTH_DECREASED",
  "PATTERN_ADDED",
  "PATTERN_REMOVED",
  "PATTERN_CHANGED",
  "MAXIMUM_ADDED",
  "MAXIMUM_REMOVED",
  "MAXIMUM_INCREASED",
  "MAXIMUM_DECREASED",
  "MINIMUM_ADDED",
  "MINIMUM_REMOVED",
  "MINIMUM_INCREASED",
  "MINIMUM_DECREASED",
  "EXCLUSIVE_MAXIMUM_ADDED",
  "EXCLUSIVE_MAXIMUM_REMOVED",
  "EXCLUSIVE_MAXIMUM_INCREASED",
  "EXCLUSIVE_MAXIMUM_DECREASED",
  "EXCLUSIVE_MINIMUM_ADDED",
  "EXCLUSIVE_MINIMUM_REMOVED",
  "EXCLUSIVE_MINIMUM_INCREASED",
  "EXCLUSIVE_MINIMUM_DECREASED",
  "MULTIPLE_OF_ADDED",
  "MULTIPLE_OF_REMOVED",
  "MULTIPLE_OF_EXPANDED",
  "MULTIPLE_OF_REDUCED",
  "MULTIPLE_OF_CHANGED",
  "REQUIRED_ATTRIBUTE_ADDED",
  "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED",
  "REQUIRED_ATTRIBUTE_REMOVED",
  "MAX_PROPERTIES_ADDED",
  "MAX_PROPERTIES_REMOVED",
  "MAX_PROPERTIES_INCREASED",
  "MAX_PROPERTIES_DECREASED",
  "MIN_PROPERTIES_ADDED",
  "MIN_PROPERTIES_REMOVED",
  "MIN_PROPERTIES_INCREASED",
  "MIN_PROPERTIES_DECREASED",
  "ADDITIONAL_PROPERTIES_ADDED",
  "ADDITIONAL_PROPERTIES_REMOVED",
  "ADDITIONAL_PROPERTIES_EXTENDED",
  "ADDITIONAL_PROPERTIES_NARROWED",
  "DEPENDENCY_ARRAY_ADDED",
  "DEPENDENCY_ARRAY_REMOVED",
  "DEPENDENCY_ARRAY_EXTENDED",
  "DEPENDENCY_ARRAY_NARROWED",
  "DEPENDENCY_ARRAY_CHANGED",
  "DEPENDENCY_SCHEMA_ADDED",
  "DEPENDENCY_SCHEMA_REMOVED",
  "REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
  "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL",
  "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
  "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
  "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
  "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL",
  "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
  "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL",
  "PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
  "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL",
  "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
  "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
  "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
  "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
  "UNEVALUATED_PROPERTIES_ADDED",
  "UNEVALUATED_PROPERTIES_REMOVED",
  "UNEVALUATED_PROPERTIES_EXTENDED",
  "UNEVALUATED_PROPERTIES_NARROWED",
  "MAX_ITEMS_ADDED",
  "MAX_ITEMS_REMOVED",
  "MAX_ITEMS_INCREASED",
  "MAX_ITEMS_DECREASED",
  "MIN_ITEMS_ADDED",
  "MIN_ITEMS_REMOVED",
  "MIN_ITEMS_INCREASED",
  "MIN_ITEMS_DECREASED",
  "MAX_CONTAINS_ADDED",
  "MAX_CONTAINS_REMOVED",
  "MAX_CONTAINS_INCREASED",
  "MAX_CONTAINS_DECREASED",
  "MIN_CONTAINS_ADDED",
  "MIN_CONTAINS_REMOVED",
  "MIN_CONTAINS_INCREASED",
  "MIN_CONTAINS_DECREASED",
  "UNIQUE_ITEMS_ADDED",
  "UNIQUE_ITEMS_REMOVED",
  "ADDITIONAL_ITEMS_ADDED",
  "ADDITIONAL_ITEMS_REMOVED",
  "ADDITIONAL_ITEMS_EXTENDED",
  "ADDITIONAL_ITEMS_NARROWED",
  "UNEVALUATED_ITEMS_ADDED",
  "UNEVALUATED_ITEMS_REMOVED",
  "UNEVALUATED_ITEMS_EXTENDED",
  "UNEVALUATED_ITEMS_NARROWED",
  "ITEM_ADDED_TO_OPEN_CONTENT_MODEL",
  "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
  "ITEM_ADDED_TO_CLOSED_CONTENT_MODEL",
  "ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL",
  "ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
  "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL",
  "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
  "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
  "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
  "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
  "ENUM_ARRAY_EXTENDED",
  "ENUM_ARRAY_NARROWED",
  "ENUM_ARRAY_CHANGED",
  "COMBINED_TYPE_EXTENDED",
  "COMBINED_TYPE_CHANGED",
  "PRODUCT_TYPE_EXTENDED",
  "PRODUCT_TYPE_NARROWED",
  "SUM_TYPE_EXTENDED",
  "SUM_TYPE_NARROWED",
  "COMBINED_TYPE_SUBSCHEMAS_CHANGED",
  "NOT_TYPE_EXTENDED",
  "NOT_TYPE_NARROWED",
] as const;
export type JsonDifferenceType = (typeof DIFFERENCE_TYPES)[number];

/** One difference between the old and the new schema, at a `#/…` path. */
export interface JsonDifference {
  type: JsonDifferenceType;
  path: string;
}

/** The difference types Confluent's STRICT policy accepts. */
export const JSON_COMPATIBLE_STRICT: ReadonlySet<JsonDifferenceType> = new Set<JsonDifferenceType>([
  "ID_CHANGED",
  "DESCRIPTION_CHANGED",
  "TITLE_CHANGED",
  "DEFAULT_CHANGED",
  "SCHEMA_REMOVED",
  "TYPE_EXTENDED",
  "MAX_LENGTH_INCREASED",
  "MAX_LENGTH_REMOVED",
  "MIN_LENGTH_DECREASED",
  "MIN_LENGTH_REMOVED",
  "PATTERN_REMOVED",
  "MAXIMUM_INCREASED",
  "MAXIMUM_REMOVED",
  "MINIMUM_DECREASED",
  "MINIMUM_REMOVED",
  "EXCLUSIVE_MAXIMUM_INCREASED",
  "EXCLUSIVE_MAXIMUM_REMOVED",
  "EXCLUSIVE_MINIMUM_DECREASED",
  "EXCLUSIVE_MINIMUM_REMOVED",
  "MULTIPLE_OF_REDUCED",
  "MULTIPLE_OF_REMOVED",
  "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED",
  "REQUIRED_ATTRIBUTE_REMOVED",
  "DEPENDENCY_ARRAY_NARROWED",
  "DEPENDENCY_ARRAY_REMOVED",
  "DEPENDENCY_SCHEMA_REMOVED",
  "MAX_PROPERTIES_INCREASED",
  "MAX_PROPERTIES_REMOVED",
  "MIN_PROPERTIES_DECREASED",
  "MIN_PROPERTIES_REMOVED",
  "ADDITIONAL_PROPERTIES_ADDED",
  "ADDITIONAL_PROPERTIES_EXTENDED",
  "UNEVALUATED_PROPERTIES_ADDED",
  "UNEVALUATED_PROPERTIES_EXTENDED",
  "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
  "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL",
  "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
  "PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
  "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL",
  "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
  "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
  "MAX_ITEMS_INCREASED",
  "MAX_ITEMS_REMOVED",
  "MIN_ITEMS_DECREASED",
  "MIN_ITEMS_REMOVED",
  "MAX_CONTAINS_INCREASED",
  "MAX_CONTAINS_REMOVED",
  "MIN_CONTAINS_DECREASED",
  "MIN_CONTAINS_REMOVED",
  "UNIQUE_ITEMS_REMOVED",
  "ADDITIONAL_ITEMS_ADDED",
  "ADDITIONAL_ITEMS_EXTENDED",
  "UNEVALUATED_ITEMS_ADDED",
  "UNEVALUATED_ITEMS_EXTENDED",
  "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
  "ITEM_ADDED_TO_CLOSED_CONTENT_MODEL",
  "ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
  "ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL",
  "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
  "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
  "ENUM_ARRAY_EXTENDED",
  "COMBINED_TYPE_EXTENDED",
  "PRODUCT_TYPE_NARROWED",
  "SUM_TYPE_EXTENDED",
  "NOT_TYPE_NARROWED",
]);

/** STRICT plus the changes `compatibilityPolicy: LENIENT` also accepts (open content models). */
export const JSON_COMPATIBLE_LENIENT: ReadonlySet<JsonDifferenceType> = new Set<JsonDifferenceType>([
  ...JSON_COMPATIBLE_STRICT,
  "ADDITIONAL_PROPERTIES_NARROWED",
  "ADDITIONAL_PROPERTIES_REMOVED",
  "UNEVALUATED_PROPERTIES_NARROWED",
  "UNEVALUATED_PROPERTIES_REMOVED",
  "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL",
  "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
  "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL",
  "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL",
  "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
  "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
]);

type PairMap<V> = Map<JsonSchemaNode, Map<JsonSchemaNode, V>>;

function pairGet<V>(m: PairMap<V>, a: JsonSchemaNode, b: JsonSchemaNode): V | undefined {
  return m.get(a)?.get(b);
}

function pairSet<V>(m: PairMap<V>, a: JsonSchemaNode, b: JsonSchemaNode, v: V): void {
  let inner = m.get(a);
  if (inner === undefined) {
    inner = new Map();
    m.set(a, inner);
  }
  inner.set(b, v);
}

interface Shared {
  compatible: ReadonlySet<JsonDifferenceType>;
  memo: PairMap<JsonDifference[]>;
  inProgress: PairMap<true>;
  seed: PairMap<JsonDifference[]>;
  optimism: { used: boolean };
}

/** Confluent's diff `Context`: a path, the differences found, and the shared memo. */
class Ctx {
  readonly diffs: JsonDifference[] = [];
  readonly shared: Shared;
  readonly path: string[];

  constructor(shared: Shared, path: string[] = []) {
    this.shared = shared;
    this.path = path;
  }

  sub(): Ctx {
    return new Ctx(this.shared, [...this.path]);
  }

  #pathText(): string {
    return `#/${this.path.join("/")}`;
  }

  add(type: JsonDifferenceType, attribute?: string): void {
    if (attribute !== undefined) this.path.push(attribute);
    this.diffs.push({ type, path: this.#pathText() });
    if (attribute !== undefined) this.path.pop();
  }

  within<T>(segment: string, f: () => T): T {
    this.path.push(segment);
    try {
      return f();
    } finally {
      this.path.pop();
    }
  }

  isCompatible(): boolean {
    return this.diffs.every((d) => this.shared.compatible.has(d.type));
  }

  /** Differences of a pair, relative to the pair (memoised; a pair already on the stack is a cycle). */
  compareMemoized(o: JsonSchemaNode, u: JsonSchemaNode, f: (sub: Ctx) => void): JsonDifference[] {
    const s = this.shared;
    const cached = pairGet(s.memo, o, u);
    if (cached !== undefined) return cached;
    if (pairGet(s.inProgress, o, u)) {
      const seeded = pairGet(s.seed, o, u);
      if (seeded !== undefined) return seeded;
      s.optimism.used = true;
      return [];
    }
    pairSet(s.inProgress, o, u, true);
    try {
      const sub = new Ctx(s);
      f(sub);
      pairSet(s.memo, o, u, sub.diffs);
      return sub.diffs;
    } finally {
      s.inProgress.get(o)?.delete(u);
    }
  }

  addRebased(relative: JsonDifference[]): void {
    if (this.path.length === 0) {
      this.diffs.push(...relative);
      return;
    }
    const prefix = this.#pathText();
    for (const d of relative) {
      this.diffs.push({ type: d.type, path: d.path.length <= 2 ? prefix : `${prefix}/${d.path.slice(2)}` });
    }
  }
}

function deref(s: JsonSchemaNode): JsonSchemaNode {
  let cur = s;
  for (let i = 0; cur.kind === "ref" && i < 64; i++) {
    if (cur.target === undefined) throw new Error(`Unresolved $ref '${cur.ref}'`);
    cur = cur.target;
  }
  return cur;
}

function compare(ctx: Ctx, original: JsonSchemaNode | undefined, update: JsonSchemaNode | undefined): void {
  if (original === undefined && update === undefined) return;
  if (original === undefined) return ctx.add("SCHEMA_ADDED");
  if (update === undefined) return ctx.add("SCHEMA_REMOVED");
  const o = deref(original);
  const u = deref(update);
  ctx.addRebased(ctx.compareMemoized(o, u, (sub) => compareTypes(sub, o, u)));
}

function sameClass(a: JsonSchemaNode, b: JsonSchemaNode): boolean {
  if (a.kind === "combined" && b.kind === "combined") return true;
  if (a.kind !== b.kind) return false;
  return a.kind !== "empty" || a.isTrue === (b as typeof a).isTrue;
}

function compareTypes(ctx: Ctx, o: JsonSchemaNode, u: JsonSchemaNode): void {
  if (o.kind !== "combined" && u.kind === "combined") {
    if (u.subschemas.length === 1) {
      const sub = ctx.sub();
      compare(sub, o, u.subschemas[0]);
      if (sub.isCompatible()) return void ctx.diffs.push(...sub.diffs);
    } else if (u.criterion === "anyOf" || u.criterion === "oneOf") {
      for (const s of u.subschemas) {
        const sub = ctx.sub();
        compare(sub, o, s);
        if (sub.isCompatible()) {
          ctx.diffs.push(...sub.diffs);
          return ctx.add("SUM_TYPE_EXTENDED");
        }
      }
    }
  } else if (o.kind === "combined" && u.kind !== "combined") {
    if (o.subschemas.length === 1) {
      const sub = ctx.sub();
      compare(sub, o.subschemas[0], u);
      if (sub.isCompatible()) return void ctx.diffs.push(...sub.diffs);
    } else if (o.criterion === "allOf") {
      for (const s of o.subschemas) {
        const sub = ctx.sub();
        compare(sub, s, u);
        if (sub.isCompatible()) {
          ctx.diffs.push(...sub.diffs);
          return ctx.add("PRODUCT_TYPE_NARROWED");
        }
      }
    }
  }
  if (!sameClass(o, u)) {
    // everit's TrueSchema is an EmptySchema: anything may become {} or true, false may become anything.
    if (o.kind === "false" || u.kind === "empty") return;
    if (o.connectType === "bytes" && u.connectType === "bytes") return;
    return ctx.add("TYPE_CHANGED");
  }
  if (o.id !== u.id) ctx.add("ID_CHANGED");
  if (o.title !== u.title) ctx.add("TITLE_CHANGED");
  if (o.description !== u.description) ctx.add("DESCRIPTION_CHANGED");
  if (!(o.default === undefined ? u.default === undefined : jsonEquals(o.default, u.default))) {
    ctx.add("DEFAULT_CHANGED");
  }
  switch (o.kind) {
    case "string":
      return compareString(ctx, o, u as JsonString);
    case "number":
      return compareNumber(ctx, o, u as JsonNumberSchema);
    case "const":
      if (!jsonEquals(o.value, (u as typeof o).value)) ctx.add("ENUM_ARRAY_CHANGED", "const");
      return;
    case "enum":
      return compareEnum(ctx, o, u as JsonEnum);
    case "combined":
      return compareCombined(ctx, o, u as JsonCombined);
    case "not":
      return ctx.within("not", () => {
        const sub = ctx.sub();
        compare(sub, (u as typeof o).mustNotMatch, o.mustNotMatch);
        ctx.add(sub.isCompatible() ? "NOT_TYPE_NARROWED" : "NOT_TYPE_EXTENDED");
      });
    case "object":
      return compareObject(ctx, o, u as JsonObjectSchema);
    case "array":
      return compareArray(ctx, o, u as JsonArraySchema);
  }
}

/** Compares an optional limit: added, removed, increased or decreased. */
function limit(
  ctx: Ctx,
  name: string,
  o: number | undefined,
  u: number | undefined,
  prefix: string,
): void {
  if (o === u) return;
  const t = (suffix: string) => `${prefix}_${suffix}` as JsonDifferenceType;
  if (o === undefined) ctx.add(t("ADDED"), name);
  else if (u === undefined) ctx.add(t("REMOVED"), name);
  else if (o < u) ctx.add(t("INCREASED"), name);
  else if (o > u) ctx.add(t("DECREASED"), name);
}

function compareString(ctx: Ctx, o: JsonString, u: JsonString): void {
  limit(ctx, "maxLength", o.maxLength, u.maxLength, "MAX_LENGTH");
  limit(ctx, "minLength", o.minLength, u.minLength, "MIN_LENGTH");
  if (o.pattern === undefined && u.pattern !== undefined) ctx.add("PATTERN_ADDED", "pattern");
  else if (o.pattern !== undefined && u.pattern === undefined) ctx.add("PATTERN_REMOVED", "pattern");
  else if (o.pattern !== u.pattern) ctx.add("PATTERN_CHANGED", "pattern");
}

const num = (n: JsonNumber | undefined) => n?.value;

/** An exact decimal: coefficient × 10^-scale. */
function decimal(n: JsonNumber): { c: bigint; scale: number } {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(n.raw);
  if (!m) return { c: 0n, scale: 0 };
  const frac = m[3] ?? "";
  let c = BigInt(`${m[1]}${m[2]}${frac}`);
  let scale = frac.length - Number(m[4] ?? "0");
  if (scale < 0) {
    c *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { c, scale };
}

/** True when a is an exact multiple of b (b ≠ 0). */
function divides(a: JsonNumber, b: JsonNumber): boolean {
  const x = decimal(a);
  const y = decimal(b);
  const scale = Math.max(x.scale, y.scale);
  const xa = x.c * 10n ** BigInt(scale - x.scale);
  const yb = y.c * 10n ** BigInt(scale - y.scale);
  return yb !== 0n && xa % yb === 0n;
}

function compareNumber(ctx: Ctx, o: JsonNumberSchema, u: JsonNumberSchema): void {
  limit(ctx, "maximum", num(o.maximum), num(u.maximum), "MAXIMUM");
  limit(ctx, "minimum", num(o.minimum), num(u.minimum), "MINIMUM");
  limit(ctx, "exclusiveMaximum", num(o.exclusiveMaximum), num(u.exclusiveMaximum), "EXCLUSIVE_MAXIMUM");
  limit(ctx, "exclusiveMinimum", num(o.exclusiveMinimum), num(u.exclusiveMinimum), "EXCLUSIVE_MINIMUM");
  const om = o.multipleOf;
  const um = u.multipleOf;
  if (!(om === undefined ? um === undefined : um !== undefined && divides(om, um) && divides(um, om))) {
    if (om === undefined) ctx.add("MULTIPLE_OF_ADDED", "multipleOf");
    else if (um === undefined) ctx.add("MULTIPLE_OF_REMOVED", "multipleOf");
    else if (divides(um, om)) ctx.add("MULTIPLE_OF_EXPANDED", "multipleOf");
    else if (divides(om, um)) ctx.add("MULTIPLE_OF_REDUCED", "multipleOf");
    else ctx.add("MULTIPLE_OF_CHANGED", "multipleOf");
  }
  if (o.requiresInteger !== u.requiresInteger) ctx.add(o.requiresInteger ? "TYPE_EXTENDED" : "TYPE_NARROWED");
}

function containsAll(a: JsonValue[], b: JsonValue[]): boolean {
  return b.every((x) => a.some((y) => jsonEquals(x, y)));
}

function compareEnum(ctx: Ctx, o: JsonEnum, u: JsonEnum): void {
  if (containsAll(o.values, u.values) && containsAll(u.values, o.values)) return;
  if (containsAll(u.values, o.values)) ctx.add("ENUM_ARRAY_EXTENDED", "enum");
  else if (containsAll(o.values, u.values)) ctx.add("ENUM_ARRAY_NARROWED", "enum");
  else ctx.add("ENUM_ARRAY_CHANGED", "enum");
}

function distinct(list: JsonSchemaNode[]): JsonSchemaNode[] {
  const seen = new Set<string>();
  return list.filter((s) => !seen.has(s.key) && seen.add(s.key));
}

/** Size of a maximum matching, and its edges (Kuhn's augmenting paths). */
function maximumMatching(edges: boolean[][], right: number): number[] {
  const matchOfRight = new Array<number>(right).fill(-1);
  const tryAssign = (l: number, seen: boolean[]): boolean => {
    for (let r = 0; r < right; r++) {
      if (!edges[l]![r] || seen[r]) continue;
      seen[r] = true;
      if (matchOfRight[r] === -1 || tryAssign(matchOfRight[r]!, seen)) {
        matchOfRight[r] = l;
        return true;
      }
    }
    return false;
  };
  for (let l = 0; l < edges.length; l++) tryAssign(l, new Array<boolean>(right).fill(false));
  return matchOfRight;
}

function compareCombined(ctx: Ctx, o: JsonCombined, u: JsonCombined): void {
  const single = (c: JsonCombined) => c.subschemas.length === 1;
  if (o.criterion !== u.criterion) {
    if (
      u.criterion === "anyOf" || (single(o) && single(u)) || (single(o) && u.criterion === "oneOf") ||
      (single(u) && o.criterion === "allOf")
    ) {
      ctx.add("COMBINED_TYPE_EXTENDED");
    } else {
      return ctx.add("COMBINED_TYPE_CHANGED");
    }
  }
  const os = distinct(o.subschemas);
  const us = distinct(u.subschemas);
  if (os.length < us.length) ctx.add(u.criterion === "allOf" ? "PRODUCT_TYPE_EXTENDED" : "SUM_TYPE_EXTENDED");
  else if (os.length > us.length) ctx.add(o.criterion === "allOf" ? "PRODUCT_TYPE_NARROWED" : "SUM_TYPE_NARROWED");
  const edges: boolean[][] = [];
  const edgeDiffs: JsonDifference[][][] = [];
  os.forEach((os1, i) => {
    ctx.within(`${o.criterion}/${i}`, () => {
      edges.push(
        us.map((us1, j) => {
          const sub = ctx.sub();
          compare(sub, os1, us1);
          (edgeDiffs[i] ??= [])[j] = sub.diffs;
          return sub.isCompatible();
        }),
      );
    });
  });
  const matchOfRight = maximumMatching(edges, us.length);
  let matched = 0;
  matchOfRight.forEach((l, r) => {
    if (l === -1) return;
    matched++;
    ctx.diffs.push(...edgeDiffs[l]![r]!);
  });
  if (matched < Math.min(os.length, us.length)) ctx.add("COMBINED_TYPE_SUBSCHEMAS_CHANGED");
}

function isOpenObject(s: JsonObjectSchema): boolean {
  if (!s.permitsAdditionalProperties || s.additionalProperties !== undefined || s.patternProperties.length > 0) {
    return false;
  }
  return s.unevaluatedProperties === undefined || s.unevaluatedProperties.kind === "empty";
}

function partialObjectSchema(s: JsonObjectSchema, property: string): JsonSchemaNode | undefined {
  for (const [re, schema] of s.patternProperties) if (re.test(property)) return schema;
  if (s.additionalProperties !== undefined) return s.additionalProperties;
  if (s.permitsAdditionalProperties) {
    const uneval = s.unevaluatedProperties;
    if (uneval !== undefined && uneval.kind !== "false" && uneval.kind !== "empty") return uneval;
  }
  return undefined;
}

function hasDefault(s: JsonSchemaNode | undefined): boolean {
  return s !== undefined && s.default !== undefined;
}

function compareObject(ctx: Ctx, o: JsonObjectSchema, u: JsonObjectSchema): void {
  ctx.within("required", () => {
    for (const key of o.properties.keys()) {
      if (!u.properties.has(key)) continue;
      const or = o.required.includes(key);
      const ur = u.required.includes(key);
      if (or && !ur) ctx.add("REQUIRED_ATTRIBUTE_REMOVED", key);
      else if (!or && ur) {
        ctx.add(
          hasDefault(u.properties.get(key)) ? "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED" : "REQUIRED_ATTRIBUTE_ADDED",
          key,
        );
      }
    }
  });
  ctx.within("properties", () => {
    const keys = new Set([...o.properties.keys(), ...u.properties.keys()]);
    for (const key of keys) {
      ctx.within(key, () => {
        const os = o.properties.get(key);
        const us = u.properties.get(key);
        if (us === undefined) {
          if (isOpenObject(u)) return ctx.add("PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL");
          const partial = partialObjectSchema(u, key);
          if (partial !== undefined) {
            const sub = ctx.sub();
            compare(sub, os, partial);
            ctx.diffs.push(...sub.diffs);
            return ctx.add(
              sub.isCompatible()
                ? "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                : "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
            );
          }
          return ctx.add(
            os?.kind === "false"
              ? "PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL"
              : "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL",
          );
        }
        if (os === undefined) {
          const required = u.required.includes(key);
          if (isOpenObject(o)) {
            if (us.kind === "empty") return ctx.add("PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL");
            if (required) {
              return ctx.add(
                hasDefault(us)
                  ? "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL"
                  : "REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
              );
            }
            return ctx.add("OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL");
          }
          const partial = partialObjectSchema(o, key);
          if (partial !== undefined) {
            const sub = ctx.sub();
            compare(sub, partial, us);
            ctx.diffs.push(...sub.diffs);
            ctx.add(
              sub.isCompatible()
                ? "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                : "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
            );
          }
          if (required) {
            return ctx.add(
              hasDefault(us)
                ? "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL"
                : "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
            );
          }
          return ctx.add("OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL");
        }
        compare(ctx, os, us);
      });
    }
  });
  ctx.within("dependencies", () => {
    const keys = new Set([...o.propertyDependencies.keys(), ...u.propertyDependencies.keys()]);
    for (const key of keys) {
      const od = o.propertyDependencies.get(key);
      const ud = u.propertyDependencies.get(key);
      if (ud === undefined) ctx.add("DEPENDENCY_ARRAY_REMOVED", key);
      else if (od === undefined) ctx.add("DEPENDENCY_ARRAY_ADDED", key);
      else {
        const uHasAll = [...od].every((x) => ud.has(x));
        const oHasAll = [...ud].every((x) => od.has(x));
        if (uHasAll && oHasAll) continue;
        ctx.add(
          uHasAll ? "DEPENDENCY_ARRAY_EXTENDED" : oHasAll ? "DEPENDENCY_ARRAY_NARROWED" : "DEPENDENCY_ARRAY_CHANGED",
          key,
        );
      }
    }
    const schemaKeys = new Set([...o.schemaDependencies.keys(), ...u.schemaDependencies.keys()]);
    for (const key of schemaKeys) {
      ctx.within(key, () => {
        const os = o.schemaDependencies.get(key);
        const us = u.schemaDependencies.get(key);
        if (us === undefined) ctx.add("DEPENDENCY_SCHEMA_REMOVED");
        else if (os === undefined) ctx.add("DEPENDENCY_SCHEMA_ADDED");
        else compare(ctx, os, us);
      });
    }
  });
  ctx.within("additionalProperties", () => {
    if (o.permitsAdditionalProperties !== u.permitsAdditionalProperties) {
      ctx.add(u.permitsAdditionalProperties ? "ADDITIONAL_PROPERTIES_ADDED" : "ADDITIONAL_PROPERTIES_REMOVED");
    } else if (o.additionalProperties === undefined && u.additionalProperties !== undefined) {
      ctx.add("ADDITIONAL_PROPERTIES_NARROWED");
    } else if (u.additionalProperties === undefined && o.additionalProperties !== undefined) {
      ctx.add("ADDITIONAL_PROPERTIES_EXTENDED");
    } else {
      compare(ctx, o.additionalProperties, u.additionalProperties);
    }
  });
  compareUnevaluated(ctx, "unevaluatedProperties", o.unevaluatedProperties, u.unevaluatedProperties, "PROPERTIES");
  limit(ctx, "maxProperties", o.maxProperties, u.maxProperties, "MAX_PROPERTIES");
  limit(ctx, "minProperties", o.minProperties, u.minProperties, "MIN_PROPERTIES");
}

function compareUnevaluated(
  ctx: Ctx,
  name: string,
  o: JsonSchemaNode | undefined,
  u: JsonSchemaNode | undefined,
  what: "PROPERTIES" | "ITEMS",
): void {
  if (o === undefined && u === undefined) return;
  const t = (suffix: string) => `UNEVALUATED_${what}_${suffix}` as JsonDifferenceType;
  ctx.within(name, () => {
    if (o === undefined) ctx.add(t(u!.kind === "false" ? "REMOVED" : "NARROWED"));
    else if (u === undefined) ctx.add(t(o.kind === "false" ? "ADDED" : "EXTENDED"));
    else if (o.kind === "false" && u.kind !== "false") ctx.add(t("ADDED"));
    else if (o.kind !== "false" && u.kind === "false") ctx.add(t("REMOVED"));
    else if (o.kind === "empty" && u.kind !== "empty") ctx.add(t("NARROWED"));
    else if (o.kind !== "empty" && u.kind === "empty") ctx.add(t("EXTENDED"));
    else compare(ctx, o, u);
  });
}

function isOpenArray(s: JsonArraySchema): boolean {
  if (!s.permitsAdditionalItems || s.additionalItems !== undefined) return false;
  return s.unevaluatedItems === undefined || s.unevaluatedItems.kind === "empty";
}

function partialArraySchema(s: JsonArraySchema): JsonSchemaNode | undefined {
  if (s.additionalItems !== undefined) return s.additionalItems;
  if (s.permitsAdditionalItems) {
    const uneval = s.unevaluatedItems;
    if (uneval !== undefined && uneval.kind !== "false" && uneval.kind !== "empty") return uneval;
  }
  return undefined;
}

function compareArray(ctx: Ctx, o: JsonArraySchema, u: JsonArraySchema): void {
  ctx.within("items", () => compare(ctx, o.allItems, u.allItems));
  const oi = o.itemSchemas ?? [];
  const ui = u.itemSchemas ?? [];
  for (let i = 0; i < Math.max(oi.length, ui.length); i++) {
    ctx.within(`items/${i}`, () => {
      const os = oi[i];
      const us = ui[i];
      if (os !== undefined && us !== undefined) return compare(ctx, os, us);
      if (os !== undefined) {
        if (isOpenArray(u)) return ctx.add("ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL");
        const partial = partialArraySchema(u);
        if (partial !== undefined) {
          const sub = ctx.sub();
          compare(sub, os, partial);
          ctx.diffs.push(...sub.diffs);
          return ctx.add(
            sub.isCompatible()
              ? "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
              : "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
          );
        }
        return ctx.add(
          os.kind === "false"
            ? "ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL"
            : "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL",
        );
      }
      if (isOpenArray(o)) {
        return ctx.add(
          us!.kind === "empty"
            ? "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL"
            : "ITEM_ADDED_TO_OPEN_CONTENT_MODEL",
        );
      }
      const partial = partialArraySchema(o);
      if (partial !== undefined) {
        const sub = ctx.sub();
        compare(sub, partial, us);
        ctx.diffs.push(...sub.diffs);
        return ctx.add(
          sub.isCompatible()
            ? "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
            : "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        );
      }
      ctx.add("ITEM_ADDED_TO_CLOSED_CONTENT_MODEL");
    });
  }
  ctx.within("additionalItems", () => {
    if (o.permitsAdditionalItems !== u.permitsAdditionalItems) {
      ctx.add(o.permitsAdditionalItems ? "ADDITIONAL_ITEMS_REMOVED" : "ADDITIONAL_ITEMS_ADDED");
    } else if (o.additionalItems === undefined && u.additionalItems !== undefined) {
      ctx.add("ADDITIONAL_ITEMS_NARROWED");
    } else if (u.additionalItems === undefined && o.additionalItems !== undefined) {
      ctx.add("ADDITIONAL_ITEMS_EXTENDED");
    } else {
      compare(ctx, o.additionalItems, u.additionalItems);
    }
  });
  compareUnevaluated(ctx, "unevaluatedItems", o.unevaluatedItems, u.unevaluatedItems, "ITEMS");
  limit(ctx, "maxItems", o.maxItems, u.maxItems, "MAX_ITEMS");
  limit(ctx, "minItems", o.minItems, u.minItems, "MIN_ITEMS");
  if (o.uniqueItems !== u.uniqueItems) {
    ctx.add(o.uniqueItems ? "UNIQUE_ITEMS_REMOVED" : "UNIQUE_ITEMS_ADDED", "uniqueItems");
  }
  limit(ctx, "maxContains", o.maxContains, u.maxContains, "MAX_CONTAINS");
  limit(ctx, "minContains", o.minContains, u.minContains, "MIN_CONTAINS");
}

/**
 * Every difference between `original` and `update` (Confluent `SchemaDiff.compare`). Recursive
 * schemas are compared to a fixpoint: a cycle is assumed compatible, then re-run with the pairs
 * found incompatible until nothing changes.
 */
export function jsonSchemaDifferences(
  original: JsonSchemaNode,
  update: JsonSchemaNode,
  options: { compatible?: ReadonlySet<JsonDifferenceType> } = {},
): JsonDifference[] {
  const compatible = options.compatible ?? JSON_COMPATIBLE_STRICT;
  let seed: PairMap<JsonDifference[]> = new Map();
  for (;;) {
    const shared: Shared = { compatible, memo: new Map(), inProgress: new Map(), seed, optimism: { used: false } };
    const ctx = new Ctx(shared);
    compare(ctx, original, update);
    const incompatible: PairMap<JsonDifference[]> = new Map();
    let grew = false;
    for (const [a, inner] of shared.memo) {
      for (const [b, diffs] of inner) {
        if (diffs.some((d) => !compatible.has(d.type))) {
          pairSet(incompatible, a, b, diffs);
          if (pairGet(seed, a, b) === undefined) grew = true;
        }
      }
    }
    // Done when no cycle was assumed compatible, or the incompatible pairs are those of the seed.
    if (!shared.optimism.used || !grew) return ctx.diffs;
    seed = incompatible;
  }
}

const KEYWORD_ADDED_OR_REMOVED = new Set<JsonDifferenceType>([
  "MAXIMUM_ADDED",
  "MINIMUM_ADDED",
  "EXCLUSIVE_MAXIMUM_ADDED",
  "EXCLUSIVE_MINIMUM_ADDED",
  "MULTIPLE_OF_ADDED",
  "MAX_LENGTH_ADDED",
  "MIN_LENGTH_ADDED",
  "PATTERN_ADDED",
  "REQUIRED_ATTRIBUTE_ADDED",
  "MAX_PROPERTIES_ADDED",
  "MIN_PROPERTIES_ADDED",
  "DEPENDENCY_ARRAY_ADDED",
  "DEPENDENCY_SCHEMA_ADDED",
  "MAX_ITEMS_ADDED",
  "MIN_ITEMS_ADDED",
  "MAX_CONTAINS_ADDED",
  "MIN_CONTAINS_ADDED",
  "UNIQUE_ITEMS_ADDED",
  "ADDITIONAL_ITEMS_REMOVED",
  "ADDITIONAL_PROPERTIES_REMOVED",
  "UNEVALUATED_PROPERTIES_REMOVED",
  "UNEVALUATED_ITEMS_REMOVED",
]);
const VALUE_INCREASED = new Set<JsonDifferenceType>([
  "MIN_LENGTH_INCREASED",
  "MINIMUM_INCREASED",
  "EXCLUSIVE_MINIMUM_INCREASED",
  "MIN_PROPERTIES_INCREASED",
  "MULTIPLE_OF_EXPANDED",
  "MIN_ITEMS_INCREASED",
  "MIN_CONTAINS_INCREASED",
]);
const VALUE_DECREASED = new Set<JsonDifferenceType>([
  "MAX_LENGTH_DECREASED",
  "MAXIMUM_DECREASED",
  "MAX_ITEMS_DECREASED",
  "MAX_CONTAINS_DECREASED",
  "EXCLUSIVE_MAXIMUM_DECREASED",
  "MAX_PROPERTIES_DECREASED",
]);
const TYPE_NARROWED = new Set<JsonDifferenceType>([
  "ADDITIONAL_ITEMS_NARROWED",
  "ENUM_ARRAY_NARROWED",
  "SUM_TYPE_NARROWED",
  "ADDITIONAL_PROPERTIES_NARROWED",
  "UNEVALUATED_PROPERTIES_NARROWED",
  "UNEVALUATED_ITEMS_NARROWED",
]);
const VALUE_CHANGED = new Set<JsonDifferenceType>([
  "PATTERN_CHANGED",
  "MULTIPLE_OF_CHANGED",
  "DEPENDENCY_ARRAY_CHANGED",
]);
const TYPE_CHANGED = new Set<JsonDifferenceType>([
  "TYPE_CHANGED",
  "TYPE_NARROWED",
  "COMBINED_TYPE_CHANGED",
  "COMBINED_TYPE_SUBSCHEMAS_CHANGED",
  "ENUM_ARRAY_CHANGED",
]);
const TYPE_EXTENDED = new Set<JsonDifferenceType>([
  "DEPENDENCY_ARRAY_EXTENDED",
  "PRODUCT_TYPE_EXTENDED",
  "SUM_TYPE_EXTENDED",
  "NOT_TYPE_EXTENDED",
]);
const ADDED_TO_OPEN = new Set<JsonDifferenceType>([
  "REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
  "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL",
  "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
  "ITEM_ADDED_TO_OPEN_CONTENT_MODEL",
]);

/** Confluent's message for one difference (`json.diff.Difference.toString()`), roles filled in. */
export function jsonDifferenceMessage(d: JsonDifference, roles: readonly [string, string]): string {
  const [a, b] = roles;
  const p = d.path;
  const t = d.type;
  let m = "";
  if (KEYWORD_ADDED_OR_REMOVED.has(t)) {
    m = `The keyword at path '${p}' in the ${a} schema is not present in the ${b} schema`;
  } else if (VALUE_INCREASED.has(t)) {
    m = `The value at path '${p}' in the ${a} schema is more than its value in the ${b} schema`;
  } else if (VALUE_DECREASED.has(t)) {
    m = `The value at path '${p}' in the ${a} schema is less than its value in the ${b} schema`;
  } else if (VALUE_CHANGED.has(t)) m = `The value at path '${p}' is different between the ${a} and ${b} schema`;
  else if (TYPE_NARROWED.has(t)) {
    m = `An array or combined type at path '${p}' has fewer elements in the ${a} schema than the ${b} schema`;
  } else if (TYPE_EXTENDED.has(t)) {
    m = `An array or combined type at path '${p}' has more elements in the ${a} schema than the ${b} schema`;
  } else if (TYPE_CHANGED.has(t)) m = `A type at path '${p}' is different between the ${a} schema and the ${b} schema`;
  else if (ADDED_TO_OPEN.has(t)) {
    m =
      `The ${a} schema has an open content model and has a property or item at path '${p}' which is missing in the ${b} schema`;
  } else if (t === "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL") {
    m =
      `The ${a} schema has an unopen content model and has a required property at path '${p}' which is missing in the ${b} schema`;
  } else if (t === "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL" || t === "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL") {
    m =
      `The ${a} has a closed content model and is missing a property or item present at path '${p}' in the ${b} schema`;
  } else if (
    t === "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL" ||
    t === "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
  ) {
    m =
      `A property or item is missing in the ${a} schema but present at path '${p}' in the ${b} schema and is not covered by its partially open content model`;
  } else if (
    t === "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL" ||
    t === "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
  ) {
    m =
      `The ${a} schema has a property or item at path '${p}' which is missing in the ${b} schema and is not covered by its partially open content model`;
  }
  // Confluent's format opens the description with " and closes it with ': kept byte for byte.
  return `{errorType:"${t}", description:"${m}'}`;
}

/**
 * Confluent `JsonSchema.isBackwardCompatible`: the incompatible differences of `previous` → `next`,
 * as messages with the roles filled in (`[new, old]` for BACKWARD).
 */
export function jsonSchemaBackwardMessages(
  next: JsonSchemaNode,
  previous: JsonSchemaNode,
  options: { roles: readonly [string, string]; compatible?: ReadonlySet<JsonDifferenceType> },
): string[] {
  const compatible = options.compatible ?? JSON_COMPATIBLE_STRICT;
  return jsonSchemaDifferences(previous, next, { compatible })
    .filter((d) => !compatible.has(d.type))
    .map((d) => jsonDifferenceMessage(d, options.roles));
}
