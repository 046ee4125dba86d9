/** In-process connections: in-memory byte streams served by the connection loop as a principal. */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ConnState } from "../../../src/broker/conn_state.ts";
import { silentLogger } from "../../../src/broker/logger.ts";
import { InProcessKafka, memoryConnPair } from "../../../src/server/in_process.ts";
import type { FrameHandler } from "../../../src/server/connection.ts";

test("memoryConnPair() carries bytes both ways and either end's close ends both directions", async () => {
  const { client, server } = memoryConnPair({ clientSees: "broker:9092", serverSees: "10.0.0.1:5000" });
  assert.equal(client.remote, "broker:9092");
  assert.equal(server.remote, "10.0.0.1:5000");
  const w = client.writable.getWriter();
  await w.write(new Uint8Array([1, 2]));
  const r = server.readable.getReader();
  assert.deepEqual((await r.read()).value, new Uint8Array([1, 2]));
  const back = server.writable.getWriter();
  await back.write(new Uint8Array([3]));
  const cr = client.readable.getReader();
  assert.deepEqual((await cr.read()).value, new Uint8Array([3]));
  client.close();
  assert.equal((await r.read()).done, true);
  assert.equal((await cr.read()).done, true);
  await assert.rejects(back.write(new Uint8Array([4])));
});

/** A handler that answers every frame with the principal and remote of its connection. */
function echoPrincipal(seen: ConnState[]): FrameHandler {
  return {
    handle(frame, conn) {
      seen.push(conn);
      const text = new TextEncoder().encode(`${conn.principal}@${conn.remote}#${frame.length}`);
      const out = new Uint8Array(4 + text.length);
      new DataView(out.buffer).setInt32(0, text.length);
      out.set(text, 4);
      return Promise.resolve([out]);
    },
  };
}

function frame(body: number[]): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setInt32(0, body.length);
  out.set(body, 4);
  return out;
}

test("InProcessKafka.connect() serves connections as the given principal, only at this broker's address", async () => {
  const seen: ConnState[] = [];
  const local = new InProcessKafka({
    handler: echoPrincipal(seen),
    logger: silentLogger,
    maxRequestBytes: 1 << 20,
    nodeId: 3,
    address: () => ({ host: "::1", port: 9092 }),
  });
  assert.equal(local.bootstrap, "[::1]:9092");
  const connect = local.connect({ principal: "User:alice", remote: "192.0.2.7:41000" });
  await assert.rejects(
    connect({ host: "other", port: 9092 }),
    /another broker of the cluster; in-process connections reach only broker 3/,
  );
  const conn = await connect({ host: "::1", port: 9092 });
  const w = conn.writable.getWriter();
  await w.write(frame([0, 1, 0, 0, 0, 0, 0, 9]));
  const r = conn.readable.getReader();
  const { value } = await r.read();
  assert.equal(new TextDecoder().decode(value!.subarray(4)), "User:alice@192.0.2.7:41000#8");
  assert.equal(seen[0]!.principal, "User:alice");
  assert.equal(local.connections, 1);
  // Shutdown ends the connection and refuses new ones.
  await local.close({ timeoutMs: 1000 });
  assert.equal((await r.read()).done, true);
  assert.equal(local.connections, 0);
  await assert.rejects(connect({ host: "::1", port: 9092 }), /shutting down/);
});
