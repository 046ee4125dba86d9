/**
 * The connection loop: reads size-prefixed frames from a {@link Conn}, hands each to the
 * dispatcher in arrival order and writes the responses back in the same order. Requests on one
 * connection are processed one at a time, as Kafka does (it mutes a channel until the response
 * is sent), which keeps per-partition ordering of pipelined produce requests.
 *
 * A framing error or a request the dispatcher refuses closes only this connection.
 *
 * @module
 */

import type { Conn, Logger } from "../ports.ts";
import { CloseConnection, type ConnState } from "../broker/conn_state.ts";
import { FrameSplitter } from "../protocol/frames.ts";

/** What the connection loop needs from the broker. */
export interface FrameHandler {
  /**
   * Handles one request frame (header + body, without the size prefix).
   * Resolves to the response chunks without the size prefix, `null` for no response
   * (acks=0), or rejects with {@link CloseConnection} to drop the connection.
   */
  handle(frame: Uint8Array, conn: ConnState): Promise<Uint8Array[] | null>;
}

/** Options for {@link serveConnection}. */
export interface ServeConnectionOptions {
  handler: FrameHandler;
  logger: Logger;
  /** socket.request.max.bytes */
  maxRequestBytes: number;
  /** Resolves when the server wants the connection to finish its current request and close. */
  closing?: Promise<void>;
}

let nextConnId = 1;

/**
 * Serves one connection until the peer closes it, a protocol error occurs, or shutdown.
 * Never rejects: every failure is logged and ends only this connection.
 */
export async function serveConnection(conn: Conn, options: ServeConnectionOptions): Promise<void> {
  const { handler, logger } = options;
  const state: ConnState = { remote: conn.remote, id: nextConnId++, principal: "ANONYMOUS", data: new Map() };
  const splitter = new FrameSplitter(options.maxRequestBytes);
  const reader = conn.readable.getReader();
  const writer = conn.writable.getWriter();
  let closing = false;
  options.closing?.then(() => {
    closing = true;
    reader.cancel().catch(() => {});
  });
  try {
    read: for (;;) {
      const { value, done } = await reader.read();
      if (done || closing) break;
      for (const event of splitter.push(value)) {
        if (closing) break read;
        if ("error" in event) {
          logger.warn("Closing connection: malformed frame", { remote: conn.remote, reason: event.error });
          return;
        }
        const response = await handler.handle(event.frame, state);
        if (response === null) continue;
        let size = 0;
        for (const c of response) size += c.length;
        const prefix = new Uint8Array(4);
        new DataView(prefix.buffer).setInt32(0, size);
        writer.write(prefix).catch(() => {});
        for (const c of response) writer.write(c).catch(() => {});
        await writer.ready;
      }
    }
  } catch (err) {
    if (err instanceof CloseConnection) {
      logger.warn("Closing connection", { remote: conn.remote, reason: err.message });
    } else if (!isDisconnect(err)) {
      logger.error("Closing connection after unexpected error", { remote: conn.remote, error: String(err) });
    }
  } finally {
    reader.releaseLock();
    try {
      await writer.close();
    } catch {
      // the peer may already be gone
    }
    conn.close();
  }
}

/** Errors that only mean the peer (or shutdown) closed the socket under us. */
const DISCONNECT_NAMES = new Set(["BrokenPipe", "ConnectionReset", "BadResource", "Interrupted", "NotConnected"]);

function isDisconnect(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === "ECONNRESET" || code === "EPIPE" || DISCONNECT_NAMES.has((err as Error)?.name);
}
