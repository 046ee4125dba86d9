/**
 * Tests for the generated codecs in src/protocol/generated/. The random round-trip tests read
 * Kafka's JSON specs and hold the generated code against a small independent interpreter of
 * them: the expected decoded object, and a reference encoder for the expected bytes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { isDeepStrictEqual } from "node:util";

import { DecodeError, Reader, uuidToString } from "../../../src/protocol/reader.ts";
import { Writer } from "../../../src/protocol/writer.ts";
import { type ApiDescriptor, ApiKey, APIS } from "../../../src/protocol/generated/api_keys.ts";
import {
  decodeRequestHeader,
  decodeResponseHeader,
  encodeRequestHeader,
  encodeResponseHeader,
} from "../../../src/protocol/generated/headers.ts";
import {
  decodeApiVersionsRequest,
  decodeApiVersionsResponse,
} from "../../../src/protocol/generated/18_api_versions.ts";
import { decodeMetadataResponse, encodeMetadataRequest } from "../../../src/protocol/generated/03_metadata.ts";
import { decodeProduceRequest } from "../../../src/protocol/generated/00_produce.ts";
import { ErrorCode, errorName, isRetriable } from "../../../src/protocol/generated/errors.ts";
import * as consumerProtocolAssignment from "../../../src/protocol/generated/data_consumer_protocol_assignment.ts";
import * as consumerProtocolSubscription from "../../../src/protocol/generated/data_consumer_protocol_subscription.ts";
import * as controlRecordTypeSchema from "../../../src/protocol/generated/data_control_record_type_schema.ts";
import * as defaultPrincipalData from "../../../src/protocol/generated/data_default_principal_data.ts";
import * as endTxnMarker from "../../../src/protocol/generated/data_end_txn_marker.ts";
import * as kraftVersionRecord from "../../../src/protocol/generated/data_kraft_version_record.ts";
import * as leaderChangeMessage from "../../../src/protocol/generated/data_leader_change_message.ts";
import * as snapshotFooterRecord from "../../../src/protocol/generated/data_snapshot_footer_record.ts";
import * as snapshotHeaderRecord from "../../../src/protocol/generated/data_snapshot_header_record.ts";
import * as votersRecord from "../../../src/protocol/generated/data_voters_record.ts";

// ---------------------------------------------------------------------------------------------
// Spec interpreter (test side, written independently of scripts/gen_protocol.ts)

/** Apache Kafka 4.3.1's specs: the source of every version they define. */
const SPEC_DIR = new URL("../../../../shared/kafka-protocol-4.3/", import.meta.url);
/** The 2024-10-25 (4.0.0-SNAPSHOT) specs: the versions Kafka 4.0 removed (KIP-896). */
const OLD_SPEC_DIR = new URL("../../../../shared/kafka-protocol/", import.meta.url);
/** Old versions that are not served: ZooKeeper-era APIs and the share-group early-access v0. */
const OLD_NOT_TAKEN = new Set([4, 5, 6, 7, 76, 77, 78, 79]);

function readSpec(rel: string, dir: URL = SPEC_DIR): any {
  const text = fs.readFileSync(new URL(rel, dir), "utf8");
  return JSON.parse(text.split("\n").filter((l) => !l.trim().startsWith("//")).join("\n"));
}

/**
 * `a` plus, at the end and absent from every version, the fields only `b` has (recursively in
 * inline structs and common structs): a decoder generated from both files yields those fields'
 * defaults wherever `a` defines the version.
 */
function withFieldsOf(a: Spec, b: Spec): Spec {
  const merge = (fa: Field[], fb: Field[]): Field[] => {
    const out = fa.map((f) => {
      const other = fb.find((g) => g.name === f.name);
      return f.fields && other?.fields ? { ...f, fields: merge(f.fields, other.fields) } : f;
    });
    for (const g of fb) {
      if (!fa.some((f) => f.name === g.name)) {
        const { taggedVersions: _tagged, nullableVersions: _nullable, ...rest } = g;
        out.push({ ...rest, versions: "none" });
      }
    }
    return out;
  };
  const structs = new Map((a.commonStructs ?? []).map((c) => [c.name, c]));
  for (const c of b.commonStructs ?? []) {
    const mine = structs.get(c.name);
    structs.set(c.name, mine ? { ...mine, fields: merge(mine.fields, c.fields) } : c);
  }
  return { ...a, fields: merge(a.fields, b.fields), commonStructs: [...structs.values()] };
}

/** Versions of an API served from the old spec set: those below the new set's minimum. */
function removedVersions(entry: any, old: any | undefined): number[] {
  if (!old || OLD_NOT_TAKEN.has(entry.apiKey)) return [];
  return versionList(old.validVersions).filter((v) => v < entry.minVersion);
}

interface Field {
  name: string;
  type: string;
  versions?: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number | string;
  flexibleVersions?: string;
  default?: string | number | boolean;
  fields?: Field[];
}

interface Spec {
  name: string;
  validVersions: string;
  flexibleVersions: string;
  fields: Field[];
  commonStructs?: { name: string; fields: Field[] }[];
}

function inVersions(v: number, text: string | undefined): boolean {
  if (text === undefined || text === "none") return false;
  if (text.endsWith("+")) return v >= Number(text.slice(0, -1));
  const [lo, hi] = text.split("-");
  return v >= Number(lo) && v <= Number(hi ?? lo);
}

function versionList(text: string): number[] {
  const [lo, hi] = text.split("-");
  const out: number[] = [];
  for (let v = Number(lo); v <= Number(hi ?? lo); v++) out.push(v);
  return out;
}

const camel = (s: string): string => s[0]!.toLowerCase() + s.slice(1);
const PRIMITIVES = new Set([
  "bool",
  "int8",
  "int16",
  "uint16",
  "int32",
  "uint32",
  "int64",
  "float64",
  "string",
  "bytes",
  "uuid",
  "records",
]);

/** Resolves struct types of one spec file to their fields. */
class Schema {
  readonly spec: Spec;
  readonly structs = new Map<string, Field[]>();

  constructor(spec: Spec) {
    this.spec = spec;
    for (const c of spec.commonStructs ?? []) this.structs.set(c.name, c.fields);
    const walk = (fields: Field[]): void => {
      for (const f of fields) {
        if (f.fields) {
          this.structs.set(f.type.replace(/^\[\]/, ""), f.fields);
          walk(f.fields);
        }
      }
    };
    walk(spec.fields);
    for (const c of spec.commonStructs ?? []) walk(c.fields);
  }

  fieldsOf(type: string): Field[] {
    const fields = this.structs.get(type.replace(/^\[\]/, ""));
    if (!fields) throw new Error(`unknown struct ${type}`);
    return fields;
  }

  flexible(v: number): boolean {
    return inVersions(v, this.spec.flexibleVersions);
  }

  defaultOf(f: Field): unknown {
    const d = f.default;
    const isArray = f.type.startsWith("[]");
    const base = f.type.replace(/^\[\]/, "");
    if (isArray) return d === "null" ? null : [];
    if (!PRIMITIVES.has(base)) return d === "null" ? null : this.defaultStruct(this.fieldsOf(base));
    switch (base) {
      case "bool":
        return d === true || d === "true";
      case "int64":
        return d === undefined ? 0n : BigInt(String(d));
      case "string":
        return d === undefined ? "" : d === "null" ? null : String(d);
      case "bytes":
        return d === "null" ? null : new Uint8Array(0);
      case "records":
        return null;
      case "uuid":
        return "AAAAAAAAAAAAAAAAAAAAAA";
      default:
        return d === undefined ? 0 : Number(d);
    }
  }

  defaultStruct(fields: Field[]): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const f of fields) out[camel(f.name)] = this.defaultOf(f);
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Random messages

/** Deterministic PRNG (mulberry32), so failures reproduce. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STRINGS = ["", "a", "orders", "héllo wörld", "日本語のトピック", "emoji 🎉🚀", "x".repeat(40), "ünï©ødé ✓"];

class Gen {
  readonly rnd: () => number;
  constructor(seed: number) {
    this.rnd = prng(seed);
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rnd() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.rnd() < p;
  }
  bytes(maxLen: number): Uint8Array {
    const b = new Uint8Array(this.int(0, maxLen));
    for (let i = 0; i < b.length; i++) b[i] = this.int(0, 255);
    return b;
  }
  prim(type: string): unknown {
    switch (type) {
      case "bool":
        return this.chance(0.5);
      case "int8":
        return this.int(-128, 127);
      case "int16":
        return this.int(-32768, 32767);
      case "uint16":
        return this.int(0, 65535);
      case "int32":
        return this.int(-2147483648, 2147483647);
      case "uint32":
        return this.int(0, 4294967295);
      case "int64": {
        const small = BigInt(this.int(0, 1_000_000));
        switch (this.int(0, 4)) {
          case 0:
            return -(2n ** 63n) + small;
          case 1:
            return 2n ** 63n - 1n - small;
          case 2:
            return -1n;
          default:
            return BigInt(this.int(-2147483648, 2147483647)) * 4294967296n + small;
        }
      }
      case "float64":
        return this.chance(0.2) ? 0.1 : (this.rnd() - 0.5) * 1e12;
      case "string":
        return STRINGS[this.int(0, STRINGS.length - 1)]!;
      case "bytes":
      case "records":
        return this.bytes(12);
      case "uuid": {
        const b = new Uint8Array(16);
        for (let i = 0; i < 16; i++) b[i] = this.int(0, 255);
        return uuidToString(b);
      }
    }
    throw new Error(`unknown primitive ${type}`);
  }
}

interface Built {
  input: Record<string, unknown>;
  expected: Record<string, unknown>;
}

/** A random message for `fields` at version `v`: what to encode, and what decoding must give. */
function build(schema: Schema, fields: Field[], v: number, g: Gen): Built {
  const input: Record<string, unknown> = {};
  const expected: Record<string, unknown> = {};
  for (const f of fields) {
    const key = camel(f.name);
    // A null default cannot be encoded where the field is not nullable (FetchSnapshot's records).
    const omittable = f.default !== "null" && f.type !== "records" || inVersions(v, f.nullableVersions);
    if (!inVersions(v, f.versions ?? f.taggedVersions) || (omittable && g.chance(0.1))) {
      // Absent from this version, or left out by the caller: the decoder yields the default.
      expected[key] = schema.defaultOf(f);
      continue;
    }
    const value = randomValue(schema, f, v, g);
    input[key] = value.input;
    expected[key] = value.expected;
  }
  return { input, expected };
}

function randomValue(schema: Schema, f: Field, v: number, g: Gen): { input: unknown; expected: unknown } {
  if (inVersions(v, f.nullableVersions) && g.chance(0.25)) return { input: null, expected: null };
  const base = f.type.replace(/^\[\]/, "");
  const isStruct = !PRIMITIVES.has(base);
  if (f.type.startsWith("[]")) {
    const input: unknown[] = [];
    const expected: unknown[] = [];
    const n = g.int(0, 2);
    for (let i = 0; i < n; i++) {
      if (isStruct) {
        const b = build(schema, schema.fieldsOf(base), v, g);
        input.push(b.input);
        expected.push(b.expected);
      } else {
        const p = g.prim(base);
        input.push(p);
        expected.push(p);
      }
    }
    return { input, expected };
  }
  if (isStruct) return build(schema, schema.fieldsOf(base), v, g);
  const p = g.prim(base);
  return { input: p, expected: p };
}

// ---------------------------------------------------------------------------------------------
// Reference encoder (independent of Writer)

class Bytes {
  readonly out: number[] = [];
  int(value: number | bigint, size: number): void {
    const b = new DataView(new ArrayBuffer(8));
    if (size === 8) b.setBigInt64(0, BigInt.asIntN(64, value as bigint));
    else if (size === 4) b.setUint32(0, Number(value) >>> 0);
    else if (size === 2) b.setUint16(0, Number(value) & 0xffff);
    else b.setUint8(0, Number(value) & 0xff);
    for (let i = 0; i < size; i++) this.out.push(b.getUint8(i));
  }
  uvarint(value: number): void {
    let n = value;
    while (n >= 0x80) {
      this.out.push((n % 128) | 0x80);
      n = Math.floor(n / 128);
    }
    this.out.push(n);
  }
  raw(b: Uint8Array | number[]): void {
    for (const x of b) this.out.push(x);
  }
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
function uuidBytes(text: string): number[] {
  let bits = "";
  for (const c of text) bits += B64.indexOf(c).toString(2).padStart(6, "0");
  const out: number[] = [];
  for (let i = 0; i < 16; i++) out.push(parseInt(bits.slice(i * 8, i * 8 + 8), 2));
  return out;
}

function refStruct(schema: Schema, out: Bytes, fields: Field[], v: number, value: Record<string, unknown>): void {
  const flex = schema.flexible(v);
  const tagged: Field[] = [];
  for (const f of fields) {
    if (f.taggedVersions !== undefined) {
      if (inVersions(v, f.taggedVersions)) tagged.push(f);
      continue;
    }
    if (!inVersions(v, f.versions)) continue;
    const fieldFlex = f.flexibleVersions !== undefined ? inVersions(v, f.flexibleVersions) : flex;
    refValue(schema, out, f, v, fieldFlex, false, value[camel(f.name)]);
  }
  if (!flex) return;
  const written = tagged
    .filter((f) => !isDeepStrictEqual(value[camel(f.name)], schema.defaultOf(f)))
    .sort((a, b) => Number(a.tag) - Number(b.tag));
  out.uvarint(written.length);
  for (const f of written) {
    const data = new Bytes();
    refValue(schema, data, f, v, true, true, value[camel(f.name)]);
    out.uvarint(Number(f.tag));
    out.uvarint(data.out.length);
    out.raw(data.out);
  }
}

function refValue(
  schema: Schema,
  out: Bytes,
  f: Field,
  v: number,
  flex: boolean,
  inTag: boolean,
  value: unknown,
): void {
  const base = f.type.replace(/^\[\]/, "");
  if (f.type.startsWith("[]")) {
    const arr = value as unknown[] | null;
    if (arr === null) return flex ? out.uvarint(0) : out.int(-1, 4);
    if (flex) out.uvarint(arr.length + 1);
    else out.int(arr.length, 4);
    for (const e of arr) {
      if (PRIMITIVES.has(base)) refPrim(out, base, flex, e);
      else refStruct(schema, out, schema.fieldsOf(base), v, e as Record<string, unknown>);
    }
    return;
  }
  if (!PRIMITIVES.has(base)) {
    if (inVersions(v, f.nullableVersions)) {
      if (value === null) return inTag ? out.uvarint(0) : out.int(-1, 1);
      if (inTag) out.uvarint(1);
      else out.int(1, 1);
    }
    refStruct(schema, out, schema.fieldsOf(base), v, value as Record<string, unknown>);
    return;
  }
  refPrim(out, base, flex, value);
}

function refPrim(out: Bytes, type: string, flex: boolean, value: unknown): void {
  switch (type) {
    case "bool":
      return out.int(value ? 1 : 0, 1);
    case "int8":
      return out.int(value as number, 1);
    case "int16":
    case "uint16":
      return out.int(value as number, 2);
    case "int32":
    case "uint32":
      return out.int(value as number, 4);
    case "int64":
      return out.int(value as bigint, 8);
    case "float64": {
      const b = new DataView(new ArrayBuffer(8));
      b.setFloat64(0, value as number);
      return out.raw(new Uint8Array(b.buffer));
    }
    case "uuid":
      return out.raw(uuidBytes(value as string));
    case "string":
    case "bytes":
    case "records": {
      if (value === null) return flex ? out.uvarint(0) : out.int(-1, type === "string" ? 2 : 4);
      const b = typeof value === "string" ? new TextEncoder().encode(value) : (value as Uint8Array);
      if (flex) out.uvarint(b.length + 1);
      else out.int(b.length, type === "string" ? 2 : 4);
      return out.raw(b);
    }
  }
  throw new Error(`unknown primitive ${type}`);
}

// ---------------------------------------------------------------------------------------------
// Round-trip driver

type Decode = (r: Reader, version: number) => unknown;
type Encode = (w: Writer, version: number, msg: any) => void;

function encodeWith(encode: Encode, v: number, msg: unknown): Uint8Array {
  const w = new Writer(16);
  encode(w, v, msg);
  return w.toBytes();
}

/** Round-trips random messages at every version; returns the number of cases checked. */
function roundTrip(spec: Spec, versions: number[], decode: Decode, encode: Encode, seed: number): number {
  const schema = new Schema(spec);
  let cases = 0;
  for (const v of versions) {
    for (let i = 0; i < 4; i++) {
      const g = new Gen(seed * 1000 + v * 10 + i);
      const { input, expected } = build(schema, spec.fields, v, g);
      const where = `${spec.name} v${v} (case ${i})`;
      const bytes = encodeWith(encode, v, input);
      const ref = new Bytes();
      refStruct(schema, ref, spec.fields, v, expected);
      assert.deepStrictEqual(Array.from(bytes), ref.out, `${where}: bytes differ from the reference encoding`);

      const r = new Reader(bytes);
      const decoded = decode(r, v);
      assert.equal(r.remaining, 0, `${where}: decoder left bytes unread`);
      assert.deepStrictEqual(decoded, expected, `${where}: decoded message differs`);
      assert.deepStrictEqual(encodeWith(encode, v, decoded), bytes, `${where}: re-encoding differs`);

      // Every strict prefix is malformed, and must fail with DecodeError only.
      for (let k = 0; k < 3 && bytes.length > 0; k++) {
        const cut = g.int(0, bytes.length - 1);
        assert.throws(() => decode(new Reader(bytes.subarray(0, cut)), v), DecodeError, `${where}: prefix ${cut}`);
      }
      // Corrupted bytes either decode or fail with DecodeError.
      for (let k = 0; k < 3 && bytes.length > 0; k++) {
        const bad = bytes.slice();
        bad[g.int(0, bad.length - 1)] = g.int(0, 255);
        try {
          decode(new Reader(bad), v);
        } catch (e) {
          assert.ok(e instanceof DecodeError, `${where}: corrupt input threw ${String(e)}`);
        }
      }
      cases++;
    }
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------
// Tests

/** Every API of the 4.3.1 set that has versions (keys 4–7 are removed APIs' placeholders). */
const apis: any[] = readSpec("apis.json").filter((e: any) => e.validVersions !== "none");
const oldApis = new Map<number, any>(readSpec("apis.json", OLD_SPEC_DIR).map((e: any) => [e.apiKey, e]));

for (const entry of apis) {
  test(`${entry.name} codecs round-trip random messages at every version`, () => {
    const api: ApiDescriptor<unknown, unknown> | undefined = APIS.get(entry.apiKey);
    assert.ok(api, `APIS lacks key ${entry.apiKey}`);
    const versions = versionList(entry.validVersions);
    const req: Spec = readSpec(entry.requestFile);
    const res: Spec = readSpec(entry.responseFile);
    const old = oldApis.get(entry.apiKey);
    const removed = removedVersions(entry, old);
    let n = 0;
    if (removed.length > 0) {
      // The versions Kafka 4.0 removed are read as the old set's files define them.
      const oldReq: Spec = readSpec(old.requestFile, OLD_SPEC_DIR);
      const oldRes: Spec = readSpec(old.responseFile, OLD_SPEC_DIR);
      n += roundTrip(withFieldsOf(oldReq, req), removed, api.decodeRequest, api.encodeRequest, entry.apiKey * 2) +
        roundTrip(withFieldsOf(oldRes, res), removed, api.decodeResponse, api.encodeResponse, entry.apiKey * 2 + 1);
    }
    const reqNew = old ? withFieldsOf(req, readSpec(old.requestFile, OLD_SPEC_DIR)) : req;
    const resNew = old ? withFieldsOf(res, readSpec(old.responseFile, OLD_SPEC_DIR)) : res;
    n +=
      roundTrip(removed.length > 0 ? reqNew : req, versions, api.decodeRequest, api.encodeRequest, entry.apiKey * 2) +
      roundTrip(
        removed.length > 0 ? resNew : res,
        versions,
        api.decodeResponse,
        api.encodeResponse,
        entry.apiKey * 2 + 1,
      );
    assert.equal(n, (versions.length + removed.length) * 8);
  });
}

test("RequestHeader and ResponseHeader codecs round-trip at every header version", () => {
  roundTrip(readSpec("messages/RequestHeader.json"), [1, 2], decodeRequestHeader, encodeRequestHeader, 9001);
  roundTrip(readSpec("messages/ResponseHeader.json"), [0, 1], decodeResponseHeader, encodeResponseHeader, 9002);
});

const DATA_MODULES: [string, Record<string, unknown>][] = [
  ["ConsumerProtocolAssignment", consumerProtocolAssignment],
  ["ConsumerProtocolSubscription", consumerProtocolSubscription],
  ["ControlRecordTypeSchema", controlRecordTypeSchema],
  ["DefaultPrincipalData", defaultPrincipalData],
  ["EndTxnMarker", endTxnMarker],
  ["KRaftVersionRecord", kraftVersionRecord],
  ["LeaderChangeMessage", leaderChangeMessage],
  ["SnapshotFooterRecord", snapshotFooterRecord],
  ["SnapshotHeaderRecord", snapshotHeaderRecord],
  ["VotersRecord", votersRecord],
];

for (const [name, mod] of DATA_MODULES) {
  test(`${name} data codec round-trips random values at every version`, () => {
    const spec: Spec = readSpec(`messages/${name}.json`);
    const decode = mod[`decode${name}`] as Decode;
    const encode = mod[`encode${name}`] as Encode;
    assert.equal(typeof decode, "function");
    assert.equal(typeof encode, "function");
    roundTrip(spec, versionList(spec.validVersions), decode, encode, 7000 + name.length);
  });
}

test("APIS matches the version windows and header versions of both apis.json files", () => {
  assert.equal(APIS.size, apis.length);
  for (const entry of apis) {
    const api = APIS.get(entry.apiKey)!;
    const where = entry.name;
    const old = oldApis.get(entry.apiKey);
    const removed = removedVersions(entry, old);
    assert.equal(api.apiKey, entry.apiKey, where);
    assert.equal(api.name, entry.name, where);
    assert.equal((ApiKey as Record<string, number>)[entry.name], entry.apiKey, where);
    assert.equal(api.minVersion, removed[0] ?? entry.minVersion, where);
    assert.equal(api.maxVersion, entry.maxVersion, where);
    assert.deepStrictEqual(api.removedVersions, removed.length ? [removed[0], removed[removed.length - 1]] : null);
    assert.equal(
      api.flexibleMinVersion,
      entry.flexibleVersions === "none" ? null : Number(entry.flexibleVersions.slice(0, -1)),
    );
    assert.deepStrictEqual([...api.listeners], entry.listeners, where);
    assert.equal(api.latestVersionUnstable, entry.latestVersionUnstable === true, where);
    for (let v = api.minVersion; v <= entry.maxVersion; v++) {
      const source = removed.includes(v) ? old : entry;
      const pick = (table: Record<string, string>): number =>
        Number(Object.entries(table).find(([, range]) => versionList(range).includes(v))![0]);
      assert.equal(api.requestHeaderVersion(v), pick(source.requestHeaderVersionByApiVersion), `${where} v${v}`);
      assert.equal(api.responseHeaderVersion(v), pick(source.responseHeaderVersionByApiVersion), `${where} v${v}`);
    }
  }
  // Kafka 4.0 removed these versions (KIP-896); they come from the old set.
  assert.deepStrictEqual(APIS.get(ApiKey.Produce)!.removedVersions, [0, 2]);
  assert.deepStrictEqual(APIS.get(ApiKey.OffsetCommit)!.removedVersions, [0, 1]);
  assert.equal(APIS.get(ApiKey.Fetch)!.minVersion, 0);
  assert.equal(APIS.get(ApiKey.Fetch)!.maxVersion, 18);
  // ApiVersions answers always use response header 0.
  assert.equal(APIS.get(ApiKey.ApiVersions)!.responseHeaderVersion(3), 0);
  // Removed APIs (ZooKeeper era) are not generated.
  assert.equal(APIS.has(4), false);
  assert.equal(APIS.has(7), false);
});

function hex(text: string): Uint8Array {
  return new Uint8Array(text.trim().split(/\s+/).map((h) => parseInt(h, 16)));
}

test("decodeRequestHeader() and decodeApiVersionsRequest() read a librdkafka ApiVersions v3 request", () => {
  const frame = hex(
    "00 12 00 03 00 00 00 01 00 07 72 64 6b 61 66 6b 61 00 " +
      "0b 6c 69 62 72 64 6b 61 66 6b 61 06 32 2e 30 2e 32 00",
  );
  const r = new Reader(frame);
  const header = decodeRequestHeader(r, 2);
  assert.deepStrictEqual(header, { requestApiKey: 18, requestApiVersion: 3, correlationId: 1, clientId: "rdkafka" });
  const body = decodeApiVersionsRequest(r, 3);
  assert.deepStrictEqual(body, { clientSoftwareName: "librdkafka", clientSoftwareVersion: "2.0.2" });
  assert.equal(r.remaining, 0);

  const w = new Writer();
  encodeRequestHeader(w, 2, header);
  APIS.get(ApiKey.ApiVersions)!.encodeRequest(w, 3, body);
  assert.deepStrictEqual(w.toBytes(), frame);

  for (let cut = 0; cut < frame.length; cut++) {
    assert.throws(() => {
      const rr = new Reader(frame.subarray(0, cut));
      decodeRequestHeader(rr, 2);
      decodeApiVersionsRequest(rr, 3);
    }, DecodeError);
  }
});

test("generated decoders skip unknown tagged fields and read known ones", () => {
  // ApiVersions v3 request body with two unknown tags (5: 3 bytes, 7: empty).
  const body = hex("0b 6c 69 62 72 64 6b 61 66 6b 61 06 32 2e 30 2e 32 02 05 03 aa bb cc 07 00");
  const r = new Reader(body);
  assert.deepStrictEqual(decodeApiVersionsRequest(r, 3), {
    clientSoftwareName: "librdkafka",
    clientSoftwareVersion: "2.0.2",
  });
  assert.equal(r.remaining, 0);

  // ApiVersions v3 response: one ApiKeys entry, then tag 9 (unknown) and tag 1 (FinalizedFeaturesEpoch).
  const res = hex(
    "00 00 02 00 12 00 00 00 04 00 00 00 00 00 " +
      "02 09 02 ff ff 01 08 00 00 00 00 00 00 00 05",
  );
  const rr = new Reader(res);
  const decoded = decodeApiVersionsResponse(rr, 3);
  assert.equal(rr.remaining, 0);
  assert.equal(decoded.finalizedFeaturesEpoch, 5n);
  assert.deepStrictEqual(decoded.apiKeys, [{ apiKey: 18, minVersion: 0, maxVersion: 4 }]);
  assert.deepStrictEqual(decoded.supportedFeatures, []);
  assert.equal(decoded.zkMigrationReady, false);

  // A request header v2 with an unknown tag.
  const hr = new Reader(hex("00 03 00 0c 00 00 00 2a ff ff 01 00 01 7f"));
  assert.deepStrictEqual(decodeRequestHeader(hr, 2), {
    requestApiKey: 3,
    requestApiVersion: 12,
    correlationId: 42,
    clientId: null,
  });
  assert.equal(hr.remaining, 0);
});

test("generated decoders reject malformed input with DecodeError", () => {
  // Compact array count (2^32 - 2) larger than the bytes left.
  assert.throws(() => decodeApiVersionsResponse(new Reader(hex("00 00 ff ff ff ff 0f 00")), 3), DecodeError);
  // Classic array count larger than the bytes left.
  assert.throws(() => decodeMetadataResponse(new Reader(hex("7f ff ff ff 00 00 00 00")), 0), DecodeError);
  // Null (-1) array where the version does not allow null.
  assert.throws(() => decodeMetadataResponse(new Reader(hex("ff ff ff ff 00 00 00 00")), 0), DecodeError);
  // A known tagged field whose size does not match its value (int64 declared as 4 bytes).
  assert.throws(
    () => decodeApiVersionsResponse(new Reader(hex("00 00 01 00 00 00 00 01 01 04 00 00 00 00 00 00 00 05")), 3),
    DecodeError,
  );
  // Truncated in the middle of a string.
  assert.throws(() => decodeApiVersionsRequest(new Reader(hex("0b 6c 69")), 3), DecodeError);
  // Empty buffer.
  assert.throws(() => decodeMetadataResponse(new Reader(new Uint8Array(0)), 12), DecodeError);
});

test("encodeMetadataRequest() writes hand-computed bytes and applies nullability per version", () => {
  const enc = (v: number, msg: Parameters<typeof encodeMetadataRequest>[2]): Uint8Array => {
    const w = new Writer();
    encodeMetadataRequest(w, v, msg);
    return w.toBytes();
  };
  assert.deepStrictEqual(enc(0, { topics: [{ name: "a" }] }), hex("00 00 00 01 00 01 61"));
  assert.deepStrictEqual(enc(1, { topics: null }), hex("ff ff ff ff"));
  // v4 adds AllowAutoTopicCreation (default true).
  assert.deepStrictEqual(enc(4, {}), hex("00 00 00 00 01"));
  // v9 is flexible: compact null array, the bool, two v8 bools, empty tag section.
  assert.deepStrictEqual(enc(9, { topics: null }), hex("00 01 00 00 00"));
  // v10 adds topic ids: zero UUID by default.
  assert.deepStrictEqual(
    enc(10, { topics: [{ name: null }], allowAutoTopicCreation: false }),
    // count 1, zero topic id (16 bytes), null name, topic tags, three bools, tags.
    hex("02" + " 00".repeat(16) + " 00 00" + " 00 00 00 00"),
  );
  assert.throws(() => enc(0, { topics: null }), TypeError);
  assert.throws(() => enc(9, { topics: [{ name: null }] }), TypeError);
});

test("decodeProduceRequest() returns records as a view into the input, not a copy", () => {
  const records = new Uint8Array(100).fill(7);
  const w = new Writer();
  APIS.get(ApiKey.Produce)!.encodeRequest(w, 9, {
    acks: -1,
    timeoutMs: 1000,
    topicData: [{ name: "t", partitionData: [{ index: 0, records }] }],
  });
  const bytes = w.toBytes();
  const decoded = decodeProduceRequest(new Reader(bytes), 9);
  const got = decoded.topicData[0]!.partitionData[0]!.records!;
  assert.deepStrictEqual(got, records);
  assert.equal(got.buffer, bytes.buffer);
});

test("errorName() and isRetriable() follow Kafka's error table", () => {
  assert.equal(ErrorCode.NONE, 0);
  assert.equal(ErrorCode.UNKNOWN_SERVER_ERROR, -1);
  assert.equal(errorName(3), "UNKNOWN_TOPIC_OR_PARTITION");
  assert.equal(errorName(12345), "UNKNOWN_ERROR_CODE_12345");
  assert.equal(isRetriable(ErrorCode.NOT_LEADER_OR_FOLLOWER), true);
  assert.equal(isRetriable(ErrorCode.TOPIC_AUTHORIZATION_FAILED), false);
  assert.equal(isRetriable(12345), false);
  const errors: any[] = readSpec("errors.json");
  for (const e of errors) {
    assert.equal((ErrorCode as Record<string, number>)[e.name], e.code);
    assert.equal(errorName(e.code), e.name);
    assert.equal(isRetriable(e.code), e.retriable);
  }
});
