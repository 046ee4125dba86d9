/**
 * Avro reader/writer compatibility, as Apache Avro's `SchemaCompatibility` (Java) decides it —
 * Confluent's AVRO check calls it directly — with Confluent's message text (`avro.Difference`).
 *
 * The rules (§9.1): same primitive, or a promotion (int → long/float/double, long → float/double,
 * float → double, string ↔ bytes); records match reader fields to writer fields by name or reader
 * alias, a missing one needs a default; named types match on the unqualified name or a reader alias
 * of the writer's full name; enums need every writer symbol unless the reader has an enum default;
 * fixed sizes must be equal; every writer union branch must be readable; a reader union needs one
 * branch that reads the writer. Recursion is memoised per (reader, writer) pair, in-progress pairs
 * count as compatible. Logical types, docs, orders and custom properties are ignored.
 *
 * @module
 */

import { type AvroField, type AvroNamed, type AvroRecord, type AvroSchema, avroTypeName } from "./avro.ts";

export const AvroIncompatibilityType = {
  NAME_MISMATCH: "NAME_MISMATCH",
  FIXED_SIZE_MISMATCH: "FIXED_SIZE_MISMATCH",
  MISSING_ENUM_SYMBOLS: "MISSING_ENUM_SYMBOLS",
  READER_FIELD_MISSING_DEFAULT_VALUE: "READER_FIELD_MISSING_DEFAULT_VALUE",
  TYPE_MISMATCH: "TYPE_MISMATCH",
  MISSING_UNION_BRANCH: "MISSING_UNION_BRANCH",
} as const;
export type AvroIncompatibilityType = (typeof AvroIncompatibilityType)[keyof typeof AvroIncompatibilityType];

/** One reason the reader cannot read the writer's data. */
export interface AvroIncompatibility {
  type: AvroIncompatibilityType;
  /** JSON pointer into the reader schema (`/fields/1/type`). */
  location: string;
  /** Avro's detail (`reader type: INT not compatible with writer type: STRING`, a field name…). */
  message: string;
}

interface Result {
  compatible: boolean;
  incompatibilities: AvroIncompatibility[];
}

const COMPATIBLE: Result = { compatible: true, incompatibilities: [] };
const IN_PROGRESS: Result = { compatible: true, incompatibilities: [] };

function merge(a: Result, b: Result): Result {
  if (b.incompatibilities.length === 0 && b.compatible) return a;
  return {
    compatible: a.compatible && b.compatible,
    incompatibilities: [...a.incompatibilities, ...b.incompatibilities],
  };
}

class Checker {
  readonly #memo = new Map<AvroSchema, Map<AvroSchema, Result>>();

  /** Java `getCompatibility(reader, writer)`: a fresh location rooted at "". */
  fresh(reader: AvroSchema, writer: AvroSchema): Result {
    return this.at("", reader, writer, []);
  }

  at(token: string, reader: AvroSchema, writer: AvroSchema, location: string[]): Result {
    location.push(token);
    let byWriter = this.#memo.get(reader);
    if (byWriter === undefined) {
      byWriter = new Map();
      this.#memo.set(reader, byWriter);
    }
    let result = byWriter.get(writer);
    if (result === undefined) {
      byWriter.set(writer, IN_PROGRESS);
      result = this.#calculate(reader, writer, location);
      byWriter.set(writer, result);
    } else if (result === IN_PROGRESS) {
      result = COMPATIBLE;
    }
    location.pop();
    return result;
  }

  #incompatible(type: AvroIncompatibilityType, message: string, location: string[]): Result {
    return { compatible: false, incompatibilities: [{ type, location: pointer(location), message }] };
  }

  #typeMismatch(reader: AvroSchema, writer: AvroSchema, location: string[]): Result {
    return this.#incompatible(
      "TYPE_MISMATCH",
      `reader type: ${avroTypeName(reader)} not compatible with writer type: ${avroTypeName(writer)}`,
      location,
    );
  }

  #calculate(reader: AvroSchema, writer: AvroSchema, location: string[]): Result {
    let result = COMPATIBLE;
    if (reader.type === writer.type) {
      switch (reader.type) {
        case "array":
          return this.at("items", reader.items, (writer as typeof reader).items, location);
        case "map":
          return this.at("values", reader.values, (writer as typeof reader).values, location);
        case "fixed": {
          const w = writer as typeof reader;
          result = merge(result, this.#names(reader, w, location));
          location.push("size");
          if (reader.size !== w.size) {
            result = merge(
              result,
              this.#incompatible("FIXED_SIZE_MISMATCH", `expected: ${w.size}, found: ${reader.size}`, location),
            );
          }
          location.pop();
          return result;
        }
        case "enum": {
          const w = writer as typeof reader;
          result = merge(result, this.#names(reader, w, location));
          location.push("symbols");
          const missing = [...new Set(w.symbols)].filter((s) => !reader.symbols.includes(s)).sort();
          if (missing.length > 0 && !(reader.default !== undefined && reader.symbols.includes(reader.default))) {
            result = merge(
              result,
              this.#incompatible("MISSING_ENUM_SYMBOLS", `[${missing.join(", ")}]`, location),
            );
          }
          location.pop();
          return result;
        }
        case "record": {
          const w = writer as typeof reader;
          result = merge(result, this.#names(reader, w, location));
          return merge(result, this.#fields(reader, w, location));
        }
        case "union": {
          const w = writer as typeof reader;
          w.types.forEach((branch, i) => {
            location.push(String(i));
            if (!this.fresh(reader, branch).compatible) {
              result = merge(
                result,
                this.#incompatible(
                  "MISSING_UNION_BRANCH",
                  `reader union lacking writer type: ${avroTypeName(branch)}`,
                  location,
                ),
              );
            }
            location.pop();
          });
          return result;
        }
        default:
          return result; // same primitive
      }
    }
    // Different types: a writer union must be readable branch by branch.
    if (writer.type === "union") {
      writer.types.forEach((branch, i) => {
        result = merge(result, this.at(String(i), reader, branch, location));
      });
      return result;
    }
    switch (reader.type) {
      case "long":
        return writer.type === "int" ? result : this.#typeMismatch(reader, writer, location);
      case "float":
        return writer.type === "int" || writer.type === "long" ? result : this.#typeMismatch(reader, writer, location);
      case "double":
        return writer.type === "int" || writer.type === "long" || writer.type === "float"
          ? result
          : this.#typeMismatch(reader, writer, location);
      case "bytes":
        return writer.type === "string" ? result : this.#typeMismatch(reader, writer, location);
      case "string":
        return writer.type === "bytes" ? result : this.#typeMismatch(reader, writer, location);
      case "union":
        for (const branch of reader.types) {
          if (this.fresh(branch, writer).compatible) return result;
        }
        return this.#incompatible(
          "MISSING_UNION_BRANCH",
          `reader union lacking writer type: ${avroTypeName(writer)}`,
          location,
        );
      default:
        return this.#typeMismatch(reader, writer, location);
    }
  }

  #names(reader: AvroNamed, writer: AvroNamed, location: string[]): Result {
    location.push("name");
    let result = COMPATIBLE;
    const equal = reader.name.name === writer.name.name || reader.aliases.some((a) => a.full === writer.name.full);
    if (!equal) result = this.#incompatible("NAME_MISMATCH", `expected: ${writer.name.full}`, location);
    location.pop();
    return result;
  }

  #fields(reader: AvroRecord, writer: AvroRecord, location: string[]): Result {
    let result = COMPATIBLE;
    location.push("fields");
    for (const rf of reader.fields) {
      location.push(String(rf.pos));
      const wf = writerField(writer, rf);
      if (wf === undefined) {
        if (rf.default === undefined) {
          if (rf.type.type === "enum" && rf.type.default !== undefined) {
            // Avro quirk kept as is: compares the enum with the whole writer record.
            result = merge(result, this.at("type", rf.type, writer, location));
          } else {
            result = merge(
              result,
              this.#incompatible("READER_FIELD_MISSING_DEFAULT_VALUE", rf.name, location),
            );
          }
        }
      } else {
        result = merge(result, this.at("type", rf.type, wf.type, location));
      }
      location.pop();
    }
    location.pop();
    return result;
  }
}

/** Avro `lookupWriterField`: by name, then by each reader alias (the first match wins here). */
function writerField(writer: AvroRecord, readerField: AvroField): AvroField | undefined {
  return writer.fields.find((f) => f.name === readerField.name) ??
    readerField.aliases.map((a) => writer.fields.find((f) => f.name === a)).find((f) => f !== undefined);
}

function pointer(location: string[]): string {
  return `/${location.slice(1).map((t) => t.replaceAll("~", "~0").replaceAll("/", "~1")).join("/")}`;
}

/** Every reason `reader` cannot read data written with `writer` (empty: compatible). */
export function avroReaderWriterIncompatibilities(reader: AvroSchema, writer: AvroSchema): AvroIncompatibility[] {
  const r = new Checker().fresh(reader, writer);
  return r.compatible ? [] : r.incompatibilities;
}

/**
 * Confluent's message for one incompatibility (`avro.Difference.toString()`), the `%s` of its
 * templates filled with the reader's and the writer's role ("new"/"old").
 */
export function avroIncompatibilityMessage(i: AvroIncompatibility, roles: readonly [string, string]): string {
  const [reader, writer] = roles;
  const path = i.location;
  let description: string;
  switch (i.type) {
    case "FIXED_SIZE_MISMATCH":
      description =
        `The size of FIXED type field at path '${path}' in the ${reader} schema does not match with the ${writer} schema`;
      break;
    case "TYPE_MISMATCH":
      description =
        `The type (path '${path}') of a field in the ${reader} schema does not match with the ${writer} schema`;
      break;
    case "NAME_MISMATCH":
      description = `The name of the schema has changed (path '${path}')`;
      break;
    case "MISSING_ENUM_SYMBOLS":
      description =
        `The ${reader} schema is missing enum symbols '${i.message}' at path '${path}' in the ${writer} schema`;
      break;
    case "MISSING_UNION_BRANCH":
      description =
        `The ${reader} schema is missing a type inside a union field at path '${path}' in the ${writer} schema`;
      break;
    case "READER_FIELD_MISSING_DEFAULT_VALUE":
      description =
        `The field '${i.message}' at path '${path}' in the ${reader} schema has no default value and is missing in the ${writer} schema`;
      break;
  }
  return `{errorType:'${i.type}', description:'${description}', additionalInfo:'${i.message}'}`;
}

/**
 * Confluent `AvroSchema.isBackwardCompatible`: messages for `reader` reading `writer`'s data, the
 * roles filled in (`["new", "old"]` for BACKWARD).
 */
export function avroBackwardMessages(
  reader: AvroSchema,
  writer: AvroSchema,
  options: { roles: readonly [string, string] },
): string[] {
  return avroReaderWriterIncompatibilities(reader, writer).map((i) => avroIncompatibilityMessage(i, options.roles));
}
