/**
 * SaslAuthenticate (key 36), v0–v2: one SASL message of the exchange SaslHandshake v1 started;
 * the answer carries the server's message. When the exchange succeeds the connection is
 * authenticated as the mechanism's principal (`User:NAME`), and from v1 the answer carries the
 * session lifetime (`connections.max.reauth.ms`, KIP-368: the client re-authenticates before it
 * ends, or the connection is closed at its next request). A failed exchange answers
 * SASL_AUTHENTICATION_FAILED with Kafka's message, after `connection.failed.authentication.delay.ms`,
 * then closes the connection. Without a handshake first, or on a listener without SASL:
 * ILLEGAL_SASL_STATE.
 *
 * @module
 */

import { SASL_AUTHENTICATE_API } from "../../protocol/generated/36_sasl_authenticate.ts";
import { ErrorCode } from "../../protocol/generated/errors.ts";
import { isSasl } from "../listeners.ts";
import { defineHandler } from "../registry.ts";
import { authenticateStep, saslSession } from "../sasl/authenticator.ts";

const EMPTY = new Uint8Array(0);

export default defineHandler(SASL_AUTHENTICATE_API, {
  minVersion: 0,
  maxVersion: 2,
  async handle(request, ctx) {
    const { conn, broker } = ctx;
    const session = saslSession(conn);
    if (!conn.listener || !isSasl(conn.listener.securityProtocol) || session.server === null || session.rawTokens) {
      conn.closeAfterAnswer = "SaslAuthenticate without a SaslHandshake v1 first";
      return {
        errorCode: ErrorCode.ILLEGAL_SASL_STATE,
        errorMessage: "Unexpected SaslAuthenticate: send SaslHandshake v1 first",
        authBytes: EMPTY,
        sessionLifetimeMs: 0n,
      };
    }
    const step = await authenticateStep(broker, conn, request.authBytes);
    if (step.kind === "failed") {
      conn.closeAfterAnswer = "SASL authentication failed";
      return {
        errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED,
        errorMessage: step.message,
        authBytes: EMPTY,
        sessionLifetimeMs: 0n,
      };
    }
    const lifetime = step.kind === "done" && session.expiresAtMs > 0 ? session.expiresAtMs - broker.clock.now() : 0;
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      authBytes: step.bytes,
      sessionLifetimeMs: BigInt(lifetime),
    };
  },
});
