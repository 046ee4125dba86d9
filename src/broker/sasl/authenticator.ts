/**
 * SASL on a connection, shared by SaslHandshake, SaslAuthenticate and the raw-token flow of
 * SaslHandshake v0: picks the mechanism's server, runs the client's messages through it, and
 * records the outcome on the connection (principal, session expiry). Failures are logged with the
 * client's address, listener and mechanism, and answered only after
 * `connection.failed.authentication.delay.ms` (slowing down password guessing).
 *
 * @module
 */

import type { ConnState, SaslSession } from "../conn_state.ts";
import type { BrokerContext } from "../context.ts";
import { isSasl } from "../listeners.ts";
import type { SaslServer, SaslStep } from "./mechanism.ts";
import { OAuthBearerServer } from "./oauthbearer.ts";
import { PlainServer } from "./plain.ts";
import { passwordMatches, SCRAM_MECHANISMS, type ScramMechanism, ScramServer } from "./scram.ts";

/** The connection's SASL session (created on first use). */
export function saslSession(conn: ConnState): SaslSession {
  return conn.sasl ??= { mechanism: null, server: null, rawTokens: false, authenticated: false, expiresAtMs: 0 };
}

/** Whether the connection may only authenticate now: a SASL listener and no live session. */
export function mustAuthenticate(conn: ConnState, nowMs: number): "unauthenticated" | "expired" | null {
  if (!conn.listener || !isSasl(conn.listener.securityProtocol)) return null;
  const s = conn.sasl;
  if (!s?.authenticated) return "unauthenticated";
  if (s.expiresAtMs > 0 && nowMs >= s.expiresAtMs) return "expired";
  return null;
}

/** The server side of a mechanism, or null when kbin does not implement it. */
export function saslServerFor(broker: BrokerContext, conn: ConnState, mechanism: string): SaslServer | null {
  if (mechanism === "PLAIN") {
    const jaasUsers = conn.listener?.plainUsers ?? null;
    return new PlainServer(async (user, password) => {
      if (jaasUsers !== null) {
        const expected = jaasUsers.get(user);
        if (expected !== undefined) return expected === password;
      }
      for (const [m, c] of await broker.users.credentials(user)) {
        if (await passwordMatches(m, c, password)) return true;
      }
      return false;
    });
  }
  if (mechanism === "OAUTHBEARER") {
    const c = broker.config;
    return new OAuthBearerServer({
      keys: broker.oauthKeys,
      expectedAudience: c.list("sasl.oauthbearer.expected.audience"),
      expectedIssuer: c.get("sasl.oauthbearer.expected.issuer") ?? "",
      subClaim: c.get("sasl.oauthbearer.sub.claim.name") ?? "sub",
      clockSkewSeconds: c.number("sasl.oauthbearer.clock.skew.seconds"),
      nowMs: () => broker.clock.now(),
    });
  }
  if (mechanism in SCRAM_MECHANISMS) {
    const m = mechanism as ScramMechanism;
    return new ScramServer(m, (user) => broker.users.credential(user, m));
  }
  return null;
}

/**
 * Runs one client message through the connection's exchange.
 * @returns the step; on "done" the connection is authenticated with the principal
 */
export async function authenticateStep(broker: BrokerContext, conn: ConnState, bytes: Uint8Array): Promise<SaslStep> {
  const session = saslSession(conn);
  const server = session.server;
  if (server === null) return { kind: "failed", message: "No SASL exchange is in progress (send SaslHandshake first)" };
  let step = await server.step(bytes);
  if (step.kind === "done" && session.authenticated && step.principal !== conn.principal) {
    // KIP-368: re-authentication keeps the principal (Kafka's ReauthInfo.ensurePrincipalUnchanged).
    step = {
      kind: "failed",
      message: `Cannot change principals during re-authentication from ${conn.principal}: ${step.principal}`,
    };
  }
  if (step.kind === "done") {
    const again = session.authenticated;
    session.server = null;
    session.authenticated = true;
    // KIP-368: with connections.max.reauth.ms set, the session ends then or with the credential
    // (an OAUTHBEARER token's exp), whichever comes first.
    const reauthMs = broker.config.number("connections.max.reauth.ms");
    const now = broker.clock.now();
    session.expiresAtMs = reauthMs > 0 ? Math.min(now + reauthMs, step.expiresAtMs ?? Infinity) : 0;
    conn.principal = step.principal;
    if (again) {
      broker.logger.info("SASL re-authentication succeeded", {
        remote: conn.remote,
        listener: conn.listener?.name,
        principal: step.principal,
        sessionMs: session.expiresAtMs > 0 ? session.expiresAtMs - now : null,
      });
    } else {broker.logger.debug("SASL authentication succeeded", {
        remote: conn.remote,
        listener: conn.listener?.name,
        mechanism: session.mechanism,
        principal: step.principal,
      });}
  } else if (step.kind === "failed") {
    session.server = null;
    broker.logger.warn("SASL authentication failed", {
      remote: conn.remote,
      listener: conn.listener?.name,
      mechanism: session.mechanism,
      reason: step.message,
    });
    const delayMs = broker.config.number("connection.failed.authentication.delay.ms");
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
  }
  return step;
}
