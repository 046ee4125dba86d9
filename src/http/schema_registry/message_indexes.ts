/**
 * Protobuf message indexes (§11): the path that names the message type of a record inside its
 * registered `.proto` file — index of the top-level message, then of the nested one, and so on,
 * counting messages only, in declaration order. On the wire it is a count then the indexes, each a
 * zig-zag varint (Kafka's `ByteUtils.writeVarint`); `[0]` is written as the single byte `0x00`.
 *
 * @module
 */

import type { ProtobufParsed, ProtoMessage, ProtoType } from "./protobuf.ts";

/** The path of the first top-level message, the common case. */
export const DEFAULT_MESSAGE_INDEXES: readonly number[] = [0];

function zigzagSize(n: number): number {
  let v = ((n << 1) ^ (n >> 31)) >>> 0;
  let size = 1;
  while (v >= 0x80) {
    v >>>= 7;
    size++;
  }
  return size;
}

function writeZigzag(out: Uint8Array, offset: number, n: number): number {
  let v = ((n << 1) ^ (n >> 31)) >>> 0;
  while (v >= 0x80) {
    out[offset++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[offset++] = v;
  return offset;
}

/** Encodes a message-index path (`[0]` → `00`, `[1]` → `02 02`, `[0, 2]` → `04 00 04`). */
export function encodeMessageIndexes(indexes: readonly number[]): Uint8Array {
  if (indexes.length === 1 && indexes[0] === 0) return new Uint8Array([0]);
  let size = zigzagSize(indexes.length);
  for (const i of indexes) size += zigzagSize(i);
  const out = new Uint8Array(size);
  let offset = writeZigzag(out, 0, indexes.length);
  for (const i of indexes) offset = writeZigzag(out, offset, i);
  return out;
}

/** Outcome of {@link decodeMessageIndexes}: the path and how many bytes it took. */
export type MessageIndexesResult =
  | { ok: true; value: { indexes: number[]; bytesRead: number } }
  | { ok: false; message: string };

/**
 * Decodes a message-index path at `offset`. A count of 0 means `[0]`. With `signed: false` the
 * varints are read unsigned, as confluent-kafka-python 1.7 wrote paths other than `[0]`.
 */
export function decodeMessageIndexes(
  bytes: Uint8Array,
  options: { offset?: number; signed?: boolean } = {},
): MessageIndexesResult {
  const signed = options.signed ?? true;
  let pos = options.offset ?? 0;
  const start = pos;
  const read = (): number | undefined => {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = bytes[pos++];
      if (b === undefined) return undefined;
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) {
        if (result > 0xffffffff) return undefined;
        return signed ? (result % 2 === 0 ? result / 2 : -(result + 1) / 2) : result;
      }
    }
    return undefined;
  };
  const count = read();
  if (count === undefined) return { ok: false, message: `Cannot read message indexes at byte ${start}: bad varint` };
  if (count < 0 || count > bytes.length - pos) {
    return { ok: false, message: `Cannot read message indexes at byte ${start}: invalid count ${count}` };
  }
  if (count === 0) return { ok: true, value: { indexes: [0], bytesRead: pos - start } };
  const indexes: number[] = [];
  for (let i = 0; i < count; i++) {
    const index = read();
    if (index === undefined || index < 0) {
      return { ok: false, message: `Cannot read message indexes at byte ${start}: bad index ${i}` };
    }
    indexes.push(index);
  }
  return { ok: true, value: { indexes, bytesRead: pos - start } };
}

function messagesOf(types: ProtoType[]): ProtoMessage[] {
  return types.filter((t): t is ProtoMessage => t.kind === "message");
}

/** The full name of the message a path names (Confluent `toMessageName`), or undefined. */
export function messageNameAt(schema: ProtobufParsed, indexes: readonly number[]): string | undefined {
  const path = indexes.length === 0 ? DEFAULT_MESSAGE_INDEXES : indexes;
  let types = schema.file.types;
  const names: string[] = [];
  for (const i of path) {
    const m = messagesOf(types)[i];
    if (m === undefined) return undefined;
    names.push(m.name);
    types = m.nestedTypes;
  }
  const pkg = schema.file.packageName;
  return pkg ? `${pkg}.${names.join(".")}` : names.join(".");
}

/** The path of a message given by its name, with or without the package (Confluent `toMessageIndexes`). */
export function messageIndexesOf(schema: ProtobufParsed, name: string): number[] | undefined {
  const pkg = schema.file.packageName;
  const local = pkg && name.startsWith(`${pkg}.`) ? name.slice(pkg.length + 1) : name;
  let types = schema.file.types;
  const indexes: number[] = [];
  for (const part of local.split(".")) {
    const messages = messagesOf(types);
    const i = messages.findIndex((m) => m.name === part);
    if (i < 0) return undefined;
    indexes.push(i);
    types = messages[i]!.nestedTypes;
  }
  return indexes;
}
