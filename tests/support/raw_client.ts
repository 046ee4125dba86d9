/**
 * A raw TCP client for hostile-input tests: sends arbitrary bytes and observes what the broker
 * answers, or that it closes the connection.
 *
 * @module
 */

import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { decodeApiVersionsResponse } from "../../src/protocol/generated/18_api_versions.ts";
import { Reader } from "../../src/protocol/reader.ts";

/** A raw connection with a byte inbox. */
export interface RawClient {
  readonly socket: Socket;
  send(bytes: Uint8Array): void;
  /** Resolves with the next complete size-prefixed frame (without the prefix). */
  frame(timeoutMs?: number): Promise<Uint8Array>;
  /** Resolves true when the broker closes the connection within the timeout. */
  closed(timeoutMs?: number): Promise<boolean>;
  end(): void;
}

/** Connects to 127.0.0.1:port. */
export function rawClient(port: number): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    let buf = Buffer.alloc(0);
    let isClosed = false;
    const waiters: (() => void)[] = [];
    const wake = () => waiters.splice(0).forEach((w) => w());
    socket.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      wake();
    });
    socket.on("close", () => {
      isClosed = true;
      wake();
    });
    socket.on("error", () => {});
    const until = (cond: () => boolean, timeoutMs: number) =>
      new Promise<boolean>((res) => {
        if (cond()) return res(true);
        const timer = setTimeout(() => res(cond()), timeoutMs);
        const check = () => {
          if (cond()) {
            clearTimeout(timer);
            res(true);
          } else waiters.push(check);
        };
        waiters.push(check);
      });
    socket.once("connect", () =>
      resolve({
        socket,
        send: (bytes) => socket.write(bytes),
        async frame(timeoutMs = 5000) {
          const ok = await until(() => buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0), timeoutMs);
          if (!ok) throw new Error(isClosed ? "connection closed before a response" : "no response in time");
          const size = buf.readInt32BE(0);
          const out = new Uint8Array(buf.subarray(4, 4 + size));
          buf = buf.subarray(4 + size);
          return out;
        },
        closed: (timeoutMs = 5000) => until(() => isClosed, timeoutMs),
        end: () => socket.destroy(),
      }));
    socket.once("error", reject);
  });
}

/** Builds a request frame: size, api key, version, correlation id, client id, then `body`. */
export function requestFrame(
  apiKey: number,
  version: number,
  correlationId: number,
  body: Uint8Array,
  flexible = false,
): Uint8Array {
  const clientId = Buffer.from("hostile");
  const header = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + (flexible ? 1 : 0));
  header.writeInt16BE(apiKey, 0);
  header.writeInt16BE(version, 2);
  header.writeInt32BE(correlationId, 4);
  header.writeInt16BE(clientId.length, 8);
  clientId.copy(header, 10);
  const size = Buffer.alloc(4);
  size.writeInt32BE(header.length + body.length);
  return new Uint8Array(Buffer.concat([size, header, body]));
}

/**
 * Sends a well-formed ApiVersions v0 request and checks the answer: the broker still serves
 * this connection (a bystander's, in the hostile-input tests).
 */
export async function assertServes(client: RawClient, correlationId = 7): Promise<void> {
  client.send(requestFrame(18, 0, correlationId, new Uint8Array(0)));
  const r = new Reader(await client.frame());
  assert.equal(r.int32(), correlationId);
  const res = decodeApiVersionsResponse(r, 0);
  assert.equal(res.errorCode, 0);
  assert.ok(res.apiKeys.some((k) => k.apiKey === 3));
}
