/**
 * The Schema Registry's behaviour (Confluent's API, `../shared/schema-registry.md` §3–§7) over its
 * log: every change is appended to `_schemas` in Confluent's layout and applied to the in-memory
 * state only as it is read back, so the state is always what the log says — after a restart, on
 * another broker, or after compaction.
 *
 * Records (JSON keys and values, as Confluent and Karapace write them):
 * - `{"keytype":"SCHEMA","subject":S,"version":V,"magic":1}` → `{subject, version, id, schemaType?,
 *   schema, references?, deleted}`; null hard-deletes that version.
 * - `{"keytype":"CONFIG","subject":S|null,"magic":0}` → `{"compatibilityLevel": L, "normalize"?}`; null removes it.
 * - `{"keytype":"MODE","subject":S|null,"magic":0}` → `{"mode": M}`; null removes it.
 * - `DELETE_SUBJECT`, `CLEAR_SUBJECT` and `NOOP` records are read and ignored (the per-version
 *   records carry the deletes).
 *
 * Writes go one at a time (a queue), each after catching up with the log, so ids and versions
 * never collide on the broker that writes; on PostgreSQL only the leader of `_schemas` writes.
 *
 * @module
 */

import { checkCompatibility, parseSchema } from "./schemas.ts";
import { CompatibilityLevel, compatibilityLevelOf, type ParsedSchema, SchemaType, schemaTypeOf } from "./types.ts";
import { type SchemasLog, SchemaStoreError } from "./schemas_log.ts";

/** A reference of a schema to another subject's version. */
export interface SchemaReference {
  name: string;
  subject: string;
  version: number;
}

/** A registered schema, as stored under its id. */
export interface StoredSchema {
  id: number;
  schemaType: SchemaType;
  schema: string;
  references: SchemaReference[];
}

interface VersionEntry {
  version: number;
  id: number;
  deleted: boolean;
}

/** A subject-level or global config. */
export interface RegistryConfig {
  compatibilityLevel: CompatibilityLevel;
  normalize?: boolean;
}

/** Confluent's error: the HTTP status is the first three digits of the code. */
export class RegistryError extends Error {
  override name = "RegistryError";
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
  get status(): number {
    return this.code < 1000 ? this.code : Math.floor(this.code / 100);
  }
}

/** What a register, lookup or compatibility request carries. */
export interface SchemaRequest {
  schema?: unknown;
  schemaType?: unknown;
  references?: unknown;
  id?: unknown;
  version?: unknown;
}

/** The schema object Confluent answers (versions/{v}, lookup, /schemas). */
export interface SchemaObject {
  subject: string;
  version: number;
  id: number;
  schemaType?: string;
  references?: SchemaReference[];
  schema: string;
  deleted?: boolean;
}

const MODES = ["READWRITE", "READONLY", "READONLY_OVERRIDE", "IMPORT"] as const;
type Mode = (typeof MODES)[number];
const MAX_SUBJECT_LENGTH = 10_000;

function schemaKey(subject: string, version: number): string {
  return JSON.stringify({ keytype: "SCHEMA", subject, version, magic: 1 });
}
function configKey(subject: string | null): string {
  return JSON.stringify({ keytype: "CONFIG", subject, magic: 0 });
}
function modeKey(subject: string | null): string {
  return JSON.stringify({ keytype: "MODE", subject, magic: 0 });
}
function dedupKey(type: SchemaType, schema: string, references: readonly SchemaReference[]): string {
  return `${type}\u0000${schema}\u0000${JSON.stringify(references.map((r) => [r.name, r.subject, r.version]))}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The references field of a request: a list of `{name, subject, version}`. */
function referencesOf(v: unknown): SchemaReference[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new RegistryError(42201, "Invalid schema: references must be a list");
  return v.map((r) => {
    if (
      !isObject(r) || typeof r["name"] !== "string" || typeof r["subject"] !== "string" ||
      !Number.isInteger(r["version"])
    ) {
      throw new RegistryError(42201, "Invalid schema: a reference needs a name, a subject and a version");
    }
    return { name: r["name"], subject: r["subject"], version: r["version"] as number };
  });
}

/** Confluent's schema object (and `_schemas` value): no `schemaType` for AVRO, no empty `references`. */
function schemaObject(subject: string, e: { version: number; id: number }, s: StoredSchema): SchemaObject {
  return {
    subject,
    version: e.version,
    id: e.id,
    ...(s.schemaType === SchemaType.AVRO ? {} : { schemaType: s.schemaType }),
    ...(s.references.length > 0 ? { references: s.references } : {}),
    schema: s.schema,
  };
}

/** A `{version}` path segment: an integer ≥ 1, `latest` or -1. */
export function parseVersion(text: string): number | "latest" {
  if (text === "latest" || text === "-1") return "latest";
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1 || n > 2147483647) {
    throw new RegistryError(
      42202,
      `The specified version '${text}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`,
    );
  }
  return n;
}

/** The registry: state from the log, and every operation of the API. */
export class SchemaRegistry {
  readonly #log: SchemasLog;
  readonly #defaultLevel: CompatibilityLevel;
  #next = 0;
  #maxId = 0;
  readonly #byId = new Map<number, StoredSchema>();
  readonly #idByKey = new Map<string, number>();
  readonly #subjects = new Map<string, Map<number, VersionEntry>>();
  readonly #configs = new Map<string | null, RegistryConfig>();
  readonly #modes = new Map<string | null, Mode>();
  readonly #parsed = new Map<number, ParsedSchema>();
  #queue: Promise<unknown> = Promise.resolve();
  #catching: Promise<void> = Promise.resolve();

  /**
   * @param log the `_schemas` log
   * @param options `defaultLevel`: the compatibility level when none is configured
   *   (`schema.compatibility.level`, BACKWARD)
   */
  constructor(log: SchemasLog, options: { defaultLevel?: CompatibilityLevel } = {}) {
    this.#log = log;
    this.#defaultLevel = options.defaultLevel ?? CompatibilityLevel.BACKWARD;
  }

  /** The broker that writes the log (the others forward to it), -1 when none does. */
  leader(): Promise<number> {
    return this.#log.leader();
  }

  /**
   * Reads what the log holds past what was applied. Calls run one after another, each reading to
   * the end it finds, so a caller sees at least everything appended before it called (a write's
   * own record included; a shared in-flight read could have started before it).
   */
  catchUp(): Promise<void> {
    const run = this.#catching.then(() => this.#readToEnd());
    this.#catching = run.catch(() => {});
    return run;
  }

  async #readToEnd(): Promise<void> {
    for (;;) {
      const before = this.#next;
      const { records, next, end } = await this.#log.readFrom(this.#next);
      for (const r of records) this.#apply(r.key, r.value);
      this.#next = Math.max(this.#next, next);
      if (this.#next >= end || this.#next === before) return;
    }
  }

  #apply(keyText: string, valueText: string | null): void {
    let key: unknown;
    let value: unknown = null;
    try {
      key = JSON.parse(keyText);
      if (valueText !== null) value = JSON.parse(valueText);
    } catch {
      return; // not a record of ours
    }
    if (!isObject(key)) return;
    const subject = typeof key["subject"] === "string" ? key["subject"] : null;
    switch (key["keytype"]) {
      case "SCHEMA": {
        if (subject === null || !Number.isInteger(key["version"])) return;
        const version = key["version"] as number;
        if (value === null) return this.#dropVersion(subject, version);
        if (!isObject(value) || !Number.isInteger(value["id"]) || typeof value["schema"] !== "string") return;
        const id = value["id"] as number;
        const type = schemaTypeOf(value["schemaType"] as string | undefined) ?? SchemaType.AVRO;
        let references: SchemaReference[] = [];
        try {
          references = referencesOf(value["references"]);
        } catch {
          return;
        }
        const versions = this.#subjects.get(subject) ?? new Map<number, VersionEntry>();
        this.#subjects.set(subject, versions);
        const before = versions.get(version);
        versions.set(version, { version, id, deleted: value["deleted"] === true });
        if (before && before.id !== id) this.#forgetIdIfUnused(before.id);
        if (!this.#byId.has(id)) {
          this.#byId.set(id, { id, schemaType: type, schema: value["schema"], references });
          this.#idByKey.set(dedupKey(type, value["schema"], references), id);
        }
        this.#maxId = Math.max(this.#maxId, id);
        return;
      }
      case "CONFIG": {
        if (value === null) {
          this.#configs.delete(subject);
          return;
        }
        if (!isObject(value)) return;
        const level = compatibilityLevelOf(String(value["compatibilityLevel"] ?? value["compatibility"] ?? ""));
        if (!level) return;
        this.#configs.set(subject, {
          compatibilityLevel: level,
          ...(typeof value["normalize"] === "boolean" ? { normalize: value["normalize"] } : {}),
        });
        return;
      }
      case "MODE": {
        if (value === null) {
          this.#modes.delete(subject);
          return;
        }
        if (isObject(value) && (MODES as readonly string[]).includes(String(value["mode"]))) {
          this.#modes.set(subject, value["mode"] as Mode);
        }
        return;
      }
      default:
        return; // DELETE_SUBJECT, CLEAR_SUBJECT, NOOP: the version records say it all
    }
  }

  #dropVersion(subject: string, version: number): void {
    const versions = this.#subjects.get(subject);
    const entry = versions?.get(version);
    if (!versions || !entry) return;
    versions.delete(version);
    if (versions.size === 0) this.#subjects.delete(subject);
    this.#forgetIdIfUnused(entry.id);
  }

  #forgetIdIfUnused(id: number): void {
    for (const versions of this.#subjects.values()) {
      for (const e of versions.values()) if (e.id === id) return;
    }
    const s = this.#byId.get(id);
    if (s) this.#idByKey.delete(dedupKey(s.schemaType, s.schema, s.references));
    this.#byId.delete(id);
    this.#parsed.delete(id);
  }

  /** Runs a write after the previous ones, caught up with the log, and catches up after it. */
  #write<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(async () => {
      await this.catchUp();
      try {
        return await fn();
      } finally {
        await this.catchUp();
      }
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  async #append(records: { key: string; value: string | null }[]): Promise<void> {
    try {
      await this.#log.append(records);
    } catch (err) {
      if (err instanceof SchemaStoreError) {
        throw new RegistryError(50001, `Error while storing the schema: ${err.message}`);
      }
      throw err;
    }
  }

  // ---- reading the state ----

  #versionsOf(subject: string, deleted: boolean): VersionEntry[] {
    const versions = this.#subjects.get(subject);
    if (!versions) return [];
    return [...versions.values()].filter((e) => deleted || !e.deleted).sort((a, b) => a.version - b.version);
  }

  #subjectOrThrow(subject: string, deleted: boolean): VersionEntry[] {
    const all = this.#versionsOf(subject, true);
    if (all.length === 0) throw new RegistryError(40401, `Subject '${subject}' not found.`);
    const live = all.filter((e) => !e.deleted);
    if (!deleted && live.length === 0) throw new RegistryError(40401, `Subject '${subject}' not found.`);
    return deleted ? all : live;
  }

  #entry(subject: string, version: number | "latest", deleted: boolean): VersionEntry {
    const list = this.#subjectOrThrow(subject, deleted);
    if (version === "latest") return list.at(-1)!;
    const e = list.find((x) => x.version === version);
    if (!e) throw new RegistryError(40402, `Version ${version} not found.`);
    return e;
  }

  #object(subject: string, e: VersionEntry, withDeleted = false): SchemaObject {
    return {
      ...schemaObject(subject, e, this.#byId.get(e.id)!),
      ...(withDeleted && e.deleted ? { deleted: true } : {}),
    };
  }

  /** The transitive references of a schema, dependencies first, with their texts. */
  #resolve(references: readonly SchemaReference[]): { names: string[]; texts: Map<string, string> } {
    const names: string[] = [];
    const texts = new Map<string, string>();
    const visit = (refs: readonly SchemaReference[], depth: number) => {
      if (depth > 32) throw new RegistryError(42201, "Invalid schema: references nest too deep (a cycle?)");
      for (const r of refs) {
        const versions = this.#subjects.get(r.subject);
        const e = r.version === -1 ? this.#versionsOf(r.subject, false).at(-1) : versions?.get(r.version);
        const s = e ? this.#byId.get(e.id) : undefined;
        if (!s) {
          throw new RegistryError(
            42201,
            `Invalid schema: the reference ${r.name} names subject '${r.subject}' version ${r.version}, which does not exist`,
          );
        }
        visit(s.references, depth + 1);
        if (!texts.has(r.name)) {
          texts.set(r.name, s.schema);
          names.push(r.name);
        }
      }
    };
    visit(references, 0);
    return { names, texts };
  }

  #parse(type: SchemaType, text: string, references: readonly SchemaReference[]): ParsedSchema {
    const { names, texts } = this.#resolve(references);
    const r = parseSchema(type, text, { references: names, lookup: (name) => texts.get(name) });
    if (!r.ok) throw new RegistryError(42201, `Invalid schema: ${r.message}`);
    return r.value;
  }

  #parsedById(id: number): ParsedSchema {
    const cached = this.#parsed.get(id);
    if (cached) return cached;
    const s = this.#byId.get(id)!;
    const parsed = this.#parse(s.schemaType, s.schema, s.references);
    this.#parsed.set(id, parsed);
    return parsed;
  }

  #request(body: SchemaRequest): { type: SchemaType; text: string; references: SchemaReference[] } {
    if (!isObject(body)) throw new RegistryError(42201, "Invalid schema: the request body must be a JSON object");
    if (typeof body.schema !== "string" || body.schema.trim() === "") {
      throw new RegistryError(42201, "Empty schema");
    }
    const type = schemaTypeOf(body.schemaType as string | undefined);
    if (!type) throw new RegistryError(42201, `Invalid schema: unknown schema type ${String(body.schemaType)}`);
    return { type, text: body.schema, references: referencesOf(body.references) };
  }

  #normalizeFor(subject: string | null, asked: boolean): boolean {
    if (asked) return true;
    return (subject !== null && this.#configs.get(subject)?.normalize === true) ||
      this.#configs.get(null)?.normalize === true;
  }

  /** The effective level of a subject: its own, the global one, or the server default. */
  levelOf(subject: string | null): CompatibilityLevel {
    return (subject === null ? undefined : this.#configs.get(subject)?.compatibilityLevel) ??
      this.#configs.get(null)?.compatibilityLevel ?? this.#defaultLevel;
  }

  #modeOf(subject: string): Mode {
    return this.#modes.get(subject) ?? this.#modes.get(null) ?? "READWRITE";
  }

  #checkSubjectName(subject: string): void {
    if (
      subject.length === 0 || subject.length > MAX_SUBJECT_LENGTH || [...subject].some((ch) => ch.charCodeAt(0) < 0x20)
    ) {
      throw new RegistryError(42208, `The specified subject '${subject}' is not a valid.`);
    }
  }

  /** A live version of the subject holding this schema (canonical or normalized text). */
  #liveMatch(subject: string, type: SchemaType, parsed: ParsedSchema, refs: SchemaReference[], deleted: boolean) {
    for (const e of this.#versionsOf(subject, deleted)) {
      const s = this.#byId.get(e.id)!;
      if (s.schemaType !== type || JSON.stringify(s.references) !== JSON.stringify(refs)) continue;
      if (s.schema === parsed.canonical || s.schema === parsed.normalized) return e;
    }
    return undefined;
  }

  // ---- the API ----

  /** `POST /subjects/{s}/versions`: registers a schema, or answers the id it already has. */
  register(subject: string, body: SchemaRequest, options: { normalize?: boolean } = {}): Promise<{ id: number }> {
    return this.#write(async () => {
      this.#checkSubjectName(subject);
      const { type, text, references } = this.#request(body);
      const parsed = this.#parse(type, text, references);
      const normalize = this.#normalizeFor(subject, options.normalize === true);
      const stored = normalize ? parsed.normalized : parsed.canonical;
      const existing = this.#liveMatch(subject, type, parsed, references, false);
      const askedId = body.id === undefined || body.id === null ? null : body.id;
      if (askedId !== null && !Number.isInteger(askedId)) {
        throw new RegistryError(42201, "Invalid schema: id must be an integer");
      }
      if (existing && (askedId === null || askedId === existing.id)) return { id: existing.id };
      const mode = this.#modeOf(subject);
      if (mode === "READONLY" || mode === "READONLY_OVERRIDE") {
        throw new RegistryError(42205, `Subject ${subject} is in read-only mode`);
      }
      const all = this.#versionsOf(subject, true);
      let version = (all.at(-1)?.version ?? 0) + 1;
      let id: number;
      if (mode === "IMPORT") {
        if (askedId === null) {
          throw new RegistryError(42205, `Subject ${subject} is in import mode: the schema needs an id`);
        }
        id = askedId as number;
        const taken = this.#byId.get(id);
        if (taken && (taken.schema !== stored || taken.schemaType !== type)) {
          throw new RegistryError(
            42205,
            `Overwrite new schema with id ${id} is not permitted: the id holds another schema`,
          );
        }
        if (Number.isInteger(body.version)) version = body.version as number;
      } else {
        if (askedId !== null) {
          throw new RegistryError(42205, `Subject ${subject} is not in import mode: an id cannot be given`);
        }
        if (body.version !== undefined && body.version !== null && body.version !== version) {
          throw new RegistryError(
            42201,
            `Invalid schema: version ${String(body.version)} is not the next one (${version})`,
          );
        }
        const live = this.#versionsOf(subject, false);
        const level = this.levelOf(subject);
        if (level !== CompatibilityLevel.NONE && live.length > 0) {
          const olderTypes = live.map((e) => this.#byId.get(e.id)!.schemaType);
          const result = olderTypes.some((t) => t !== type)
            ? { compatible: false, messages: [`Incompatible schema type: ${type} is not ${olderTypes.at(-1)}`] }
            : checkCompatibility(
              parsed,
              live.map((e) => ({ schema: this.#parsedById(e.id), version: e.version })),
              { level },
            );
          if (!result.compatible) {
            throw new RegistryError(
              409,
              `Schema being registered is incompatible with an earlier schema for subject "${subject}", details: [${
                result.messages.join(", ")
              }]`,
            );
          }
        }
        id = this.#idByKey.get(dedupKey(type, stored, references)) ?? this.#maxId + 1;
      }
      const records: { key: string; value: string | null }[] = [];
      // An older soft-deleted version with the same id goes (the subject does not list the id twice).
      for (const e of all) {
        if (e.deleted && e.id === id) records.push({ key: schemaKey(subject, e.version), value: null });
      }
      records.push({
        key: schemaKey(subject, version),
        value: JSON.stringify({
          ...schemaObject(subject, { version, id }, { id, schemaType: type, schema: stored, references }),
          deleted: false,
        }),
      });
      await this.#append(records);
      return { id };
    });
  }

  /** `POST /subjects/{s}`: the version of the subject holding this schema. */
  async lookup(
    subject: string,
    body: SchemaRequest,
    options: { normalize?: boolean; deleted?: boolean } = {},
  ): Promise<SchemaObject> {
    await this.catchUp();
    this.#subjectOrThrow(subject, options.deleted === true);
    const { type, text, references } = this.#request(body);
    const parsed = this.#parse(type, text, references);
    const e = this.#liveMatch(subject, type, parsed, references, options.deleted === true);
    if (!e) throw new RegistryError(40403, "Schema not found");
    return this.#object(subject, e, options.deleted === true);
  }

  /** `GET /subjects` */
  async subjects(options: { prefix?: string; deleted?: boolean; deletedOnly?: boolean } = {}): Promise<string[]> {
    await this.catchUp();
    const out: string[] = [];
    for (const subject of [...this.#subjects.keys()].sort()) {
      if (options.prefix && !subject.startsWith(options.prefix)) continue;
      const all = this.#versionsOf(subject, true);
      const live = all.some((e) => !e.deleted);
      if (options.deletedOnly ? !live : live || options.deleted) out.push(subject);
    }
    return out;
  }

  /** `GET /subjects/{s}/versions` */
  async versions(subject: string, options: { deleted?: boolean; deletedOnly?: boolean } = {}): Promise<number[]> {
    await this.catchUp();
    const all = this.#subjectOrThrow(subject, true);
    if (options.deletedOnly) return all.filter((e) => e.deleted).map((e) => e.version);
    if (!options.deleted && !all.some((e) => !e.deleted)) {
      throw new RegistryError(40401, `Subject '${subject}' not found.`);
    }
    return all.filter((e) => options.deleted || !e.deleted).map((e) => e.version);
  }

  /** `GET /subjects/{s}/versions/{v}` */
  async version(
    subject: string,
    version: number | "latest",
    options: { deleted?: boolean } = {},
  ): Promise<SchemaObject> {
    await this.catchUp();
    return this.#object(subject, this.#entry(subject, version, options.deleted === true), options.deleted === true);
  }

  /** `GET /subjects/{s}/versions/{v}/referencedby`: ids of the schemas that reference it. */
  async referencedBy(subject: string, version: number | "latest"): Promise<number[]> {
    await this.catchUp();
    const e = this.#entry(subject, version, false);
    return this.#referrers(subject, e.version, false);
  }

  #referrers(subject: string, version: number, includeDeleted: boolean): number[] {
    const ids = new Set<number>();
    for (const versions of this.#subjects.values()) {
      for (const v of versions.values()) {
        if (v.deleted && !includeDeleted) continue;
        const s = this.#byId.get(v.id)!;
        if (s.references.some((r) => r.subject === subject && r.version === version)) ids.add(v.id);
      }
    }
    return [...ids].sort((a, b) => a - b);
  }

  /** `DELETE /subjects/{s}`: soft (or, after a soft delete, `permanent`) delete of every version. */
  deleteSubject(subject: string, options: { permanent?: boolean } = {}): Promise<number[]> {
    return this.#write(async () => {
      const all = this.#versionsOf(subject, true);
      if (all.length === 0) throw new RegistryError(40401, `Subject '${subject}' not found.`);
      const mode = this.#modeOf(subject);
      if (mode === "READONLY" || mode === "READONLY_OVERRIDE") {
        throw new RegistryError(42205, `Subject ${subject} is in read-only mode`);
      }
      const live = all.filter((e) => !e.deleted);
      if (options.permanent) {
        if (live.length > 0) {
          throw new RegistryError(
            40405,
            `Subject '${subject}' was not deleted first before being permanently deleted`,
          );
        }
      } else if (live.length === 0) {
        throw new RegistryError(
          40404,
          `Subject '${subject}' was soft deleted.Set permanent=true to delete permanently`,
        );
      }
      const targets = options.permanent ? all : live;
      for (const e of targets) {
        if (this.#referrers(subject, e.version, options.permanent === true).length > 0) {
          throw new RegistryError(
            42206,
            `One or more references exist to the schema {magic=1,keytype=SCHEMA,subject=${subject},version=${e.version}}.`,
          );
        }
      }
      const records = targets.map((e) => ({
        key: schemaKey(subject, e.version),
        value: options.permanent ? null : this.#deletedValue(subject, e),
      }));
      if (options.permanent) {
        if (this.#configs.has(subject)) records.push({ key: configKey(subject), value: null });
        if (this.#modes.has(subject)) records.push({ key: modeKey(subject), value: null });
      }
      await this.#append(records);
      return targets.map((e) => e.version);
    });
  }

  #deletedValue(subject: string, e: VersionEntry): string {
    return JSON.stringify({ ...this.#object(subject, e), deleted: true });
  }

  /** `DELETE /subjects/{s}/versions/{v}` */
  deleteVersion(subject: string, version: number | "latest", options: { permanent?: boolean } = {}): Promise<number> {
    return this.#write(async () => {
      const all = this.#versionsOf(subject, true);
      if (all.length === 0) throw new RegistryError(40401, `Subject '${subject}' not found.`);
      const mode = this.#modeOf(subject);
      if (mode === "READONLY" || mode === "READONLY_OVERRIDE") {
        throw new RegistryError(42205, `Subject ${subject} is in read-only mode`);
      }
      const e = version === "latest"
        ? (options.permanent ? all : all.filter((x) => !x.deleted)).at(-1)
        : all.find((x) => x.version === version);
      if (!e) throw new RegistryError(40402, `Version ${version} not found.`);
      if (options.permanent && !e.deleted) {
        throw new RegistryError(
          40407,
          `Subject '${subject}' Version ${e.version} was not deleted first before being permanently deleted`,
        );
      }
      if (!options.permanent && e.deleted) {
        throw new RegistryError(
          40406,
          `Subject '${subject}' Version ${e.version} was soft deleted.Set permanent=true to delete permanently`,
        );
      }
      if (this.#referrers(subject, e.version, options.permanent === true).length > 0) {
        throw new RegistryError(
          42206,
          `One or more references exist to the schema {magic=1,keytype=SCHEMA,subject=${subject},version=${e.version}}.`,
        );
      }
      const records = [{
        key: schemaKey(subject, e.version),
        value: options.permanent ? null : this.#deletedValue(subject, e),
      }];
      if (options.permanent && all.length === 1) {
        if (this.#configs.has(subject)) records.push({ key: configKey(subject), value: null });
        if (this.#modes.has(subject)) records.push({ key: modeKey(subject), value: null });
      }
      await this.#append(records);
      return e.version;
    });
  }

  /** `GET /schemas/ids/{id}` */
  async schemaById(id: number, options: { fetchMaxId?: boolean } = {}) {
    await this.catchUp();
    const s = this.#byId.get(id);
    if (!s) throw new RegistryError(40403, `Schema ${id} not found`);
    return {
      ...(s.schemaType === SchemaType.AVRO ? {} : { schemaType: s.schemaType }),
      ...(s.references.length > 0 ? { references: s.references } : {}),
      schema: s.schema,
      ...(options.fetchMaxId ? { maxId: this.#maxId } : {}),
    };
  }

  /**
   * The parsed schema of an id, parsed once and cached, for the serializers of the REST proxy
   * (`serde/`); ids stay readable after soft deletes, as `GET /schemas/ids/{id}` does.
   * @throws RegistryError 40403 when no version uses the id
   */
  async parsedSchema(id: number): Promise<ParsedSchema> {
    await this.catchUp();
    if (!this.#byId.has(id)) throw new RegistryError(40403, `Schema ${id} not found`);
    return this.#parsedById(id);
  }

  /** `GET /schemas/ids/{id}/versions`: the subject-versions using an id. */
  async versionsOfId(id: number, options: { deleted?: boolean } = {}): Promise<{ subject: string; version: number }[]> {
    await this.catchUp();
    if (!this.#byId.has(id)) throw new RegistryError(40403, `Schema ${id} not found`);
    const out: { subject: string; version: number }[] = [];
    for (const subject of [...this.#subjects.keys()].sort()) {
      for (const e of this.#versionsOf(subject, options.deleted === true)) {
        if (e.id === id) out.push({ subject, version: e.version });
      }
    }
    return out;
  }

  /** `GET /schemas`: schema objects, every version or the latest per subject. */
  async schemas(options: { prefix?: string; deleted?: boolean; latestOnly?: boolean } = {}): Promise<SchemaObject[]> {
    await this.catchUp();
    const out: SchemaObject[] = [];
    for (const subject of [...this.#subjects.keys()].sort()) {
      if (options.prefix && !subject.startsWith(options.prefix)) continue;
      const list = this.#versionsOf(subject, options.deleted === true);
      for (const e of options.latestOnly ? list.slice(-1) : list) {
        out.push(this.#object(subject, e, options.deleted === true));
      }
    }
    return out;
  }

  /**
   * `POST /compatibility/subjects/{s}/versions[/{v}]`: the candidate against one version, or
   * (no version) against the live history, with the subject's level.
   */
  async compatibility(
    subject: string,
    version: number | "latest" | null,
    body: SchemaRequest,
    options: { verbose?: boolean; normalize?: boolean } = {},
  ): Promise<{ is_compatible: boolean; messages?: string[] }> {
    await this.catchUp();
    let candidate: ParsedSchema;
    let type: SchemaType;
    try {
      const req = this.#request(body);
      type = req.type;
      candidate = this.#parse(req.type, req.text, req.references);
    } catch (err) {
      if (options.verbose && err instanceof RegistryError && err.code === 42201) {
        return { is_compatible: false, messages: [err.message] };
      }
      throw err;
    }
    const live = this.#versionsOf(subject, false);
    let against: VersionEntry[];
    if (version === null || version === "latest") {
      against = version === null ? live : live.slice(-1);
    } else {
      const e = live.find((x) => x.version === version);
      if (!e) {
        if (!this.#subjects.has(subject)) throw new RegistryError(40401, `Subject '${subject}' not found.`);
        throw new RegistryError(40402, `Version ${version} not found.`);
      }
      against = [e];
    }
    const level = this.levelOf(subject);
    if (level === CompatibilityLevel.NONE || against.length === 0) {
      return options.verbose ? { is_compatible: true, messages: [] } : { is_compatible: true };
    }
    const typeMismatch = against.find((e) => this.#byId.get(e.id)!.schemaType !== type);
    const result = typeMismatch
      ? {
        compatible: false,
        messages: [`Incompatible schema type: ${type} is not ${this.#byId.get(typeMismatch.id)!.schemaType}`],
      }
      : checkCompatibility(
        candidate,
        against.map((e) => ({ schema: this.#parsedById(e.id), version: e.version })),
        // One given version is checked as if it were the whole history (Confluent).
        {
          level: version !== null && level.endsWith("_TRANSITIVE")
            ? level.replace("_TRANSITIVE", "") as CompatibilityLevel
            : level,
        },
      );
    return options.verbose
      ? { is_compatible: result.compatible, messages: result.messages }
      : { is_compatible: result.compatible };
  }

  /** `GET /config[/{s}]` */
  async config(subject: string | null, options: { defaultToGlobal?: boolean } = {}): Promise<RegistryConfig> {
    await this.catchUp();
    if (subject !== null) {
      const own = this.#configs.get(subject);
      if (own) return own;
      if (!options.defaultToGlobal) {
        throw new RegistryError(40408, `Subject '${subject}' does not have subject-level compatibility configured`);
      }
    }
    return this.#configs.get(null) ?? { compatibilityLevel: this.#defaultLevel };
  }

  /** `PUT /config[/{s}]`: `{"compatibility": L, "normalize"?}`; answers what was set. */
  setConfig(
    subject: string | null,
    body: unknown,
  ): Promise<{ compatibility: CompatibilityLevel; normalize?: boolean }> {
    return this.#write(async () => {
      if (subject !== null) this.#checkSubjectName(subject);
      const b = isObject(body) ? body : {};
      const level = compatibilityLevelOf(String(b["compatibility"] ?? b["compatibilityLevel"] ?? ""));
      if (!level) {
        throw new RegistryError(
          42203,
          "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive",
        );
      }
      const normalize = typeof b["normalize"] === "boolean" ? b["normalize"] as boolean : undefined;
      const value = { compatibilityLevel: level, ...(normalize === undefined ? {} : { normalize }) };
      await this.#append([{ key: configKey(subject), value: JSON.stringify(value) }]);
      return { compatibility: level, ...(normalize === undefined ? {} : { normalize }) };
    });
  }

  /** `DELETE /config[/{s}]`: the config removed. */
  deleteConfig(subject: string | null): Promise<RegistryConfig> {
    return this.#write(async () => {
      const own = this.#configs.get(subject);
      if (subject !== null && !own) throw new RegistryError(40401, `Subject '${subject}' not found.`);
      await this.#append([{ key: configKey(subject), value: null }]);
      return own ?? { compatibilityLevel: this.#defaultLevel };
    });
  }

  /** `GET /mode[/{s}]` */
  async mode(subject: string | null, options: { defaultToGlobal?: boolean } = {}): Promise<{ mode: Mode }> {
    await this.catchUp();
    if (subject !== null) {
      const own = this.#modes.get(subject);
      if (own) return { mode: own };
      if (!options.defaultToGlobal) {
        throw new RegistryError(40409, `Subject '${subject}' does not have subject-level mode configured`);
      }
    }
    return { mode: this.#modes.get(null) ?? "READWRITE" };
  }

  /** `PUT /mode[/{s}]` */
  setMode(subject: string | null, body: unknown, options: { force?: boolean } = {}): Promise<{ mode: Mode }> {
    return this.#write(async () => {
      const b = isObject(body) ? body : {};
      const mode = String(b["mode"] ?? "").toUpperCase();
      if (!(MODES as readonly string[]).includes(mode)) {
        throw new RegistryError(
          42204,
          "Invalid mode. Valid values are READWRITE, READONLY, READONLY_OVERRIDE and IMPORT",
        );
      }
      if (mode === "IMPORT" && !options.force) {
        const hasSubjects = subject === null
          ? [...this.#subjects.keys()].some((s) => this.#versionsOf(s, false).length > 0)
          : this.#versionsOf(subject, false).length > 0;
        if (hasSubjects) {
          throw new RegistryError(
            42205,
            "Cannot import since found existing subjects (use force=true to switch to IMPORT anyway)",
          );
        }
      }
      await this.#append([{ key: modeKey(subject), value: JSON.stringify({ mode }) }]);
      return { mode: mode as Mode };
    });
  }

  /** `DELETE /mode[/{s}]` */
  deleteMode(subject: string | null): Promise<{ mode: Mode }> {
    return this.#write(async () => {
      const own = this.#modes.get(subject);
      if (subject !== null && !own) {
        throw new RegistryError(40409, `Subject '${subject}' does not have subject-level mode configured`);
      }
      await this.#append([{ key: modeKey(subject), value: null }]);
      return { mode: own ?? "READWRITE" };
    });
  }
}
