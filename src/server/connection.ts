/**
 * The connection loop: reads size-prefixed frames from a {@link Conn}, hands each to the
 * dispatcher in arrival order and writes the responses back in the same order. Requests on one
 * connection take effect one at a time, as in Kafka (it mutes a channel until the response is
 * sent), which keeps per-partition ordering of pipelined produce requests. A handler may
 * `release` the connection early, once its order-sensitive work is done (Produce: its batches
 * have offsets), so the next request is processed while it waits for durability; responses
 * still go out in request order. At most {@link MAX_IN_FLIGHT} requests wait like this.
 *
 * A framing error or a request the dispatcher refuses closes only this connection.
 *
 * @module
 */

import type { Conn, Logger } from "../ports.ts";
import { CloseConnection, type ConnState } from "../broker/conn_state.ts";
import type { ListenerConfig } from "../broker/listeners.ts";
import { mapSubject } from "../broker/ssl_principal.ts";
import { FrameSplitter } from "../protocol/frames.ts";
import { PRODUCE_API } from "../protocol/generated/00_produce.ts";
import type { FramePool } from "./frame_pool.ts";

/** What the connection loop needs from the broker. */
export interface FrameHandler {
  /**
   * Handles one request frame (header + body, without the size prefix).
   * Resolves to the response frame's chunks, size prefix included, `null` for no response
   * (acks=0), or rejects with {@link CloseConnection} to drop the connection.
   *
   * A Produce frame may be a pooled buffer that is reused as soon as this promise settles, so
   * nothing may keep a view of a Produce request's bytes past that (the log's writes of its
   * batches included: the handler waits for them, whatever `acks` says).
   */
  handle(frame: Uint8Array, conn: ConnState, release: () => void): Promise<Uint8Array[] | null>;
  /** Called once when the connection has ended. */
  closed?(conn: ConnState): void;
}

/** Requests of one connection that may be past their ordered part and awaiting their answer. */
export const MAX_IN_FLIGHT = 8;

/** Options for {@link serveConnection}. */
export interface ServeConnectionOptions {
  handler: FrameHandler;
  logger: Logger;
  /** socket.request.max.bytes */
  maxRequestBytes: number;
  /** Resolves when the server wants the connection to finish its current request and close. */
  closing?: Promise<void>;
  /** Buffers for large Produce frames that span socket reads (default: a new buffer each). */
  framePool?: FramePool;
  /** The listener the connection came through. */
  listener?: ListenerConfig;
  /**
   * The principal the connection acts as from its first request, for connections made inside the
   * process by a caller that authenticated its user itself (the REST proxy; see in_process.ts).
   */
  principal?: string;
}

let nextConnId = 1;

/**
 * Serves one connection until the peer closes it, a protocol error occurs, or shutdown.
 * Never rejects: every failure is logged and ends only this connection.
 */
export async function serveConnection(conn: Conn, options: ServeConnectionOptions): Promise<void> {
  const { handler, logger } = options;
  const state: ConnState = {
    remote: conn.remote,
    id: nextConnId++,
    principal: options.principal ?? "User:ANONYMOUS",
    data: new Map(),
  };
  if (options.listener) {
    state.listener = options.listener;
    // An SSL listener's principal is its client certificate's subject, mapped by
    // ssl.principal.mapping.rules (SASL_SSL takes the SASL principal instead).
    if (options.listener.securityProtocol === "SSL" && conn.peerSubject) {
      const name = mapSubject(options.listener.principalRules, conn.peerSubject);
      if (name === null) {
        logger.warn("Closing connection: no ssl.principal.mapping.rules rule matches the client certificate", {
          remote: conn.remote,
          subject: conn.peerSubject,
        });
        conn.close();
        return;
      }
      state.principal = `User:${name}`;
      logger.debug("TLS client authenticated by its certificate", {
        remote: conn.remote,
        subject: conn.peerSubject,
        principal: state.principal,
      });
    }
  }
  const pool = options.framePool;
  const splitter = new FrameSplitter(
    options.maxRequestBytes,
    pool ? { allocate: (size, apiKey) => (apiKey === PRODUCE_API.apiKey ? pool.take(size) : undefined) } : {},
  );
  const reader = conn.readable.getReader();
  const writer = conn.writable.getWriter();
  let closing = false;
  let previous: Promise<void> = Promise.resolve();
  const inFlight = new Set<Promise<void>>();
  let failure: unknown = null;
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
        let release!: () => void;
        const released = new Promise<void>((resolve) => (release = resolve));
        const frame = event.frame;
        const response = handler.handle(frame, state, release);
        // Observed through `answered`; this marks it handled and returns a pooled frame.
        if (pool) response.then(() => pool.give(frame), () => pool.give(frame));
        else response.catch(() => {});
        // Answers leave in request order, each after the one before it.
        const answered = previous.then(() => response).then((chunks) => {
          if (chunks !== null) writeFrame(writer, chunks);
          // A failed authentication: its answer is the connection's last.
          if (state.closeAfterAnswer !== undefined) throw new CloseConnection(state.closeAfterAnswer);
        });
        previous = answered;
        inFlight.add(answered);
        answered.then(() => inFlight.delete(answered), (err) => {
          failure ??= err;
          inFlight.delete(answered);
        });
        // The next request waits until this one is released or done (a failure closes us).
        await Promise.race([released, answered.catch(() => {})]);
        while (inFlight.size >= MAX_IN_FLIGHT && failure === null) await Promise.race(inFlight).catch(() => {});
        if (failure !== null) throw failure;
        await writer.ready;
      }
    }
    await previous;
  } catch (err) {
    if (err instanceof CloseConnection) {
      logger.warn("Closing connection", { remote: conn.remote, reason: err.message });
    } else if (!isDisconnect(err)) {
      logger.error("Closing connection after unexpected error", { remote: conn.remote, error: String(err) });
    }
  } finally {
    // Answer what was already accepted before closing (graceful shutdown finishes in-flight requests).
    await previous.catch(() => {});
    reader.releaseLock();
    try {
      await writer.close();
    } catch {
      // the peer may already be gone
    }
    conn.close();
    handler.closed?.(state);
  }
}

/** Writes one response frame (its chunks already start with the size prefix). */
function writeFrame(writer: WritableStreamDefaultWriter<Uint8Array>, chunks: Uint8Array[]): void {
  for (const c of chunks) writer.write(c).catch(() => {});
}

/** Errors that only mean the peer (or shutdown) closed the socket under us. */
const DISCONNECT_NAMES = new Set(["BrokenPipe", "ConnectionReset", "BadResource", "Interrupted", "NotConnected"]);

function isDisconnect(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === "ECONNRESET" || code === "EPIPE" || DISCONNECT_NAMES.has((err as Error)?.name);
}
