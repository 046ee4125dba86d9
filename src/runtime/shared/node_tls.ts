/**
 * TLS listeners and connections over `node:tls`, which Bun and Deno both implement. It is the one
 * API that does everything Kafka's SSL listener needs on both runtimes: client certificates
 * (`requestCert`, `ca`, `getPeerCertificate`), and certificate reload for new connections without
 * dropping old ones (`setSecureContext`). The native APIs fall short: `Deno.listenTls` cannot ask
 * for a client certificate, and Bun's `TCPSocketListener.reload()` keeps the old certificate.
 * The cost, measured on loopback (docs/benchmarks.md, "TLS listeners"): on Bun, bulk transfer
 * within about 5 % of a `Bun.listen({ tls })` listener behind the same `Conn` glue, 100 B round
 * trips about 15 % slower; on Deno, 15–30 % below `Deno.listenTls`. Plaintext listeners stay
 * on the native paths in `../bun/net.ts` and `../deno/net.ts`.
 *
 * @module
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import * as tls from "node:tls";
import type { Conn, Listener, ListenOptions, TlsClientOptions, TlsServerOptions } from "../../ports.ts";
import { certificateSubject } from "../../server/tls_subject.ts";

/** Unusable TLS settings: a bad key or certificate, a missing CA, an unknown clientAuth. */
export class TlsConfigError extends TypeError {
  readonly code = "KBIN_TLS_INVALID";
  constructor(message: string) {
    super(message);
    this.name = "TlsConfigError";
  }
}

/** Unread bytes a connection may queue before its socket is paused (as the plaintext adapters). */
const READ_QUEUE_BYTES = 4 * 1024 * 1024;

const CLIENT_AUTH = new Set(["none", "requested", "required"]);

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Checks the options and loads key, certificate and CA once, so errors name what is wrong. */
function secureContext(options: TlsServerOptions, action: string): tls.SecureContextOptions {
  if (!CLIENT_AUTH.has(options.clientAuth)) {
    throw new TlsConfigError(
      `${action}: clientAuth must be "none", "requested" or "required", got "${options.clientAuth}"`,
    );
  }
  if (typeof options.key !== "string" || !options.key.includes("PRIVATE KEY-----")) {
    throw new TlsConfigError(`${action}: key must be a PEM private key`);
  }
  if (typeof options.cert !== "string" || !options.cert.includes("-----BEGIN CERTIFICATE-----")) {
    throw new TlsConfigError(`${action}: cert must be a PEM certificate chain`);
  }
  if (options.clientAuth !== "none" && !options.ca?.includes("-----BEGIN CERTIFICATE-----")) {
    throw new TlsConfigError(
      `${action}: clientAuth "${options.clientAuth}" needs ca, the PEM bundle client certificates must chain to`,
    );
  }
  const context: tls.SecureContextOptions = { key: options.key, cert: options.cert };
  if (options.ca !== undefined) context.ca = options.ca;
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(options.cert);
    // Deno's createSecureContext() accepts a key that does not match the certificate (every
    // handshake would fail later), so the pair is checked here on both runtimes.
    if (!leaf.checkPrivateKey(createPrivateKey(options.key))) {
      throw new TlsConfigError(`${action}: key does not match the certificate of "${certificateSubject(leaf.raw)}"`);
    }
    if (options.ca !== undefined) new X509Certificate(options.ca);
    tls.createSecureContext(context);
  } catch (err) {
    if (err instanceof TlsConfigError) throw err;
    throw new TlsConfigError(`${action}: cannot load the TLS key, certificate or CA: ${reason(err)}`);
  }
  return context;
}

/** Wraps a connected TLS socket as a {@link Conn} with read and write backpressure. */
function toConn(socket: tls.TLSSocket, remote: string, peerSubject: string | null): Conn {
  let controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  const finish = () => {
    try {
      controller?.close();
    } catch {
      // already closed or cancelled
    }
    controller = null;
  };
  socket.on("data", (chunk: Uint8Array) => {
    if (!controller) return;
    // A plain view: Buffer.slice() shares memory where Uint8Array.slice() copies.
    controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    if ((controller.desiredSize ?? 1) <= 0) socket.pause();
  });
  socket.on("end", finish);
  socket.on("close", finish);
  // An error (a reset, a bad record) ends the connection; "close" follows.
  socket.on("error", finish);
  const readable = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    pull() {
      socket.resume();
    },
    cancel() {
      controller = null;
      socket.resume();
    },
  }, new ByteLengthQueuingStrategy({ highWaterMark: READ_QUEUE_BYTES }));
  const epipe = () => Object.assign(new Error("socket closed"), { code: "EPIPE" });
  const writable = new WritableStream<Uint8Array>({
    write(chunk) {
      if (socket.destroyed || !socket.writable) return Promise.reject(epipe());
      if (socket.write(chunk)) return;
      return new Promise<void>((resolve) => {
        const done = () => {
          socket.off("drain", done);
          socket.off("close", done);
          resolve();
        };
        socket.on("drain", done);
        socket.on("close", done);
      });
    },
    close() {
      if (socket.destroyed) return;
      return new Promise<void>((resolve) => {
        socket.once("close", () => resolve());
        socket.end();
        // A peer that never answers our close_notify must not hold the write side open.
        socket.setTimeout(5000, () => socket.destroy());
      });
    },
    abort() {
      socket.destroy();
    },
  });
  return {
    readable,
    writable,
    remote,
    peerSubject,
    close() {
      socket.destroy();
    },
  };
}

function subjectOf(socket: tls.TLSSocket): string | null {
  const raw = (socket.getPeerCertificate() as { raw?: Uint8Array } | null)?.raw;
  return raw && raw.length > 0 ? certificateSubject(raw) : null;
}

/**
 * Listens with `tls.createServer`. Each connection reaches `onConn` only after its handshake
 * and the `clientAuth` check; a handshake that fails (plaintext on a TLS port, a refused client
 * certificate) closes that socket and nothing else.
 * @throws {TlsConfigError} (as a rejection) for an unusable key, certificate, CA or clientAuth
 */
export async function listenNodeTls(
  options: ListenOptions & { tls: TlsServerOptions },
  onConn: (conn: Conn) => void,
): Promise<Listener> {
  const action = `Cannot listen with TLS on ${options.host}:${options.port}`;
  const clientAuth = options.tls.clientAuth;
  const context = secureContext(options.tls, action);
  const server = tls.createServer({
    ...context,
    requestCert: clientAuth !== "none",
    // "requested" verifies a certificate that was sent below, so a bad one is refused as in Kafka.
    rejectUnauthorized: clientAuth === "required",
  });
  server.on("secureConnection", (socket: tls.TLSSocket) => {
    socket.on("error", () => {});
    socket.setNoDelay(true);
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    let peerSubject: string | null = null;
    if (clientAuth !== "none") {
      try {
        peerSubject = subjectOf(socket);
      } catch {
        options.onTlsRefused?.(remote, "the client certificate cannot be parsed");
        socket.destroy();
        return;
      }
      // `authorized` is false without a certificate, or with one that does not chain to `ca`.
      if ((peerSubject !== null || clientAuth === "required") && !socket.authorized) {
        options.onTlsRefused?.(
          remote,
          peerSubject === null
            ? "no client certificate (ssl.client.auth=required)"
            : `client certificate ${peerSubject} does not verify: ${String(socket.authorizationError)}`,
        );
        socket.destroy();
        return;
      }
    }
    onConn(toConn(socket, remote, peerSubject));
  });
  // Failed handshakes: node:tls has already destroyed the socket; nothing else is affected.
  server.on("tlsClientError", (err: Error, socket: tls.TLSSocket) => {
    options.onTlsRefused?.(`${socket.remoteAddress}:${socket.remotePort}`, `TLS handshake failed: ${reason(err)}`);
  });
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error) => reject(new Error(`${action}: ${reason(err)}`, { cause: err }));
    server.once("error", fail);
    server.listen(options.port, options.host, () => {
      server.off("error", fail);
      resolve();
    });
  });
  // Errors after binding (e.g. EMFILE on accept) must not become uncaught exceptions.
  server.on("error", () => {});
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : options.port;
  const host = typeof address === "object" && address !== null ? address.address : options.host;
  return {
    host,
    port,
    close() {
      server.close();
      return Promise.resolve();
    },
    reloadTls(next: TlsServerOptions) {
      const reloadAction = `Cannot reload TLS on ${host}:${port}`;
      if (next.clientAuth !== clientAuth) {
        throw new TlsConfigError(
          `${reloadAction}: clientAuth cannot change on a live listener ("${clientAuth}" to "${next.clientAuth}")`,
        );
      }
      const nextContext = secureContext(next, reloadAction);
      try {
        server.setSecureContext(nextContext);
      } catch (err) {
        throw new TlsConfigError(`${reloadAction}: ${reason(err)}`);
      }
    },
  };
}

/**
 * Connects with `tls.connect` and resolves once the handshake is done. `peerSubject` is the
 * server certificate's subject. With TLS 1.3 a server refuses a client certificate only after
 * this resolves: the refusal shows as a closed connection.
 */
export async function connectNodeTls(
  options: { host: string; port: number; tls: TlsClientOptions },
): Promise<Conn> {
  const o = options.tls;
  const connectOptions: tls.ConnectionOptions = {
    host: options.host,
    port: options.port,
    rejectUnauthorized: o.rejectUnauthorized ?? true,
  };
  const serverName = o.serverName ?? (isIP(options.host) ? undefined : options.host);
  if (serverName !== undefined) connectOptions.servername = serverName;
  if (o.ca !== undefined) connectOptions.ca = o.ca;
  if (o.cert !== undefined) connectOptions.cert = o.cert;
  if (o.key !== undefined) connectOptions.key = o.key;
  if (o.verifyServerName === false) connectOptions.checkServerIdentity = () => undefined;
  const socket = tls.connect(connectOptions);
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error) => {
      socket.destroy();
      reject(new Error(`Cannot connect with TLS to ${options.host}:${options.port}: ${reason(err)}`, { cause: err }));
    };
    socket.once("error", fail);
    socket.once("secureConnect", () => {
      socket.off("error", fail);
      resolve();
    });
  });
  let subject: string | null = null;
  try {
    subject = subjectOf(socket);
  } catch {
    // an unparsable server certificate was accepted (rejectUnauthorized: false): no subject
  }
  return toConn(socket, `${options.host}:${options.port}`, subject);
}
