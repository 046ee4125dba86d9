/**
 * The HTTP plane on Deno: `Deno.serve` runs the core's fetch handler (a Hono app).
 *
 * @module
 */

import type { HttpServer, ServeHttpFn } from "../../ports.ts";

/** Serves `handler` with `Deno.serve`, over TLS when `options.tls` is given. */
export const serveHttp: ServeHttpFn = (options, handler) => {
  return new Promise<HttpServer>((resolve, reject) => {
    let server: Deno.HttpServer<Deno.NetAddr>;
    try {
      server = Deno.serve({
        hostname: options.host,
        port: options.port,
        ...(options.tls ? { cert: options.tls.cert, key: options.tls.key } : {}),
        // Deno prints "Listening on …" to stdout by default; the broker logs the URL itself.
        onListen: () => {},
        onError(err) {
          const message = err instanceof Error ? err.message : String(err);
          return new Response(JSON.stringify({ error_code: 500, message: `Internal error: ${message}` }), {
            status: 500,
            headers: { "content-type": "application/json" },
          });
        },
      }, (request, info) => {
        const remote = info.remoteAddr as Deno.NetAddr;
        return handler(request, { remote: `${remote.hostname}:${remote.port}` });
      });
    } catch (err) {
      reject(err);
      return;
    }
    resolve({
      host: server.addr.hostname,
      port: server.addr.port,
      async close() {
        await server.shutdown();
      },
    });
  });
};
