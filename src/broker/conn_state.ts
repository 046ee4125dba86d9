/**
 * Per-connection state shared by the connection loop and the handlers, and the signal a
 * handler uses to drop a connection.
 *
 * @module
 */

import type { ListenerConfig } from "./listeners.ts";
import type { RequestCounts } from "./request_counts.ts";
import type { SaslServer } from "./sasl/mechanism.ts";

/** Per-connection state visible to handlers. */
export interface ConnState {
  readonly remote: string;
  readonly id: number;
  /** "User:NAME" once SASL authentication succeeded; "User:ANONYMOUS" until then (and on PLAINTEXT). */
  principal: string;
  /** The listener the connection came through (absent for connections made in tests without one). */
  listener?: ListenerConfig;
  /** SASL on this connection: the exchange in progress, whether it succeeded, and until when. */
  sasl?: SaslSession;
  /** Set by a handler whose answer must be the connection's last (a failed authentication): the reason. */
  closeAfterAnswer?: string;
  /** Arbitrary per-connection data (fetch sessions, SASL state). */
  readonly data: Map<string, unknown>;
  /** Requests served on this connection and the client id they came with (set by the dispatcher). */
  served?: { clientId: string; counts: RequestCounts; software?: string };
}

/** A connection's SASL state. */
export interface SaslSession {
  /** The mechanism SaslHandshake chose. */
  mechanism: string | null;
  /** The exchange in progress. */
  server: SaslServer | null;
  /** SaslHandshake v0: the next frames are raw SASL tokens, not Kafka requests. */
  rawTokens: boolean;
  /** Whether the client authenticated. */
  authenticated: boolean;
  /** When the session ends (connections.max.reauth.ms), 0 for never. */
  expiresAtMs: number;
}

/** Thrown by a handler to close the connection after logging `reason`. */
export class CloseConnection extends Error {
  readonly code = "KBIN_CLOSE_CONNECTION";
  constructor(reason: string) {
    super(reason);
    this.name = "CloseConnection";
  }
}
