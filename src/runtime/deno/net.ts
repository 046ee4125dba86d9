/**
 * Deno socket adapter: `Deno.listen` connections already are byte-stream pairs.
 *
 * @module
 */

import type { ConnectFn, Listener, ListenFn } from "../../ports.ts";

/** Listens with `Deno.listen`; each accepted connection becomes a {@link Conn}. */
export const listen: ListenFn = (options, onConn) => {
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

/** Connects with `Deno.connect`. */
export const connect: ConnectFn = async ({ host, port }) => {
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
