/**
 * A TCP relay between real clients and a broker that writes down what each client sent: API key,
 * version and client id of every request frame. Start it first, give its address to the broker as
 * `--advertised` (so Metadata and FindCoordinator send clients back through it), then point it at
 * the broker. The bytes pass through untouched; only the client-to-broker direction is read.
 *
 * @module
 */

import { createConnection, createServer, type Server, type Socket } from "node:net";
import { APIS } from "../../../src/protocol/generated/api_keys.ts";
import { type BrokerProcess, startBrokerProcess } from "../../support/broker_process.ts";

/** One request frame a client sent. */
export interface SeenRequest {
  /** The API's name as in Kafka's specs ("OffsetCommit"), or `key N` for an unknown key. */
  api: string;
  apiKey: number;
  version: number;
  /** The request header's client id (null when the client sent none). */
  clientId: string | null;
}

/** A running relay; see {@link startWireTap}. */
export interface WireTap extends AsyncDisposable {
  /** `127.0.0.1:port`, for the broker's `--advertised`. */
  readonly address: string;
  /** Where connections go from now on (connections that arrive before this are refused). */
  forwardTo(host: string, port: number): void;
  /** Every request seen so far, in arrival order per connection. */
  requests(): readonly SeenRequest[];
  /** The distinct versions of `api` that clients whose id matches `clientId` sent, sorted. */
  versions(api: string, clientId?: string | RegExp): number[];
  /** One line per client id and API: `client-id Api: v1,v2`, for a failure message or a log. */
  summary(): string;
}

/** Reads frames off one client's byte stream and reports each request header. */
function frameReader(onRequest: (r: SeenRequest) => void): (chunk: Buffer) => void {
  let chunks: Buffer[] = [];
  let buffered = 0;
  return (chunk) => {
    chunks.push(chunk);
    buffered += chunk.length;
    for (;;) {
      if (buffered < 4) return;
      if (chunks[0]!.length < 4) chunks = [Buffer.concat(chunks)];
      const size = chunks[0]!.readInt32BE(0);
      if (buffered < 4 + size) return; // copy a large frame once, when it is complete
      const buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      // Header v1+ (every request here): api key, version, correlation id, nullable client id.
      const apiKey = buf.readInt16BE(4);
      const version = buf.readInt16BE(6);
      const idLength = size >= 10 ? buf.readInt16BE(12) : -1;
      const clientId = idLength >= 0 ? buf.toString("utf8", 14, 14 + idLength) : null;
      onRequest({ api: APIS.get(apiKey)?.name ?? `key ${apiKey}`, apiKey, version, clientId });
      const rest = buf.subarray(4 + size);
      chunks = rest.length > 0 ? [rest] : [];
      buffered = rest.length;
    }
  };
}

/** Starts a relay on 127.0.0.1 with a free port. */
export async function startWireTap(): Promise<WireTap> {
  let target: { host: string; port: number } | null = null;
  const seen: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (target === null) return void client.destroy();
    const upstream = createConnection(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    }
    const read = frameReader((r) => seen.push(r));
    client.on("data", read);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.end());
    upstream.on("close", () => client.end());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    forwardTo(host, p) {
      target = { host, port: p };
    },
    requests: () => seen,
    versions(api, clientId) {
      const match = (id: string | null) =>
        clientId === undefined ||
        (typeof clientId === "string" ? id === clientId : id !== null && clientId.test(id));
      const vs = seen.filter((r) => r.api === api && match(r.clientId)).map((r) => r.version);
      return [...new Set(vs)].sort((a, b) => a - b);
    },
    summary() {
      const seenBy = new Map<string, Set<number>>();
      for (const r of seen) {
        const key = `${r.clientId} ${r.api}`;
        seenBy.set(key, (seenBy.get(key) ?? new Set()).add(r.version));
      }
      return [...seenBy].map(([k, v]) => `${k}: ${[...v].sort((a, b) => a - b).join(",")}`).sort().join("\n");
    },
    async [Symbol.asyncDispose]() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Starts a broker behind a {@link WireTap}: the broker advertises the tap's address, so every
 * client (and kbin's CLI, through `broker.bootstrap`) reaches it through the tap.
 */
export async function startTappedBroker(args: string[] = []): Promise<{ broker: BrokerProcess; tap: WireTap }> {
  const tap = await startWireTap();
  try {
    const broker = await startBrokerProcess({ args: ["--advertised", tap.address, ...args] });
    tap.forwardTo(broker.host, broker.port);
    return { broker, tap };
  } catch (err) {
    await tap[Symbol.asyncDispose]();
    throw err;
  }
}
