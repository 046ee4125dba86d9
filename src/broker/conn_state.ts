/**
 * Per-connection state shared by the connection loop and the handlers, and the signal a
 * handler uses to drop a connection.
 *
 * @module
 */

import type { RequestCounts } from "./request_counts.ts";

/** Per-connection state visible to handlers. */
export interface ConnState {
  readonly remote: string;
  readonly id: number;
  /** Set by SASL authentication (issue: security); "ANONYMOUS" until then. */
  principal: string;
  /** Arbitrary per-connection data (fetch sessions, SASL state). */
  readonly data: Map<string, unknown>;
  /** Requests served on this connection and the client id they came with (set by the dispatcher). */
  served?: { clientId: string; counts: RequestCounts; software?: string };
}

/** Thrown by a handler to close the connection after logging `reason`. */
export class CloseConnection extends Error {
  readonly code = "KBIN_CLOSE_CONNECTION";
  constructor(reason: string) {
    super(reason);
    this.name = "CloseConnection";
  }
}
