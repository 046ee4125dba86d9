/**
 * Kafka-protocol connections into this broker from inside the process (a {@link LocalKafka}):
 * each connection is a pair of in-memory byte streams whose far end runs the same connection
 * loop as a socket ({@link serveConnection}) with the broker's dispatcher, and a principal the
 * caller vouches for. The HTTP plane's REST proxy uses it to act as the HTTP request's user with
 * kbin's own Kafka client, so ACLs, errors and ordering are exactly a Kafka client's.
 *
 * Only this broker is reachable: a client asking for another broker of the cluster (several
 * brokers on PostgreSQL) is refused with a clear error, since the proxy holds no credentials of
 * the user to log in there with. Listeners, SASL, TLS and connection limits do not apply.
 *
 * @module
 */

import type { Conn, ConnectFn, LocalKafka, Logger } from "../ports.ts";
import { type FrameHandler, serveConnection } from "./connection.ts";

/** One direction of an in-memory connection. */
interface Channel {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  /** Ends the stream after what was written so far (idempotent). */
  end(): void;
}

function channel(): Channel {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let done = false;
  const readable = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    cancel() {
      done = true;
    },
  });
  const end = () => {
    if (done) return;
    done = true;
    try {
      controller.close();
    } catch {
      // already closed or cancelled
    }
  };
  const writable = new WritableStream<Uint8Array>({
    write(chunk) {
      if (done) throw new Error("The in-process connection is closed");
      // Both ends create a fresh buffer per frame and never reuse it, so the chunk is passed as is.
      controller.enqueue(chunk);
    },
    close: end,
    abort: end,
  });
  return { readable, writable, end };
}

/**
 * Two ends of an in-memory connection: what `client` writes, `server` reads, and back.
 * Closing either end ends both directions (after what was already written).
 * @param options the addresses each end reports as its peer's
 * @returns the two ends
 */
export function memoryConnPair(options: { clientSees: string; serverSees: string }): { client: Conn; server: Conn } {
  const up = channel();
  const down = channel();
  const close = () => {
    up.end();
    down.end();
  };
  return {
    client: { readable: down.readable, writable: up.writable, remote: options.clientSees, close },
    server: { readable: up.readable, writable: down.writable, remote: options.serverSees, close },
  };
}

/** Options of {@link InProcessKafka}. */
export interface InProcessKafkaOptions {
  handler: FrameHandler;
  logger: Logger;
  /** socket.request.max.bytes, as for socket connections. */
  maxRequestBytes: number;
  nodeId: number;
  /** Where the cluster lists this broker (what Metadata tells in-process clients). */
  address: () => { host: string; port: number };
}

function hostPort(a: { host: string; port: number }): string {
  return a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** In-process connections to this broker; {@link close} ends them at shutdown. */
export class InProcessKafka implements LocalKafka {
  readonly nodeId: number;
  readonly #o: InProcessKafkaOptions;
  readonly #served = new Set<Promise<void>>();
  readonly #conns = new Set<Conn>();
  readonly #closing: Promise<void>;
  #signalClosing!: () => void;
  #closed = false;

  constructor(options: InProcessKafkaOptions) {
    this.#o = options;
    this.nodeId = options.nodeId;
    this.#closing = new Promise<void>((resolve) => (this.#signalClosing = resolve));
  }

  get bootstrap(): string {
    return hostPort(this.#o.address());
  }

  /** Open in-process connections. */
  get connections(): number {
    return this.#conns.size;
  }

  connect(options: { principal: string; remote: string }): ConnectFn {
    return ({ host, port }) => {
      if (this.#closed) return Promise.reject(new Error("the broker is shutting down"));
      const own = this.#o.address();
      if (host !== own.host || port !== own.port) {
        return Promise.reject(
          new Error(
            `${hostPort({ host, port })} is another broker of the cluster; in-process connections reach only ` +
              `broker ${this.nodeId} (${hostPort(own)})`,
          ),
        );
      }
      const { client, server } = memoryConnPair({ clientSees: hostPort(own), serverSees: options.remote });
      this.#conns.add(server);
      const done = serveConnection(server, {
        handler: this.#o.handler,
        logger: this.#o.logger,
        maxRequestBytes: this.#o.maxRequestBytes,
        closing: this.#closing,
        principal: options.principal,
      }).finally(() => {
        this.#conns.delete(server);
        this.#served.delete(done);
      });
      this.#served.add(done);
      return Promise.resolve(client);
    };
  }

  /** Refuses new connections, lets each finish the request in hand (up to `timeoutMs`), then closes them. */
  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#closed = true;
    this.#signalClosing();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, options.timeoutMs ?? 5000)));
    await Promise.race([Promise.allSettled([...this.#served]), timeout]);
    clearTimeout(timer);
    for (const c of this.#conns) c.close();
  }
}
