/**
 * Capabilities the runtime-agnostic core asks for. Each runtime adapter (`src/runtime/bun`,
 * `src/runtime/deno`) supplies them; tests supply in-memory versions. Types only: importing this
 * module has no runtime effect.
 *
 * @module
 */

import type { CodecImpl } from "./protocol/compression/mod.ts";

/**
 * One client connection as a pair of byte streams.
 * @example
 * const conn: Conn = { readable, writable, remote: "127.0.0.1:53122", close() {} };
 */
export interface Conn {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  /** Peer address as "host:port", for logs. */
  readonly remote: string;
  /** Closes the socket at once (used after a protocol violation). */
  close(): void;
  /**
   * For TLS connections: the verified client certificate's subject as an RFC 2253 distinguished
   * name ("CN=alice,OU=eng,O=Acme,C=US", as Java's `X500Principal.getName()` prints it; see
   * `src/server/tls_subject.ts`), or null when the client sent none; undefined on plaintext
   * connections. Set before `onConn` is called, so before the first byte is readable.
   */
  readonly peerSubject?: string | null;
}

/**
 * TLS for a listener (PEM text, not paths).
 * @example
 * const tls: TlsServerOptions = { key, cert, ca, clientAuth: "required" };
 */
export interface TlsServerOptions {
  /** PEM private key (PKCS#8 or PKCS#1/SEC1), unencrypted. */
  key: string;
  /** PEM certificate chain, leaf first. */
  cert: string;
  /** PEM CA bundle that client certificates must chain to (needed unless clientAuth is "none"). */
  ca?: string;
  /**
   * Kafka's `ssl.client.auth`: "none" (no certificate asked), "requested" (asked, optional; a
   * certificate that does not verify is refused, as in Kafka), "required" (refused without a
   * valid one). A refused client's connection is closed after the handshake and never reaches
   * `onConn`.
   */
  clientAuth: "none" | "requested" | "required";
}

/** A bound server socket. */
export interface Listener {
  readonly host: string;
  readonly port: number;
  /** Stops accepting new connections. Existing connections are left to their owners. */
  close(): Promise<void>;
  /**
   * Replaces the key/certificate/CA for new connections (certificate reload without dropping
   * existing connections). Present on TLS listeners only. Throws (keeping the old certificate)
   * when the new key or certificate is unusable. `clientAuth` cannot change on a live listener.
   */
  reloadTls?(tls: TlsServerOptions): void;
}

/**
 * Options for an outgoing TLS connection (client side, for tests and the CLI). Without `ca` the
 * runtime's default root store verifies the server.
 */
export interface TlsClientOptions {
  /** PEM CA bundle the server certificate must chain to. */
  ca?: string;
  /** PEM client certificate chain (mTLS), with `key`. */
  cert?: string;
  /** PEM private key of `cert`. */
  key?: string;
  /** Name sent as SNI and checked against the certificate (default: `host`). */
  serverName?: string;
  /** false accepts any server certificate (tests only). Default true. */
  rejectUnauthorized?: boolean;
  /**
   * false skips the check of the server's name against its certificate, still verifying that the
   * certificate chains to `ca` (Kafka's `ssl.endpoint.identification.algorithm=`). Default true.
   */
  verifyServerName?: boolean;
}

/**
 * Opens an outgoing TCP connection, over TLS when `tls` is given (the CLI and client talk to any
 * Kafka cluster with it).
 * @example
 * const conn = await connect({ host: "127.0.0.1", port: 9092 });
 * const secure = await connect({ host: "127.0.0.1", port: 9093, tls: { ca } });
 */
export type ConnectFn = (options: { host: string; port: number; tls?: TlsClientOptions }) => Promise<Conn>;

/**
 * Kafka-protocol connections into this broker from inside the process, as a principal the caller
 * vouches for (the HTTP plane's REST proxy acts with the HTTP request's principal). Connections
 * are served by the broker's own dispatcher, so ACLs, quotas of work and errors are exactly a
 * Kafka client's; they bypass listeners, SASL and TLS.
 * @example
 * const client = new KafkaClient({ bootstrap: [local.bootstrap], connect: local.connect({ principal: "User:alice", remote }) });
 */
export interface LocalKafka {
  /** This broker's node id. */
  readonly nodeId: number;
  /** "host:port" this broker is registered at in its cluster: what a client of {@link connect} bootstraps from. */
  readonly bootstrap: string;
  /**
   * A {@link ConnectFn} whose connections are served in-process with `principal`, `remote` as the
   * peer's address (for host-based ACLs and logs). It connects only to this broker's own address
   * and rejects another broker's (several brokers on PostgreSQL), and every connection once the
   * broker shuts down.
   */
  connect(options: { principal: string; remote: string }): ConnectFn;
}

/** Options for {@link ListenFn}. */
export interface ListenOptions {
  host: string;
  port: number;
  /** Serve TLS instead of plaintext. */
  tls?: TlsServerOptions;
  /** Told of each TLS client refused during or right after its handshake (for the broker's log). */
  onTlsRefused?: (remote: string, reason: string) => void;
}

/**
 * Starts listening and calls `onConn` for every accepted connection (for TLS, once its handshake
 * succeeded and the client certificate passed `clientAuth`). Rejects with a clear error when the
 * address cannot be bound or the TLS key/certificate is unusable.
 * @example
 * const listener = await listen({ host: "127.0.0.1", port: 0 }, (conn) => serve(conn));
 */
export type ListenFn = (options: ListenOptions, onConn: (conn: Conn) => void) => Promise<Listener>;

/** A value bound to a SQL parameter. */
export type SqlValue = string | number | bigint | Uint8Array | null;

/** A row as returned by {@link Database.query}: column name to value. */
export type SqlRow = Record<string, SqlValue>;

/**
 * A synchronous SQLite connection (bun:sqlite or node:sqlite behind one interface).
 * @example
 * const db = openDatabase(":memory:");
 * db.exec("CREATE TABLE t (x INTEGER)");
 * db.run("INSERT INTO t (x) VALUES (?)", [1]);
 * const rows = db.query("SELECT x FROM t");
 */
export interface Database {
  /** Runs one or more statements without parameters. */
  exec(sql: string): void;
  /** Runs a statement with positional `?` parameters and returns all rows. */
  query(sql: string, params?: readonly SqlValue[]): SqlRow[];
  /** Runs a statement with positional parameters; returns the number of changed rows. */
  run(sql: string, params?: readonly SqlValue[]): { changes: number };
  /** Runs `fn` inside BEGIN IMMEDIATE … COMMIT, rolling back if it throws. */
  transaction<T>(fn: () => T): T;
  close(): void;
}

/** A value bound to a PostgreSQL parameter ($1, $2, …); a Uint8Array is bytea. */
export type PgValue = string | number | bigint | boolean | Uint8Array | null;

/** A PostgreSQL row: column name to value (int8 and numeric come back as strings, bytea as Uint8Array). */
export type PgRow = Record<string, unknown>;

/** Statements on one connection, inside a transaction. */
export interface PgTx {
  query(sql: string, params?: readonly PgValue[]): Promise<PgRow[]>;
}

/**
 * A pool of PostgreSQL connections (the `postgres:` storage engine's only I/O).
 * @example
 * const pg = await connectPostgres("postgres://kbin@127.0.0.1:5432/kbin");
 * const rows = await pg.query("SELECT 1 AS one");
 */
export interface PgClient {
  /** Runs one statement with positional `$n` parameters and returns its rows. */
  query(sql: string, params?: readonly PgValue[]): Promise<PgRow[]>;
  /** Runs `fn` in BEGIN … COMMIT on one connection, rolling back if it throws. */
  transaction<T>(fn: (tx: PgTx) => Promise<T>): Promise<T>;
  /** Closes every connection (waiting for the statements in flight). */
  close(): Promise<void>;
}

/** How many connections a {@link PgClient} pool keeps at most (1: one session, e.g. for session locks). */
export interface PgConnectOptions {
  max?: number;
}

/** Connects to PostgreSQL by URL (`postgres://user:pass@host:port/db`). */
export type ConnectPostgresFn = (url: string, options?: PgConnectOptions) => Promise<PgClient>;

/** Opens (creating if needed) a SQLite database file, or ":memory:". */
export type OpenDatabaseFn = (path: string) => Database;

/** An open file for positional reads and writes (segments, indexes). */
export interface FileHandle {
  /** Reads up to `length` bytes at `position`; fewer only at end of file. */
  read(position: number, length: number): Promise<Uint8Array>;
  /** Writes all of `data` at `position`. */
  write(data: Uint8Array, position: number): Promise<void>;
  /** Writes the chunks back to back starting at `position` (one writev where possible). */
  writev(chunks: readonly Uint8Array[], position: number): Promise<void>;
  /** Flushes file data (and the size) to stable storage. */
  datasync(): Promise<void>;
  truncate(length: number): Promise<void>;
  size(): Promise<number>;
  close(): Promise<void>;
}

/**
 * File operations the storage layer needs. Paths are plain strings joined with "/".
 * @example
 * const fs = openFileSystem();
 * await fs.mkdir("/tmp/kbin/orders-0");
 */
export interface FileSystem {
  mkdir(path: string): Promise<void>;
  /** Opens for read/write, creating the file when `create` is set. */
  open(path: string, options?: { create?: boolean }): Promise<FileHandle>;
  readFile(path: string): Promise<Uint8Array | null>;
  /** Replaces a file atomically (write to a temporary name, fsync, rename). */
  writeFileAtomic(path: string, data: Uint8Array): Promise<void>;
  readdir(path: string): Promise<string[]>;
  remove(path: string, options?: { recursive?: boolean }): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  /** Makes the directory's entries (new or renamed files) durable; best effort where unsupported. */
  syncDir(path: string): Promise<void>;
  /** Size and free space of the file system holding `path` (free: what an unprivileged writer may use). */
  statfs(path: string): Promise<{ totalBytes: number; usableBytes: number }>;
}

/** Wall clock and monotonic time, injectable for tests. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** Where log lines go. Lines are already formatted; `level` is for filtering. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** What the process uses, for metrics (`process_*`). */
export interface ProcessStats {
  /** Resident set size. */
  rssBytes: number;
  /** JavaScript heap in use. */
  heapUsedBytes: number;
  /** CPU time spent in user and in system mode since the process started. */
  cpuUserSeconds: number;
  cpuSystemSeconds: number;
}

/**
 * One HTTP request's handler: a web-standard `Request` in, a `Response` out (a Hono app's
 * `fetch`). `remote` is the client's "host:port", for logs.
 */
export type HttpHandler = (request: Request, info: { remote: string }) => Response | Promise<Response>;

/** Options for {@link ServeHttpFn}. */
export interface ServeHttpOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Serve HTTPS with this PEM key and certificate chain. */
  tls?: { key: string; cert: string };
}

/** A bound HTTP server. */
export interface HttpServer {
  readonly host: string;
  readonly port: number;
  /** Stops accepting and closes idle connections; resolves once requests in flight are answered. */
  close(): Promise<void>;
}

/**
 * Serves HTTP/1.1 with the runtime's own server (`Bun.serve`, `Deno.serve`). Rejects when the
 * address cannot be bound or the TLS material is unusable.
 * @example
 * const server = await serveHttp({ host: "127.0.0.1", port: 0 }, (req) => new Response("ok"));
 */
export type ServeHttpFn = (options: ServeHttpOptions, handler: HttpHandler) => Promise<HttpServer>;

/** Everything a runtime adapter supplies to start a broker. */
export interface Runtime {
  readonly name: "bun" | "deno";
  listen: ListenFn;
  connect: ConnectFn;
  openDatabase: OpenDatabaseFn;
  /** The PostgreSQL driver (the `postgres:` engine). */
  connectPostgres: ConnectPostgresFn;
  fs: FileSystem;
  clock: Clock;
  /** Native compression codecs by Kafka codec id; pure-TS ones fill the gaps. */
  codecs: Partial<Record<number, CodecImpl>>;
  /** The HTTP server (the HTTP plane: health, metrics, later the Schema Registry); absent in some tests. */
  serveHttp?: ServeHttpFn;
  /** Memory and CPU of this process (metrics); absent in some tests. */
  processStats?: () => ProcessStats;
}
