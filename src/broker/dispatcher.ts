/**
 * Turns request frames into response chunks: reads the header, checks the handler's version
 * window, decodes, calls the handler and encodes the response with the right header version.
 *
 * Kafka's rules for bad input: an unknown API key or an unsupported version closes the
 * connection, except ApiVersions, which answers UNSUPPORTED_VERSION at v0 with the supported
 * ranges so the client can retry. A body that cannot be decoded closes the connection. A handler
 * that throws is answered with an error, never by dropping the connection, wherever the response
 * can carry one (see part_errors.ts).
 *
 * @module
 */

import { SASL_HANDSHAKE_API } from "../protocol/generated/17_sasl_handshake.ts";
import { API_VERSIONS_API } from "../protocol/generated/18_api_versions.ts";
import { SASL_AUTHENTICATE_API } from "../protocol/generated/36_sasl_authenticate.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import { decodeRequestHeader, encodeResponseHeader } from "../protocol/generated/headers.ts";
import { DecodeError, Reader } from "../protocol/reader.ts";
import { Writer } from "../protocol/writer.ts";
import { CloseConnection, type ConnState } from "./conn_state.ts";
import { partFailure } from "./part_errors.ts";
import { inWindow } from "./registry.ts";
import type { Authorizer } from "./acl/authorizer.ts";
import { sessionOf } from "./acl/requests.ts";
import { operationName, resourceTypeName } from "./acl/model.ts";
import type { Logger } from "../ports.ts";
import { authenticateStep, mustAuthenticate, saslSession } from "./sasl/authenticator.ts";
import { RequestCounts, type RequestTotals } from "./request_counts.ts";
import { forEachErrorCode } from "./metrics/broker_metrics.ts";
import type { BrokerContext } from "./context.ts";
import type { HandlerRegistry } from "./registry.ts";

/** What the dispatcher needs: the handlers' context, the registry and the served-request totals. */
export interface DispatchTarget extends BrokerContext {
  readonly handlers: HandlerRegistry;
  readonly requestTotals: RequestTotals;
}

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

/** Every request is allowed without an authorizer. */
const ALLOW_ALL = () => true;

/**
 * A connection's ACL check against one snapshot of the ACLs; each refusal is logged with the
 * principal, the client's address, the API and the resource (as Kafka's authorizer logger).
 */
function allowedFor(authorizer: Authorizer, conn: ConnState, logger: Logger, api: string) {
  const session = sessionOf(conn);
  return (operation: number, resourceType: number, resourceName: string) => {
    if (authorizer.authorize(session, { operation, resourceType, resourceName })) return true;
    logger.warn("Denied an operation", {
      principal: conn.principal,
      remote: conn.remote,
      api,
      operation: operationName(operation),
      resource: `${resourceTypeName(resourceType)}:${resourceName}`,
    });
    return false;
  };
}

/** What a SASL listener serves before authentication. */
const SASL_APIS = new Set([API_VERSIONS_API.apiKey, SASL_HANDSHAKE_API.apiKey, SASL_AUTHENTICATE_API.apiKey]);

/** The broker's {@link FrameHandler}. */
export class Dispatcher {
  readonly #broker: DispatchTarget;

  constructor(broker: DispatchTarget) {
    this.#broker = broker;
  }

  /**
   * SaslHandshake v0's flow: the frame is a raw SASL token (no Kafka header) and so is the answer.
   * A failure closes the connection without an answer, as Kafka does for this flow.
   */
  async #rawToken(frame: Uint8Array, conn: ConnState): Promise<Uint8Array[]> {
    const step = await authenticateStep(this.#broker, conn, frame);
    if (step.kind === "failed") throw new CloseConnection(`SASL authentication failed: ${step.message}`);
    if (step.kind === "done") saslSession(conn).rawTokens = false;
    const w = frameWriter();
    w.raw(step.bytes);
    return finishFrame(w);
  }

  /** A connection ended: its request counts join the broker's totals. */
  closed(conn: ConnState): void {
    const s = conn.served;
    if (s) this.#broker.requestTotals.add(s.software ? `${s.clientId} ${s.software}` : s.clientId, s.counts);
  }

  async handle(frame: Uint8Array, conn: ConnState, release: () => void = () => {}): Promise<Uint8Array[] | null> {
    const broker = this.#broker;
    if (conn.sasl?.rawTokens) return await this.#rawToken(frame, conn);
    if (frame.length < 8) throw new CloseConnection(`request of ${frame.length} bytes is shorter than a header`);
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    const apiKey = view.getInt16(0);
    const version = view.getInt16(2);
    const correlationId = view.getInt32(4);
    const served = broker.handlers.served(apiKey);
    if (!served) throw new CloseConnection(`unknown API key ${apiKey} (version ${version})`);
    const { handler, window } = served;
    const api = handler.api;
    if (!SASL_APIS.has(apiKey)) {
      // A SASL listener serves nothing else before authentication (or after the session ended).
      const gate = mustAuthenticate(conn, broker.clock.now());
      if (gate !== null) {
        broker.logger.warn("Refused a request before SASL authentication; closing the connection", {
          remote: conn.remote,
          listener: conn.listener?.name,
          api: api.name,
          reason: gate,
        });
        throw new CloseConnection(
          gate === "expired"
            ? `${api.name} after the SASL session expired (connections.max.reauth.ms)`
            : `unexpected ${api.name} request before SASL authentication`,
        );
      }
    }
    if (!inWindow(window, version)) {
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
        `unsupported version ${version} of ${api.name} (key ${apiKey}); supported ${window.minVersion}-${window.maxVersion}`,
      );
    }
    const r = new Reader(frame);
    let request: unknown;
    let header;
    try {
      header = decodeRequestHeader(r, api.requestHeaderVersion(version));
      (conn.served ??= { clientId: header.clientId ?? "", counts: new RequestCounts() }).counts.note(apiKey, version);
      request = api.decodeRequest(r, version);
    } catch (err) {
      if (err instanceof DecodeError) {
        throw new CloseConnection(`malformed ${api.name} v${version} request: ${err.message}`);
      }
      throw err;
    }
    let response;
    const started = performance.now();
    const metrics = broker.metrics;
    try {
      const authorizer = broker.acls.settings.enabled ? await broker.acls.authorizer() : null;
      const allowed = authorizer ? allowedFor(authorizer, conn, broker.logger, api.name) : ALLOW_ALL;
      const allowedOnAny = authorizer
        ? (operation: number, resourceType: number) =>
          authorizer.authorizeByResourceType(sessionOf(conn), operation, resourceType)
        : ALLOW_ALL;
      response = await handler.handle(request, { broker, header, version, conn, release, allowed, allowedOnAny });
    } catch (err) {
      // Handlers catch failures per partition, group or resource; what still escapes is answered
      // as one error where the response has a top-level error code, and closes the connection
      // otherwise (there is no honest way to answer the parts).
      const failure = partFailure(err, {
        logger: broker.logger,
        context: { api: api.name, version, remote: conn.remote, clientId: header.clientId },
      });
      const top = api.responseErrorCodeVersions;
      if (!top || version < top[0] || version > top[1]) {
        metrics.error(apiKey, failure.code);
        metrics.request(apiKey, version, (performance.now() - started) / 1000);
        throw new CloseConnection(`internal error in ${api.name} v${version}`);
      }
      response = { errorCode: failure.code, errorMessage: failure.message };
    }
    // Per request and per partition, never per record: the error walk stops at partitions.
    if (response !== null) forEachErrorCode(response, (code) => metrics.error(apiKey, code));
    metrics.request(apiKey, version, (performance.now() - started) / 1000);
    if (response === null) return null;
    const w = frameWriter();
    encodeResponseHeader(w, api.responseHeaderVersion(version), { correlationId });
    api.encodeResponse(w, version, response);
    return finishFrame(w);
  }
}
