/**
 * Bun socket adapter: turns `Bun.listen` callbacks into {@link Conn} byte streams. TLS listeners
 * and connections use the shared `node:tls` implementation (`../shared/node_tls.ts`), which
 * Bun implements natively: it adds certificate reload, which `Bun.listen({ tls })` lacks
 * (`server.reload({ tls })` keeps serving the old certificate, checked on Bun 1.4.5).
 *
 * @module
 */

import type { Conn, ConnectFn, Listener, ListenFn } from "../../ports.ts";
import { connectNodeTls, listenNodeTls } from "../shared/node_tls.ts";

interface SocketState {
  controller: ReadableStreamDefaultController<Uint8Array> | null;
  /** Bytes the kernel did not take yet, with the resolver of the write that queued them. */
  pending: { data: Uint8Array; resolve: () => void }[];
  closed: boolean;
}

type BunSocket = Bun.Socket<SocketState>;

function flush(socket: BunSocket): void {
  const state = socket.data;
  while (state.pending.length > 0) {
    const head = state.pending[0]!;
    const n = socket.write(head.data);
    if (n < 0) return;
    if (n < head.data.length) {
      head.data = head.data.subarray(n);
      return;
    }
    state.pending.shift();
    head.resolve();
  }
}

/** Unread bytes a connection may queue before its socket is paused. */
const READ_QUEUE_BYTES = 4 * 1024 * 1024;

function enqueue(socket: BunSocket, chunk: Uint8Array): void {
  const controller = socket.data.controller;
  if (!controller) return;
  controller.enqueue(chunk);
  if ((controller.desiredSize ?? 1) <= 0) socket.pause();
}

function toConn(socket: BunSocket, remote?: string): Conn {
  const state = socket.data;
  // Read backpressure: once this much is queued unread, the socket stops reading (TCP pushes
  // back on the client) until the connection loop catches up, as Kafka mutes a busy channel.
  const readable = new ReadableStream<Uint8Array>({
    start(controller) {
      state.controller = controller;
    },
    pull() {
      socket.resume();
    },
    cancel() {
      state.controller = null;
    },
  }, new ByteLengthQueuingStrategy({ highWaterMark: READ_QUEUE_BYTES }));
  const writable = new WritableStream<Uint8Array>({
    write(chunk) {
      if (state.closed) return Promise.reject(Object.assign(new Error("socket closed"), { code: "EPIPE" }));
      if (state.pending.length === 0) {
        const n = socket.write(chunk);
        if (n === chunk.length) return;
        chunk = chunk.subarray(Math.max(0, n));
      }
      return new Promise<void>((resolve) => state.pending.push({ data: chunk, resolve }));
    },
    close() {
      if (state.pending.length === 0) socket.end();
      else {
        const last = state.pending[state.pending.length - 1]!;
        const resolve = last.resolve;
        last.resolve = () => {
          resolve();
          socket.end();
        };
      }
    },
  });
  return {
    readable,
    writable,
    remote: remote ?? `${socket.remoteAddress}:${(socket as unknown as { remotePort?: number }).remotePort ?? 0}`,
    close() {
      if (!state.closed) socket.end();
    },
  };
}

function finish(state: SocketState): void {
  state.closed = true;
  for (const p of state.pending) p.resolve();
  state.pending = [];
  try {
    state.controller?.close();
  } catch {
    // already closed or cancelled
  }
  state.controller = null;
}

/** Listens with `Bun.listen`; each accepted socket becomes a {@link Conn}. */
export const listen: ListenFn = (options, onConn) => {
  // TLS goes through node:tls: Bun.listen({ tls }) cannot swap its certificate (see node_tls.ts).
  if (options.tls) return listenNodeTls({ ...options, tls: options.tls }, onConn);
  const server = Bun.listen<SocketState>({
    hostname: options.host,
    port: options.port,
    socket: {
      open(socket) {
        socket.data = { controller: null, pending: [], closed: false };
        socket.setNoDelay?.(true);
        onConn(toConn(socket));
      },
      data(socket, chunk) {
        // Bun hands us a fresh buffer per callback, so it can be queued without a copy.
        enqueue(socket, chunk);
      },
      drain(socket) {
        flush(socket);
      },
      close(socket) {
        finish(socket.data);
      },
      error(socket) {
        finish(socket.data);
      },
    },
  });
  const listener: Listener = {
    host: server.hostname,
    port: server.port,
    close() {
      server.stop(false);
      return Promise.resolve();
    },
  };
  return Promise.resolve(listener);
};

const clientHandlers = {
  data(socket: BunSocket, chunk: Uint8Array) {
    enqueue(socket, chunk);
  },
  drain(socket: BunSocket) {
    flush(socket);
  },
  close(socket: BunSocket) {
    finish(socket.data);
  },
  error(socket: BunSocket) {
    finish(socket.data);
  },
};

/** Connects with `Bun.connect`, or over TLS with `node:tls`. */
export const connect: ConnectFn = async ({ host, port, tls }) => {
  if (tls) return connectNodeTls({ host, port, tls });
  const socket = await Bun.connect<SocketState>({
    hostname: host,
    port,
    data: { controller: null, pending: [], closed: false },
    socket: clientHandlers,
  });
  socket.setNoDelay?.(true);
  return toConn(socket, `${host}:${port}`);
};
