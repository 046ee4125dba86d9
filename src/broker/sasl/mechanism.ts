/**
 * What every SASL mechanism's server side is to the connection: one step per client message,
 * ending with a principal or a failure.
 *
 * @module
 */

/** The outcome of one client message. */
export type SaslStep =
  | { kind: "challenge"; bytes: Uint8Array }
  | {
    kind: "done";
    bytes: Uint8Array;
    principal: string; /** When the credential ends (a token's exp). */
    expiresAtMs?: number;
  }
  | { kind: "failed"; message: string };

/** The server side of one authentication exchange. */
export interface SaslServer {
  step(bytes: Uint8Array): Promise<SaslStep>;
}
