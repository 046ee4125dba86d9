/**
 * One client connection to a Kafka broker: correlates pipelined requests with responses and
 * negotiates API versions with ApiVersions, as every Kafka client does.
 *
 * @module
 */

import type { ApiDescriptor } from "../protocol/generated/api_keys.ts";
import { API_VERSIONS_API, type ApiVersionsResponse } from "../protocol/generated/18_api_versions.ts";
import { decodeResponseHeader, encodeRequestHeader } from "../protocol/generated/headers.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import { Reader } from "../protocol/reader.ts";
import type { Input } from "../protocol/types.ts";
import { Writer } from "../protocol/writer.ts";
import type { Conn, ConnectFn, TlsClientOptions } from "../ports.ts";
import { SASL_HANDSHAKE_API } from "../protocol/generated/17_sasl_handshake.ts";
import { SASL_AUTHENTICATE_API } from "../protocol/generated/36_sasl_authenticate.ts";
import { ScramClient } from "../protocol/sasl/scram.ts";
import { FrameSplitter } from "../protocol/frames.ts";
import { KafkaClientError } from "./errors.ts";

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  api: ApiDescriptor<unknown, unknown>;
  version: number;
  timer: ReturnType<typeof setTimeout>;
}

/** SASL credentials for a SASL_PLAINTEXT or SASL_SSL listener. */
export interface SaslOptions {
  mechanism: "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512";
  username: string;
  password: string;
}

/** Options for {@link KafkaConnection.open}. */
export interface ConnectionOptions {
  connect: ConnectFn;
  clientId?: string;
  requestTimeoutMs?: number;
  /** TLS (SSL and SASL_SSL listeners). */
  tls?: TlsClientOptions;
  /** SASL authentication right after ApiVersions (SASL_PLAINTEXT and SASL_SSL listeners). */
  sasl?: SaslOptions;
}

const CLIENT_SOFTWARE_NAME = "kbin";
const CLIENT_SOFTWARE_VERSION = "0.1.0";

/** A negotiated connection to one broker. */
/**
 * Versions above which this client's code would have to change: the ones that name topics by id
 * (Produce v13, OffsetCommit/OffsetFetch v10), add a top-level Metadata error (v13) or answer an
 * unknown group with GROUP_ID_NOT_FOUND instead of Dead (DescribeGroups v6).
 */
const CLIENT_MAX_VERSIONS: ReadonlyMap<number, number> = new Map([
  [0, 12],
  [3, 12],
  [8, 9],
  [9, 9],
  [15, 5],
]);

/**
 * The highest version of `api` this client sends.
 * @param api the API
 * @returns the codec's maximum, or lower where the client was not written for newer versions
 */
export function clientMaxVersion(api: ApiDescriptor<unknown, unknown>): number {
  return Math.min(api.maxVersion, CLIENT_MAX_VERSIONS.get(api.apiKey) ?? api.maxVersion);
}

export class KafkaConnection {
  readonly address: string;
  readonly #conn: Conn;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #pending = new Map<number, Pending>();
  readonly #clientId: string;
  readonly #timeoutMs: number;
  #nextCorrelationId = 1;
  #closed: Error | null = null;
  /** Broker-supported version ranges by API key, after {@link negotiate}. */
  versions = new Map<number, { min: number; max: number }>();

  private constructor(conn: Conn, address: string, options: ConnectionOptions) {
    this.#conn = conn;
    this.address = address;
    this.#writer = conn.writable.getWriter();
    this.#clientId = options.clientId ?? "kbin-cli";
    this.#timeoutMs = options.requestTimeoutMs ?? 30000;
    this.#readLoop();
  }

  /** Connects and negotiates versions with ApiVersions. */
  static async open(host: string, port: number, options: ConnectionOptions): Promise<KafkaConnection> {
    let conn: Conn;
    try {
      conn = await options.connect({ host, port, ...(options.tls ? { tls: options.tls } : {}) });
    } catch (err) {
      throw new KafkaClientError(`Cannot connect to ${host}:${port}: ${(err as Error).message}`, { code: null });
    }
    const c = new KafkaConnection(conn, `${host}:${port}`, options);
    try {
      await c.#negotiate();
      if (options.sasl) await c.#authenticate(options.sasl);
    } catch (err) {
      c.close();
      throw err;
    }
    return c;
  }

  /** SaslHandshake v1, then SaslAuthenticate until the mechanism is done. */
  async #authenticate(sasl: SaslOptions): Promise<void> {
    const fail = (code: number | null, why: string) =>
      new KafkaClientError(
        `Cannot authenticate to ${this.address} as ${sasl.username} with ${sasl.mechanism}: ${why}`,
        {
          code,
        },
      );
    const hs = await this.request(SASL_HANDSHAKE_API, 1, { mechanism: sasl.mechanism });
    if (hs.errorCode !== ErrorCode.NONE) {
      throw fail(hs.errorCode, `the broker offers ${hs.mechanisms.join(", ") || "no mechanism"}`);
    }
    const send = async (authBytes: Uint8Array) => {
      const r = await this.request(SASL_AUTHENTICATE_API, 1, { authBytes });
      if (r.errorCode !== ErrorCode.NONE) throw fail(r.errorCode, r.errorMessage ?? "refused");
      return r.authBytes;
    };
    if (sasl.mechanism === "PLAIN") {
      await send(new TextEncoder().encode(`\u0000${sasl.username}\u0000${sasl.password}`));
      return;
    }
    const scram = new ScramClient(sasl.mechanism, sasl.username, sasl.password);
    const serverFirst = await send(scram.first());
    const serverFinal = await send(await scram.final(serverFirst));
    if (!scram.verifyServer(serverFinal)) throw fail(null, "the broker's SCRAM signature does not verify");
  }

  async #negotiate(): Promise<void> {
    let res: ApiVersionsResponse = await this.request(API_VERSIONS_API, 3, {
      clientSoftwareName: CLIENT_SOFTWARE_NAME,
      clientSoftwareVersion: CLIENT_SOFTWARE_VERSION,
    });
    if (res.errorCode === ErrorCode.UNSUPPORTED_VERSION) {
      res = await this.request(API_VERSIONS_API, 0, {});
    }
    if (res.errorCode !== ErrorCode.NONE) {
      throw new KafkaClientError(`ApiVersions failed on ${this.address}`, { code: res.errorCode });
    }
    for (const k of res.apiKeys) this.versions.set(k.apiKey, { min: k.minVersion, max: k.maxVersion });
  }

  /**
   * Highest version both sides support, or null when there is none.
   * @param api the API
   * @param maxVersion an upper bound the caller needs (defaults to the codec's maximum)
   */
  pickVersion(
    api: ApiDescriptor<unknown, unknown>,
    maxVersion = api.maxVersion,
    minVersion = api.minVersion,
  ): number | null {
    const theirs = this.versions.get(api.apiKey);
    if (!theirs) return null;
    const v = Math.min(theirs.max, maxVersion, clientMaxVersion(api));
    return v >= Math.max(theirs.min, minVersion) ? v : null;
  }

  /** True once the socket failed or was closed: every request is rejected from then on. */
  get closed(): boolean {
    return this.#closed !== null;
  }

  /** Sends one request and resolves with the decoded response body. */
  request<Req, Res>(api: ApiDescriptor<Req, Res>, version: number, body: Input<Req>): Promise<Res> {
    if (this.#closed) return Promise.reject(this.#closed);
    const correlationId = this.#nextCorrelationId++;
    const w = new Writer();
    w.int32(0);
    encodeRequestHeader(w, api.requestHeaderVersion(version), {
      requestApiKey: api.apiKey,
      requestApiVersion: version,
      correlationId,
      clientId: this.#clientId,
    });
    api.encodeRequest(w, version, body);
    const chunks = w.chunks();
    new DataView(chunks[0]!.buffer, chunks[0]!.byteOffset).setInt32(0, w.length - 4);
    return new Promise<Res>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(correlationId);
        reject(
          new KafkaClientError(
            `Request ${api.name} v${version} to ${this.address} timed out after ${this.#timeoutMs} ms`,
            { code: ErrorCode.REQUEST_TIMED_OUT },
          ),
        );
      }, this.#timeoutMs);
      this.#pending.set(correlationId, {
        resolve: resolve as (v: unknown) => void,
        reject,
        api: api as ApiDescriptor<unknown, unknown>,
        version,
        timer,
      });
      for (const c of chunks) this.#writer.write(c).catch((err) => this.#fail(err as Error));
    });
  }

  async #readLoop(): Promise<void> {
    const reader = this.#conn.readable.getReader();
    const splitter = new FrameSplitter(2 ** 31 - 1);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const ev of splitter.push(value)) {
          if ("error" in ev) throw new Error(ev.error);
          const r = new Reader(ev.frame);
          const correlationId = r.int32();
          const p = this.#pending.get(correlationId);
          if (!p) continue;
          this.#pending.delete(correlationId);
          clearTimeout(p.timer);
          try {
            r.offset = 0;
            decodeResponseHeader(r, p.api.responseHeaderVersion(p.version));
            const body = r.offset;
            try {
              p.resolve(p.api.decodeResponse(r, p.version));
            } catch (err) {
              // A broker that does not know this ApiVersions version answers at v0 with
              // UNSUPPORTED_VERSION (KIP-511), as Kafka's clients expect.
              if (p.api.apiKey !== API_VERSIONS_API.apiKey || p.version === 0) throw err;
              r.offset = body;
              p.resolve(p.api.decodeResponse(r, 0));
            }
          } catch (err) {
            p.reject(
              new KafkaClientError(
                `Cannot decode ${p.api.name} v${p.version} response from ${this.address}: ${(err as Error).message}`,
                { code: null },
              ),
            );
          }
        }
      }
      this.#fail(new KafkaClientError(`Connection to ${this.address} closed by the broker`, { code: null }));
    } catch (err) {
      this.#fail(err as Error);
    }
  }

  #fail(err: Error): void {
    if (!this.#closed) {
      this.#closed = err instanceof KafkaClientError
        ? err
        : new KafkaClientError(`Connection to ${this.address} failed: ${err.message}`, { code: null });
    }
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(this.#closed);
    }
    this.#pending.clear();
  }

  /** Closes the socket; pending requests are rejected. */
  close(): void {
    this.#fail(new KafkaClientError(`Connection to ${this.address} was closed`, { code: null }));
    this.#writer.close().catch(() => {});
    this.#conn.close();
  }
}
