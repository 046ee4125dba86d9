/**
 * SaslHandshake (key 17), v0–v1: the client names a SASL mechanism; the answer lists the ones its
 * listener enables (`sasl.enabled.mechanisms`, per listener with `listener.name.NAME.`). v1 is
 * followed by SaslAuthenticate requests; v0 by raw SASL tokens, each a size-prefixed frame with no
 * Kafka header (the dispatcher handles those). A mechanism the listener does not enable answers
 * UNSUPPORTED_SASL_MECHANISM and closes the connection, as Kafka; on a listener without SASL
 * (PLAINTEXT, SSL), or while an exchange is in progress, ILLEGAL_SASL_STATE. On an authenticated
 * connection a handshake with the same mechanism starts a re-authentication (KIP-368).
 *
 * @module
 */

import { SASL_HANDSHAKE_API } from "../../protocol/generated/17_sasl_handshake.ts";
import { ErrorCode } from "../../protocol/generated/errors.ts";
import { isSasl } from "../listeners.ts";
import { defineHandler } from "../registry.ts";
import { saslServerFor, saslSession } from "../sasl/authenticator.ts";

export default defineHandler(SASL_HANDSHAKE_API, {
  minVersion: 0,
  maxVersion: 1,
  handle(request, ctx) {
    const { conn, broker, version } = ctx;
    const listener = conn.listener;
    if (!listener || !isSasl(listener.securityProtocol)) {
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] };
    }
    const mechanisms = listener.saslMechanisms;
    const session = saslSession(conn);
    const mechanism = request.mechanism;
    const server = mechanisms.includes(mechanism) ? saslServerFor(broker, conn, mechanism) : null;
    if (server === null) {
      broker.logger.warn("SASL handshake with a mechanism the listener does not enable", {
        remote: conn.remote,
        listener: listener.name,
        mechanism,
      });
      conn.closeAfterAnswer = `SASL mechanism ${mechanism} is not enabled`;
      return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms };
    }
    if (session.server !== null || (session.authenticated && session.mechanism !== mechanism)) {
      conn.closeAfterAnswer = "SASL handshake in the wrong state";
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms };
    }
    session.mechanism = mechanism;
    session.server = server;
    session.rawTokens = version === 0;
    return { errorCode: ErrorCode.NONE, mechanisms };
  },
});
