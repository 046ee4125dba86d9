/**
 * Turns request frames into response chunks: reads the header, checks the handler's version
 * window, decodes, calls the handler and encodes the response with the right header version.
 *
 * Kafka's rules for bad input: an unknown API key or an unsupported version closes the
 * connection, except ApiVersions, which answers UNSUPPORTED_VERSION at v0 with the supported
 * ranges so the client can retry. A body that cannot be decoded closes the connection.
 *
 * @module
 */

import { API_VERSIONS_API } from "../protocol/generated/18_api_versions.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import { decodeRequestHeader, encodeResponseHeader } from "../protocol/generated/headers.ts";
import { DecodeError, Reader } from "../protocol/reader.ts";
import { Writer } from "../protocol/writer.ts";
import { CloseConnection, type ConnState } from "./conn_state.ts";
import type { Broker } from "./broker.ts";

/** A writer with room for the size prefix, so a small answer goes out in one socket write. */
function frameWriter(): Writer {
  return new Writer(512).int32(0);
}

/** Fills in the size prefix (written last, once the length is known) and returns the chunks. */
function finishFrame(w: Writer): Uint8Array[] {
  const size = w.length - 4;
  const chunks = w.chunks();
  const first = chunks[0]!;
  new DataView(first.buffer, first.byteOffset, 4).setInt32(0, size);
  return chunks;
}

/** The broker's {@link FrameHandler}. */
export class Dispatcher {
  readonly #broker: Broker;

  constructor(broker: Broker) {
    this.#broker = broker;
  }

  async handle(frame: Uint8Array, conn: ConnState, release: () => void = () => {}): Promise<Uint8Array[] | null> {
    const broker = this.#broker;
    if (frame.length < 8) throw new CloseConnection(`request of ${frame.length} bytes is shorter than a header`);
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    const apiKey = view.getInt16(0);
    const version = view.getInt16(2);
    const correlationId = view.getInt32(4);
    const handler = broker.handlers.get(apiKey);
    if (!handler) throw new CloseConnection(`unknown API key ${apiKey} (version ${version})`);
    const api = handler.api;
    const refused = handler.refusedVersions;
    const inWindow = version >= handler.minVersion && version <= handler.maxVersion &&
      !(refused && version >= refused[0] && version <= refused[1]);
    if (!inWindow) {
      if (apiKey === API_VERSIONS_API.apiKey) {
        broker.logger.warn("ApiVersions with unsupported version, answering UNSUPPORTED_VERSION at v0", {
          remote: conn.remote,
          version,
        });
        const w = frameWriter();
        encodeResponseHeader(w, 0, { correlationId });
        API_VERSIONS_API.encodeResponse(w, 0, {
          errorCode: ErrorCode.UNSUPPORTED_VERSION,
          apiKeys: broker.handlers.versions(),
        });
        return finishFrame(w);
      }
      throw new CloseConnection(
        `unsupported version ${version} of ${api.name} (key ${apiKey}); supported ${handler.minVersion}-${handler.maxVersion}`,
      );
    }
    const r = new Reader(frame);
    let request: unknown;
    let header;
    try {
      header = decodeRequestHeader(r, api.requestHeaderVersion(version));
      request = api.decodeRequest(r, version);
    } catch (err) {
      if (err instanceof DecodeError) {
        throw new CloseConnection(`malformed ${api.name} v${version} request: ${err.message}`);
      }
      throw err;
    }
    let response;
    try {
      response = await handler.handle(request, { broker, header, version, conn, release });
    } catch (err) {
      if (err instanceof CloseConnection) throw err;
      broker.logger.error("Request failed with an internal error", {
        api: api.name,
        version,
        remote: conn.remote,
        clientId: header.clientId,
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      });
      throw new CloseConnection(`internal error in ${api.name} v${version}`);
    }
    if (response === null) return null;
    const w = frameWriter();
    encodeResponseHeader(w, api.responseHeaderVersion(version), { correlationId });
    api.encodeResponse(w, version, response);
    return finishFrame(w);
  }
}
