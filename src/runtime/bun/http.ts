/**
 * The HTTP plane on Bun: `Bun.serve` runs the core's fetch handler (a Hono app).
 *
 * @module
 */

import type { HttpServer, ServeHttpFn } from "../../ports.ts";

/** Serves `handler` with `Bun.serve`, over TLS when `options.tls` is given. */
export const serveHttp: ServeHttpFn = (options, handler) => {
  const server = Bun.serve({
    hostname: options.host,
    port: options.port,
    ...(options.tls ? { tls: { key: options.tls.key, cert: options.tls.cert } } : {}),
    // The REST proxy's streaming produce keeps a request open for as long as records come (Bun's
    // defaults would cut it at 128 MiB of body or 10 s of silence); the app bounds what it buffers.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    idleTimeout: 120,
    fetch(request, srv) {
      const ip = srv.requestIP(request);
      return handler(request, { remote: ip ? `${ip.address}:${ip.port}` : "" });
    },
    error(err) {
      return new Response(JSON.stringify({ error_code: 500, message: `Internal error: ${err.message}` }), {
        status: 500,
        headers: { "content-type": "application/json" },
      });
    },
  });
  const bound: HttpServer = {
    host: server.hostname ?? options.host,
    port: server.port ?? options.port,
    async close() {
      await server.stop(false);
    },
  };
  return Promise.resolve(bound);
};
