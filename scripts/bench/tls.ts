/**
 * TLS listener benchmark on loopback: MB/s into and out of one connection and the round trip of
 * 100 B messages, for the runtime adapter's plaintext listener, its TLS listener (`node:tls`, see
 * src/runtime/shared/node_tls.ts) and the runtime's native TLS server (`Bun.listen({ tls })` or
 * `Deno.listenTls`, no `Conn` wrapping), which cannot reload certificates (and on Deno cannot
 * ask for client certificates). The client is a native Bun TLS client in its own process.
 *
 * Usage: `bun scripts/bench/tls.ts` or `deno run -A scripts/bench/tls.ts` (needs `bun` and
 * `openssl` on PATH). Not part of the test suite.
 *
 * @module
 */
import { spawn } from "node:child_process";
import process from "node:process";
import type { Conn, ListenFn } from "../../src/ports.ts";
import { makeTestCerts } from "../../tests/support/certs.ts";

const TOTAL = 512 * 1024 * 1024;
const CHUNK = new Uint8Array(256 * 1024).fill(7);
const PINGS = 30_000;
const MSG = 100;

type Task = "up" | "down" | "ping";

/** Client mode (run by the benchmark under Bun): `tls.ts client <port> <task> <ca file or ->`. */
async function runClient(port: number, task: Task, caFile: string): Promise<void> {
  const B = (globalThis as unknown as { Bun: typeof Bun }).Bun;
  const tls = caFile === "-" ? undefined : { ca: await B.file(caFile).text() };
  let rest: Uint8Array | null = null;
  let sent = 0;
  let got = 0;
  let pings = 0;
  const t0 = performance.now();
  const pump = (s: Bun.Socket) => {
    if (task !== "up") return;
    if (rest) {
      const n = s.write(rest);
      if (n < rest.length) return void (rest = rest.subarray(Math.max(n, 0)));
      rest = null;
    }
    while (sent < TOTAL) {
      const n = s.write(CHUNK);
      sent += CHUNK.length;
      if (n < CHUNK.length) return void (rest = CHUNK.subarray(Math.max(n, 0)));
    }
  };
  const start = (s: Bun.Socket) => (task === "ping" ? s.write(new Uint8Array(MSG)) : pump(s));
  await B.connect({
    hostname: "127.0.0.1",
    port,
    ...(tls ? { tls } : {}),
    socket: {
      open(s) {
        if (!tls) start(s);
      },
      handshake(s) {
        start(s);
      },
      drain: pump,
      data(s, d) {
        got += d.length;
        if (task === "down" && got >= TOTAL) process.exit(0);
        if (task !== "ping") return;
        while (got >= MSG) {
          got -= MSG;
          if (++pings === PINGS) {
            console.log(((performance.now() - t0) * 1000 / PINGS).toFixed(1));
            process.exit(0);
          }
          s.write(new Uint8Array(MSG));
        }
      },
    },
  });
}

async function drain(readable: ReadableStream<Uint8Array>): Promise<void> {
  let n = 0;
  for await (const chunk of readable) if ((n += chunk.length) >= TOTAL) return;
}

async function pump(writable: WritableStream<Uint8Array>): Promise<void> {
  const writer = writable.getWriter();
  for (let sent = 0; sent < TOTAL; sent += CHUNK.length) {
    await writer.ready;
    writer.write(CHUNK).catch(() => {});
  }
}

async function echo(conn: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> }) {
  const writer = conn.writable.getWriter();
  for await (const chunk of conn.readable) writer.write(chunk).catch(() => {});
}

function serve(conn: Pick<Conn, "readable" | "writable">, task: Task): Promise<void> {
  return task === "up" ? drain(conn.readable) : task === "down" ? pump(conn.writable) : echo(conn);
}

async function main(): Promise<void> {
  const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
  const runtime = isBun ? "bun" : "deno";
  const { listen } = (await import(`../../src/runtime/${runtime}/net.ts`)) as { listen: ListenFn };
  const certs = makeTestCerts();
  const tls = { key: certs.server.key, cert: certs.server.cert, clientAuth: "none" as const };
  console.log(`| ${runtime} server | upload MB/s | download MB/s | 100 B round trip µs |`);
  console.log("| --- | --- | --- | --- |");
  for (const kind of ["plaintext (adapter)", "TLS (adapter, node:tls)", "TLS (native, raw)"]) {
    const row: string[] = [];
    for (const task of ["up", "down", "ping"] as const) {
      let served: Promise<void> = Promise.resolve();
      let accepted!: () => void;
      const gotConn = new Promise<void>((resolve) => (accepted = resolve));
      const onConn = (conn: Pick<Conn, "readable" | "writable">) => {
        served = serve(conn, task).catch(() => {}); // the client goes away without close_notify
        accepted();
      };
      let port: number;
      let stop: () => void;
      if (kind.startsWith("TLS (native")) {
        ({ port, stop } = nativeTls(isBun, tls, onConn, task));
      } else {
        const l = await listen({ host: "127.0.0.1", port: 0, ...(kind.startsWith("TLS") ? { tls } : {}) }, onConn);
        port = l.port;
        stop = () => void l.close();
      }
      const t0 = performance.now();
      const ca = kind.startsWith("TLS") ? `${certs.dir}/ca.pem` : "-";
      const child = spawn("bun", [new URL(import.meta.url).pathname, "client", String(port), task, ca], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      child.stdout.on("data", (d: Uint8Array) => (out += new TextDecoder().decode(d)));
      const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
      await gotConn;
      await (task === "up" ? served : exited);
      const seconds = (performance.now() - t0) / 1000;
      row.push(task === "ping" ? out.trim() : (TOTAL / 1048576 / seconds).toFixed(0));
      child.kill();
      stop();
    }
    console.log(`| ${kind} | ${row.join(" | ")} |`);
  }
  certs.remove();
  process.exit(0);
}

/** The runtime's own TLS server, with the least glue that drives the same three tasks. */
function nativeTls(
  isBun: boolean,
  tls: { key: string; cert: string },
  onConn: (conn: Pick<Conn, "readable" | "writable">) => void,
  task: Task,
): { port: number; stop: () => void } {
  if (!isBun) {
    // A structural type, so the Bun type-check of scripts/ does not need Deno's types.
    const D = (globalThis as unknown as {
      Deno: {
        listenTls(o: { hostname: string; port: number; key: string; cert: string }):
          & AsyncIterable<Pick<Conn, "readable" | "writable">>
          & { addr: { port: number }; close(): void };
      };
    }).Deno;
    const l = D.listenTls({ hostname: "127.0.0.1", port: 0, key: tls.key, cert: tls.cert });
    (async () => {
      for await (const c of l) onConn(c);
    })().catch(() => {});
    return { port: l.addr.port, stop: () => l.close() };
  }
  // Raw callbacks: count, echo, or write with partial-write bookkeeping.
  let received = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  let rest: Uint8Array | null = null;
  let sent = 0;
  const push = (s: Bun.Socket) => {
    if (rest) {
      const n = s.write(rest);
      if (n < rest.length) return void (rest = rest.subarray(Math.max(n, 0)));
      rest = null;
    }
    while (sent < TOTAL) {
      const n = s.write(CHUNK);
      sent += CHUNK.length;
      if (n < CHUNK.length) return void (rest = CHUNK.subarray(Math.max(n, 0)));
    }
  };
  const B = (globalThis as unknown as { Bun: typeof Bun }).Bun;
  const server = B.listen({
    hostname: "127.0.0.1",
    port: 0,
    tls,
    socket: {
      handshake(s) {
        // The data callback does the work; this stand-in only ends when the upload is complete.
        const readable = new ReadableStream<Uint8Array>({ start: (c) => void finished.then(() => c.close()) });
        onConn({ readable, writable: new WritableStream() });
        if (task === "down") push(s);
      },
      drain(s) {
        if (task === "down") push(s);
      },
      data(s, d) {
        if (task === "ping") s.write(d);
        else if ((received += d.length) >= TOTAL) done();
      },
    },
  });
  return { port: server.port, stop: () => server.stop(true) };
}

if (process.argv[2] === "client") {
  await runClient(Number(process.argv[3]), process.argv[4] as Task, process.argv[5]!);
} else {
  await main();
}
