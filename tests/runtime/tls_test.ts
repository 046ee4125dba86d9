import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { connect as tcpConnect } from "node:net";
import { after, before, describe, test } from "node:test";
import type { Conn, Listener, TlsClientOptions, TlsServerOptions } from "../../src/ports.ts";
import { makeTestCerts, type TestCerts } from "../support/certs.ts";
import { connect, listen, runtimeName } from "../support/runtime.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

let certs: TestCerts;
before(() => {
  certs = makeTestCerts();
});
after(() => certs.remove());

/** Fails instead of hanging when `promise` takes longer than `ms`. */
async function within<T>(promise: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A TLS echo server that records each accepted connection's peerSubject. */
async function echoServer(tls: TlsServerOptions): Promise<Listener & { subjects: (string | null | undefined)[] }> {
  const subjects: (string | null | undefined)[] = [];
  const listener = await listen({ host: "127.0.0.1", port: 0, tls }, (conn) => {
    subjects.push(conn.peerSubject);
    conn.readable.pipeTo(conn.writable).catch(() => {});
  });
  return Object.assign(listener, { subjects });
}

/** Writes `text` and reads until that many bytes came back or the stream ended. */
async function roundTrip(conn: Conn, text: string): Promise<string> {
  const writer = conn.writable.getWriter();
  const reader = conn.readable.getReader();
  try {
    await writer.write(enc.encode(text));
    let got = "";
    while (got.length < text.length) {
      const { value, done } = await reader.read();
      if (done) break;
      got += dec.decode(value);
    }
    return got;
  } finally {
    reader.releaseLock();
    writer.releaseLock();
  }
}

/**
 * Asserts the server refuses this client: the handshake fails, or (TLS 1.3, where the client
 * finishes first) the connection closes without serving a byte.
 */
async function assertRefused(port: number, tls: TlsClientOptions): Promise<void> {
  let conn: Conn;
  try {
    conn = await connect({ host: "127.0.0.1", port, tls });
  } catch {
    return;
  }
  try {
    const echoed = await roundTrip(conn, "ping").catch(() => "");
    assert.equal(echoed, "", "a refused client must not be served");
  } finally {
    conn.close();
  }
}

function client(extra: TlsClientOptions = {}): TlsClientOptions {
  return { ca: certs.ca.cert, ...extra };
}

function serverTls(clientAuth: TlsServerOptions["clientAuth"]): TlsServerOptions {
  return { key: certs.server.key, cert: certs.server.cert, ca: certs.ca.cert, clientAuth };
}

describe(`listen() and connect() with tls on ${runtimeName}`, () => {
  test("a TLS echo round trip works and each side sees the right peerSubject", async () => {
    const server = await echoServer({ key: certs.server.key, cert: certs.server.cert, clientAuth: "none" });
    try {
      const conn = await within(connect({ host: "127.0.0.1", port: server.port, tls: client() }), "connect");
      try {
        assert.equal(conn.peerSubject, "CN=localhost,O=kbin", "the client sees the server certificate");
        const big = "x".repeat(300_000);
        assert.equal(await within(roundTrip(conn, "hello"), "echo"), "hello");
        assert.equal(await within(roundTrip(conn, big), "big echo"), big);
        assert.deepEqual(server.subjects, [null], "clientAuth none: no client certificate");
      } finally {
        conn.close();
      }
    } finally {
      await server.close();
    }
  });

  test("connect() checks the server name: localhost passes, another name fails", async () => {
    const server = await echoServer({ key: certs.server.key, cert: certs.server.cert, clientAuth: "none" });
    try {
      const ok = await connect({ host: "localhost", port: server.port, tls: client() });
      ok.close();
      await assert.rejects(
        connect({ host: "127.0.0.1", port: server.port, tls: client({ serverName: "kafka.example" }) }),
        /Cannot connect with TLS to 127\.0\.0\.1:\d+/,
      );
      await assert.rejects(
        connect({ host: "127.0.0.1", port: server.port, tls: { ca: certs.otherCa.cert } }),
        /Cannot connect with TLS/,
      );
      const insecure = await connect({
        host: "127.0.0.1",
        port: server.port,
        tls: { rejectUnauthorized: false, serverName: "kafka.example" },
      });
      assert.equal(await within(roundTrip(insecure, "ok"), "insecure echo"), "ok");
      insecure.close();
    } finally {
      await server.close();
    }
  });

  test('clientAuth "required" refuses a client without a certificate or with another CA\'s', async () => {
    const server = await echoServer(serverTls("required"));
    try {
      await within(assertRefused(server.port, client()), "no certificate");
      await within(
        assertRefused(server.port, client({ cert: certs.mallory.cert, key: certs.mallory.key })),
        "other CA",
      );
      assert.deepEqual(server.subjects, [], "refused clients never reach onConn");
      const alice = await connect({
        host: "127.0.0.1",
        port: server.port,
        tls: client({ cert: certs.alice.cert, key: certs.alice.key }),
      });
      assert.equal(await within(roundTrip(alice, "hi"), "alice echo"), "hi");
      alice.close();
      assert.deepEqual(server.subjects, ["CN=alice,O=Acme"]);
    } finally {
      await server.close();
    }
  });

  test('clientAuth "requested" serves clients with and without a certificate, refuses an untrusted one', async () => {
    const server = await echoServer(serverTls("requested"));
    try {
      const anonymous = await connect({ host: "127.0.0.1", port: server.port, tls: client() });
      assert.equal(await within(roundTrip(anonymous, "a"), "anonymous echo"), "a");
      anonymous.close();
      const alice = await connect({
        host: "127.0.0.1",
        port: server.port,
        tls: client({ cert: certs.alice.cert, key: certs.alice.key }),
      });
      assert.equal(await within(roundTrip(alice, "b"), "alice echo"), "b");
      alice.close();
      await within(
        assertRefused(server.port, client({ cert: certs.mallory.cert, key: certs.mallory.key })),
        "other CA",
      );
      assert.deepEqual(server.subjects, [null, "CN=alice,O=Acme"]);
    } finally {
      await server.close();
    }
  });

  test("reloadTls() serves the new certificate to new connections and keeps existing ones", async () => {
    const server = await echoServer({ key: certs.server.key, cert: certs.server.cert, clientAuth: "none" });
    try {
      const old = await connect({ host: "127.0.0.1", port: server.port, tls: client() });
      assert.equal(await within(roundTrip(old, "before"), "echo before"), "before");
      assert.ok(server.reloadTls, "TLS listeners can reload");
      server.reloadTls({ key: certs.serverOther.key, cert: certs.serverOther.cert, clientAuth: "none" });
      const fresh = await connect({ host: "127.0.0.1", port: server.port, tls: { ca: certs.otherCa.cert } });
      assert.equal(fresh.peerSubject, "CN=localhost,O=kbin reloaded");
      assert.equal(await within(roundTrip(fresh, "new"), "echo new"), "new");
      fresh.close();
      await assert.rejects(connect({ host: "127.0.0.1", port: server.port, tls: client() }), /Cannot connect with TLS/);
      assert.equal(await within(roundTrip(old, "after"), "echo after"), "after", "the old connection still works");
      old.close();
    } finally {
      await server.close();
    }
  });

  test("reloadTls() with an unusable certificate throws and keeps the old one", async () => {
    const server = await echoServer({ key: certs.server.key, cert: certs.server.cert, clientAuth: "none" });
    try {
      assert.throws(
        () => server.reloadTls!({ key: certs.server.key, cert: "not a certificate", clientAuth: "none" }),
        /Cannot reload TLS on 127\.0\.0\.1:\d+: cert must be a PEM certificate chain/,
      );
      assert.throws(
        () => server.reloadTls!({ key: certs.alice.key, cert: certs.server.cert, clientAuth: "none" }),
        /Cannot reload TLS on 127\.0\.0\.1:\d+: key does not match the certificate/,
      );
      assert.throws(
        () => server.reloadTls!({ ...serverTls("required") }),
        /clientAuth cannot change on a live listener/,
      );
      const conn = await connect({ host: "127.0.0.1", port: server.port, tls: client() });
      assert.equal(conn.peerSubject, "CN=localhost,O=kbin");
      conn.close();
    } finally {
      await server.close();
    }
  });

  test("listen() rejects unusable TLS options with a clear error", async () => {
    const base = { host: "127.0.0.1", port: 0 };
    const noop = () => {};
    await assert.rejects(
      listen({ ...base, tls: { key: "nope", cert: certs.server.cert, clientAuth: "none" } }, noop),
      /Cannot listen with TLS on 127\.0\.0\.1:0: key must be a PEM private key/,
    );
    await assert.rejects(
      listen({ ...base, tls: { key: certs.server.key, cert: certs.server.cert, clientAuth: "required" } }, noop),
      /clientAuth "required" needs ca/,
    );
    await assert.rejects(
      listen({ ...base, tls: { key: certs.alice.key, cert: certs.server.cert, clientAuth: "none" } }, noop),
      /Cannot listen with TLS on 127\.0\.0\.1:0: key does not match the certificate of "CN=localhost,O=kbin"/,
    );
    await assert.rejects(
      listen({
        ...base,
        tls: { ...serverTls("none"), cert: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n" },
      }, noop),
      /Cannot listen with TLS on 127\.0\.0\.1:0: cannot load the TLS key, certificate or CA: /,
    );
    await assert.rejects(
      listen({ ...base, tls: { ...serverTls("none"), clientAuth: "sometimes" as "none" } }, noop),
      /clientAuth must be "none", "requested" or "required", got "sometimes"/,
    );
  });

  test("a plaintext client on a TLS port is closed and the listener keeps serving", async () => {
    const server = await echoServer({ key: certs.server.key, cert: certs.server.cert, clientAuth: "none" });
    try {
      const closed = new Promise<string>((resolve) => {
        const socket = tcpConnect(server.port, "127.0.0.1", () => {
          socket.write("\x00\x00\x00\x15\x00\x12\x00\x03\x00\x00\x00\x01garbage, not TLS\r\n\r\n");
        });
        let got = "";
        socket.on("data", (d: Uint8Array) => (got += dec.decode(d)));
        socket.on("error", () => {});
        socket.on("close", () => resolve(got));
      });
      const answer = await within(closed, "garbage client closed");
      assert.ok(!answer.includes("garbage"), "nothing is echoed to a plaintext client");
      assert.deepEqual(server.subjects, []);
      const conn = await connect({ host: "127.0.0.1", port: server.port, tls: client() });
      assert.equal(await within(roundTrip(conn, "still up"), "echo after garbage"), "still up");
      conn.close();
    } finally {
      await server.close();
    }
  });

  test("openssl s_client with a client certificate is served and identified", async () => {
    const listener = await listen({ host: "127.0.0.1", port: 0, tls: serverTls("required") }, async (conn) => {
      const writer = conn.writable.getWriter();
      await writer.write(enc.encode(`subject=${conn.peerSubject}\n`));
      await writer.close();
    });
    try {
      const args = [
        "s_client",
        "-connect",
        `127.0.0.1:${listener.port}`,
        "-CAfile",
        `${certs.dir}/ca.pem`,
        "-cert",
        `${certs.dir}/alice.pem`,
        "-key",
        `${certs.dir}/alice.key`,
        "-verify_return_error",
        "-verify_ip",
        "127.0.0.1",
        "-quiet",
      ];
      const output = await within(
        new Promise<string>((resolve, reject) => {
          const child = execFile("openssl", args, { timeout: 8000 }, (err, stdout, stderr) => {
            if (err && !stdout.includes("subject=")) reject(new Error(`openssl s_client failed: ${stderr}`));
            else resolve(stdout);
          });
          child.stdin?.on("error", () => {});
        }),
        "openssl s_client",
      );
      assert.match(output, /^subject=CN=alice,O=Acme$/m);
    } finally {
      await listener.close();
    }
  });
});
