/**
 * Accepts connections on a listener and serves each with {@link serveConnection}. Shutdown
 * stops accepting, lets each connection finish the request in hand, then resolves.
 *
 * @module
 */

import type { ListenerConfig } from "../broker/listeners.ts";
import type { Conn, Listener, ListenFn, ListenOptions, Logger, TlsServerOptions } from "../ports.ts";
import { type FrameHandler, serveConnection } from "./connection.ts";
import type { ConnectionLimits } from "./connection_limits.ts";
import { FramePool } from "./frame_pool.ts";

/** A running Kafka protocol server. */
export interface Server {
  readonly host: string;
  readonly port: number;
  /** Number of open connections. */
  readonly connections: number;
  /** Stops accepting, waits for in-flight requests (up to `timeoutMs`), closes connections. */
  close(options?: { timeoutMs?: number }): Promise<void>;
  /** TLS listeners: new key, certificate or CA for new connections (existing ones go on). */
  reloadTls?(tls: TlsServerOptions): void;
}

/** Options for {@link startServer}. */
export interface StartServerOptions {
  listen: ListenFn;
  host: string;
  port: number;
  handler: FrameHandler;
  logger: Logger;
  maxRequestBytes: number;
  /** The listener this server serves (its name and security protocol reach every connection). */
  listener?: ListenerConfig;
  /** TLS (SSL and SASL_SSL listeners). */
  tls?: TlsServerOptions;
  /** max.connections and max.connections.per.ip, shared by the broker's listeners. */
  limits?: ConnectionLimits;
}

/** Binds and starts serving. Rejects if the address cannot be bound. */
export async function startServer(options: StartServerOptions): Promise<Server> {
  const active = new Set<Promise<void>>();
  const conns = new Set<Conn>();
  let signalClosing: () => void = () => {};
  const closing = new Promise<void>((resolve) => (signalClosing = resolve));
  const framePool = new FramePool();
  const listenOptions: ListenOptions = { host: options.host, port: options.port };
  if (options.tls) {
    listenOptions.tls = options.tls;
    // As Kafka logs "Failed authentication … (SSL handshake failed)".
    listenOptions.onTlsRefused = (remote, reason) =>
      options.logger.warn("Failed TLS authentication", { remote, listener: options.listener?.name, reason });
  }
  const listener: Listener = await options.listen(listenOptions, (conn) => {
    const refused = options.limits?.admit(conn.remote) ?? null;
    if (refused !== null) {
      options.logger.warn("Refused a connection", { remote: conn.remote, reason: refused });
      conn.close();
      return;
    }
    conns.add(conn);
    const done = serveConnection(conn, {
      handler: options.handler,
      logger: options.logger,
      maxRequestBytes: options.maxRequestBytes,
      closing,
      framePool,
      ...(options.listener ? { listener: options.listener } : {}),
    }).finally(() => {
      options.limits?.release(conn.remote);
      conns.delete(conn);
      active.delete(done);
    });
    active.add(done);
  });
  return {
    host: listener.host,
    port: listener.port,
    ...(listener.reloadTls ? { reloadTls: (tls: TlsServerOptions) => listener.reloadTls!(tls) } : {}),
    get connections() {
      return conns.size;
    },
    async close({ timeoutMs = 5000 } = {}) {
      await listener.close();
      signalClosing();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      await Promise.race([Promise.allSettled([...active]), timeout]);
      clearTimeout(timer);
      for (const c of conns) c.close();
    },
  };
}
