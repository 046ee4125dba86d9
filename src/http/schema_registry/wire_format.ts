/**
 * Confluent's framing of serialized record keys and values (§11): magic byte `0x00`, the schema id
 * as a big-endian int32, then the payload — for Protobuf, the message-index path comes first.
 *
 * @module
 */

import { decodeMessageIndexes, encodeMessageIndexes } from "./message_indexes.ts";

export const MAGIC_BYTE = 0;
/** Magic byte + int32 schema id. */
export const WIRE_HEADER_BYTES = 5;

/** Frames a payload: magic byte, schema id, then (for Protobuf) the message indexes. */
export function encodeWireFormat(
  schemaId: number,
  payload: Uint8Array,
  options: { messageIndexes?: readonly number[] } = {},
): Uint8Array {
  const indexes = options.messageIndexes === undefined ? undefined : encodeMessageIndexes(options.messageIndexes);
  const out = new Uint8Array(WIRE_HEADER_BYTES + (indexes?.length ?? 0) + payload.length);
  out[0] = MAGIC_BYTE;
  new DataView(out.buffer).setInt32(1, schemaId, false);
  let offset = WIRE_HEADER_BYTES;
  if (indexes !== undefined) {
    out.set(indexes, offset);
    offset += indexes.length;
  }
  out.set(payload, offset);
  return out;
}

/** A decoded frame; `payload` is a view into the input. */
export interface WireFrame {
  schemaId: number;
  /** Set when decoded with `protobuf: true`. */
  messageIndexes?: number[];
  payload: Uint8Array;
}

export type WireFrameResult = { ok: true; value: WireFrame } | { ok: false; message: string };

/**
 * Reads the framing of a serialized key or value. With `protobuf: true` the message indexes after
 * the header are decoded too (`signed: false` reads confluent-kafka-python 1.7's unsigned form).
 */
export function decodeWireFormat(
  bytes: Uint8Array,
  options: { protobuf?: boolean; signed?: boolean } = {},
): WireFrameResult {
  if (bytes.length < WIRE_HEADER_BYTES) {
    return { ok: false, message: `Cannot decode framing: ${bytes.length} bytes, need at least ${WIRE_HEADER_BYTES}` };
  }
  if (bytes[0] !== MAGIC_BYTE) return { ok: false, message: `Cannot decode framing: unknown magic byte ${bytes[0]}` };
  const schemaId = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getInt32(1, false);
  if (!options.protobuf) return { ok: true, value: { schemaId, payload: bytes.subarray(WIRE_HEADER_BYTES) } };
  const decoded = decodeMessageIndexes(bytes, { offset: WIRE_HEADER_BYTES, signed: options.signed ?? true });
  if (!decoded.ok) return decoded;
  return {
    ok: true,
    value: {
      schemaId,
      messageIndexes: decoded.value.indexes,
      payload: bytes.subarray(WIRE_HEADER_BYTES + decoded.value.bytesRead),
    },
  };
}
