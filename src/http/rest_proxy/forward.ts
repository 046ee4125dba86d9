/**
 * Forwarding produced records to the broker that leads their partition (several brokers on
 * PostgreSQL). The proxy's in-process connections reach only its own broker, so records for a
 * partition another broker leads go to that broker's HTTP listener instead: one v3 streaming
 * produce request per leader and batch (`POST /v3/clusters/{c}/topics/{t}/records`, the records
 * concatenated, each with its `partition_id`, key, value and headers as BINARY), carrying the
 * caller's `Authorization` header (users are shared by the cluster's brokers, so the leader
 * authenticates the same principal and applies its ACLs) and `x-kbin-forwarded` (the leader
 * does not forward again: a partition it no longer leads is answered 50003). The leader's answers
 * map back to the records in order; a forwarding failure answers 50003 for each record.
 *
 * @module
 */

import { toBase64 } from "../../protocol/sasl/crypto.ts";
import { RestCode, RestError } from "./errors.ts";
import type { ConvertedRecord } from "./records.ts";

/** A header set on forwarded requests, so a request is forwarded once at most. */
export const FORWARDED_HEADER = "x-kbin-forwarded";

/** How the proxy reaches the cluster's other brokers. */
export interface Peers {
  /** The base URL (`http://host:port`) of a broker's HTTP listener, or null when it has none. */
  httpUrlOf(nodeId: number): string | null;
  /** What requests are forwarded with (`fetch`). */
  fetch(url: string, init: RequestInit): Promise<Response>;
}

/** A record's outcome (as {@link import("./produce.ts").Delivery}). */
export type ForwardedDelivery =
  | { ok: true; partition: number; offset: bigint; timestampMs: bigint }
  | { ok: false; error: RestError };

interface Item {
  line: string;
  partition: number;
  timestampMs: bigint;
  resolve(d: ForwardedDelivery): void;
}

/** A forwarded request's whole wait (the leader answers once its records are written). */
const FORWARD_TIMEOUT_MS = 60_000;

/** One HTTP request's records for other leaders, batched per leader. */
export class Forwarder {
  readonly #peers: Peers;
  readonly #path: string;
  readonly #topic: string;
  readonly #headers: Headers;
  readonly #buffered = new Map<number, Item[]>();
  /** Per leader, the request in flight: the next one waits, so a partition's records keep their order. */
  readonly #chains = new Map<number, Promise<void>>();

  /**
   * @param peers how to reach the other brokers
   * @param options the cluster and topic, the caller's Authorization header and this broker's id
   */
  constructor(
    peers: Peers,
    options: { clusterId: string; topic: string; authorization: string | undefined; nodeId: number },
  ) {
    this.#peers = peers;
    this.#topic = options.topic;
    this.#path = `/v3/clusters/${encodeURIComponent(options.clusterId)}/topics/${
      encodeURIComponent(options.topic)
    }/records`;
    this.#headers = new Headers({ "content-type": "application/json", [FORWARDED_HEADER]: String(options.nodeId) });
    if (options.authorization) this.#headers.set("authorization", options.authorization);
  }

  /** Buffers a record for its partition's leader; it is sent by the next {@link flush}. */
  add(leader: number, partition: number, record: ConvertedRecord): Promise<ForwardedDelivery> {
    const body: Record<string, unknown> = { partition_id: partition };
    if (record.key !== null) body["key"] = { type: "BINARY", data: toBase64(record.key) };
    if (record.value !== null) body["value"] = { type: "BINARY", data: toBase64(record.value) };
    if (record.headers.length > 0) {
      body["headers"] = record.headers.map((h) => ({
        name: h.key,
        value: h.value === null ? null : toBase64(h.value),
      }));
    }
    const timestampMs = record.timestamp ?? -1n;
    if (timestampMs >= 0n) body["timestamp"] = new Date(Number(timestampMs)).toISOString();
    return new Promise((resolve) => {
      let items = this.#buffered.get(leader);
      if (items === undefined) this.#buffered.set(leader, items = []);
      items.push({ line: JSON.stringify(body), partition, timestampMs, resolve });
    });
  }

  /** Sends what is buffered: one request per leader, after that leader's previous one. */
  flush(): void {
    for (const [leader, items] of this.#buffered) {
      const previous = this.#chains.get(leader) ?? Promise.resolve();
      const next = previous.then(() => this.#send(leader, items));
      this.#chains.set(leader, next);
    }
    this.#buffered.clear();
  }

  async #send(leader: number, items: Item[]): Promise<void> {
    const fail = (message: string) => {
      const error = new RestError(RestCode.KAFKA_RETRIABLE_ERROR, message);
      for (const item of items) item.resolve({ ok: false, error });
    };
    const base = this.#peers.httpUrlOf(leader);
    const what = `partition ${items[0]!.partition} of "${this.#topic}"`;
    if (base === null) {
      fail(`Cannot forward records to broker ${leader}, the leader of ${what}: it has no HTTP listener`);
      return;
    }
    let text: string;
    let status: number;
    try {
      const res = await this.#peers.fetch(base + this.#path, {
        method: "POST",
        headers: this.#headers,
        body: items.map((i) => i.line).join("\n"),
        signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
      });
      status = res.status;
      text = await res.text();
    } catch (err) {
      fail(`Error while forwarding records to broker ${leader}, the leader of ${what}: ${(err as Error).message}`);
      return;
    }
    if (status !== 200) {
      // The leader refused the whole request (authentication, unknown topic): its error answers.
      const e = restErrorOf(parse(text));
      if (e !== null && e.errorCode === RestCode.TOPIC_NOT_FOUND) {
        // This broker knows the topic: the leader has not seen it yet (or it was just deleted).
        fail(`Broker ${leader}, the leader of ${what}, does not know the topic yet: ${e.message}`);
      } else if (e !== null) {
        const error = new RestError(e.errorCode, e.message);
        for (const item of items) item.resolve({ ok: false, error });
      } else fail(`Broker ${leader}, the leader of ${what}, answered HTTP ${status} to forwarded records`);
      return;
    }
    const answers = text.split(/\r?\n/).filter((l) => l.trim() !== "").map(parse);
    for (const [i, item] of items.entries()) {
      const a = answers[i];
      if (a === undefined) {
        item.resolve({
          ok: false,
          error: new RestError(
            RestCode.KAFKA_RETRIABLE_ERROR,
            `Broker ${leader}, the leader of ${what}, answered ${answers.length} of ${items.length} forwarded records`,
          ),
        });
        continue;
      }
      if (a["error_code"] === 200 && typeof a["partition_id"] === "number" && typeof a["offset"] === "number") {
        const ts = typeof a["timestamp"] === "string" ? Date.parse(a["timestamp"]) : NaN;
        item.resolve({
          ok: true,
          partition: a["partition_id"],
          offset: BigInt(a["offset"]),
          timestampMs: Number.isNaN(ts) ? item.timestampMs : BigInt(ts),
        });
        continue;
      }
      const e = restErrorOf(a);
      item.resolve({
        ok: false,
        error: e !== null ? new RestError(e.errorCode, e.message) : new RestError(
          RestCode.KAFKA_RETRIABLE_ERROR,
          `Broker ${leader}, the leader of ${what}, answered a forwarded record with ${JSON.stringify(a)}`,
        ),
      });
    }
  }
}

function parse(text: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text);
    return typeof v === "object" && v !== null && !Array.isArray(v) ? v : {};
  } catch {
    return {};
  }
}

function restErrorOf(a: Record<string, unknown>): { errorCode: number; message: string } | null {
  const code = a["error_code"];
  const message = a["message"];
  if (typeof code !== "number" || code === 200 || typeof message !== "string") return null;
  return { errorCode: code, message };
}
