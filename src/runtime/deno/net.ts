/**
 * Deno socket adapter: `Deno.listen` connections already are byte-stream pairs. TLS listeners
 * and connections use the shared `node:tls` implementation (`../shared/node_tls.ts`):
 * `Deno.listenTls` can neither ask for a client certificate nor report one (checked on Deno
 * 2.9.6), and cannot change its certificate, while Deno's `node:tls` does all three.
 *
 * @module
 */

import type { ConnectFn, Listener, ListenFn } from "../../ports.ts";
import { connectNodeTls, listenNodeTls } from "../shared/node_tls.ts";

/** Listens with `Deno.listen`; each accepted connection becomes a {@link Conn}. */
export const listen: ListenFn = (options, onConn) => {
  if (options.tls) return listenNodeTls({ ...options, tls: options.tls }, onConn);
  const server = Deno.listen({ hostname: options.host, port: options.port, transport: "tcp" });
  const addr = server.addr as Deno.NetAddr;
  (async () => {
    try {
      for await (const c of server) {
        try {
          c.setNoDelay(true);
        } catch {
          // not fatal
        }
        const remote = c.remoteAddr as Deno.NetAddr;
        let closed = false;
        onConn({
          readable: c.readable,
          writable: c.writable,
          remote: `${remote.hostname}:${remote.port}`,
          close() {
            if (closed) return;
            closed = true;
            try {
              c.close();
            } catch {
              // already closed through its streams
            }
          },
        });
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.BadResource)) throw err;
    }
  })();
  const listener: Listener = {
    host: addr.hostname,
    port: addr.port,
    close() {
      try {
        server.close();
      } catch {
        // already closed
      }
      return Promise.resolve();
    },
  };
  return Promise.resolve(listener);
};

/** Connects with `Deno.connect`, or over TLS with `node:tls`. */
export const connect: ConnectFn = async ({ host, port, tls }) => {
  if (tls) return connectNodeTls({ host, port, tls });
  const c = await Deno.connect({ hostname: host, port, transport: "tcp" });
  c.setNoDelay(true);
  let closed = false;
  return {
    readable: c.readable,
    writable: c.writable,
    remote: `${host}:${port}`,
    close() {
      if (closed) return;
      closed = true;
      try {
        c.close();
      } catch {
        // already closed through its streams
      }
    },
  };
};
