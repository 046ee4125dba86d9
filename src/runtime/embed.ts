/**
 * The embeddable broker: `startBroker()` runs kbin in-process on Bun or Deno, for the tests of
 * other projects. Unless a storage URL or data directory is given, everything is kept in memory
 * (`memory:`).
 *
 * @module
 */

import { BrokerConfig } from "../broker/config.ts";
import { createLogger, type LogLevelName } from "../broker/logger.ts";
import type { Runtime } from "../ports.ts";
import { startKafkaBroker } from "../server/start.ts";

/** Options for {@link startBroker}. */
export interface StartBrokerOptions {
  /** Keep data here (short for `storage: "file:DIR"`). */
  dataDir?: string;
  /** Storage URL: `memory:` (the default), `file:DIR` or `postgres://…`. */
  storage?: string;
  /** "host:port" to listen on (default 127.0.0.1:0, a free port). */
  listen?: string;
  /** Broker settings by Kafka name, e.g. `{ "num.partitions": "3" }`. */
  config?: Record<string, string>;
  /** Log level for lines written to stderr (default "warn"). */
  logLevel?: LogLevelName;
  /**
   * Serve the HTTP plane (/healthz, /readyz, /metrics): `true` on 127.0.0.1 at a free port, or
   * "host:port". The URL is {@link EmbeddedBroker.httpUrl}. Off by default.
   */
  http?: boolean | string;
}

/** A running embedded broker. */
export interface EmbeddedBroker {
  /** "host:port" to give to clients. */
  readonly bootstrap: string;
  readonly port: number;
  /** Every listener (configured with `listeners`), with the port it is bound to. */
  readonly listeners: readonly { name: string; securityProtocol: string; host: string; port: number }[];
  /** The storage URL it keeps its state in (`memory:` unless one was given). */
  readonly storage: string;
  /** The HTTP plane's base URL (`http://127.0.0.1:PORT`), or null unless `http` was asked for. */
  readonly httpUrl: string | null;
  /** Stops the broker gracefully. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

async function detectRuntime(): Promise<Runtime> {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  // Computed specifiers keep each runtime's adapter out of the other's type-check and bundle.
  const load = (name: string) => import([".", name, "runtime.ts"].join("/")) as Promise<Record<string, Runtime>>;
  if (g.Bun !== undefined) return (await load("bun"))["bunRuntime"]!;
  if (g.Deno !== undefined) return (await load("deno"))["denoRuntime"]!;
  throw new TypeError("Cannot start kbin: it needs Bun or Deno");
}

/**
 * Starts a broker in this process.
 * @example
 * await using broker = await startBroker();
 * // point a Kafka client at broker.bootstrap
 */
export async function startBroker(options: StartBrokerOptions = {}): Promise<EmbeddedBroker> {
  const runtime = await detectRuntime();
  const settings: [string, string][] = [["listeners", `PLAINTEXT://${options.listen ?? "127.0.0.1:0"}`]];
  if (options.http !== undefined && options.http !== false) {
    settings.push(["kbin.http.listeners", `http://${options.http === true ? "127.0.0.1:0" : options.http}`]);
  }
  for (const [k, v] of Object.entries(options.config ?? {})) settings.push([k, v]);
  const config = new BrokerConfig(settings);
  const logger = createLogger((line) => console.error(line), { level: options.logLevel ?? "warn" });
  const storage = options.storage ?? (options.dataDir !== undefined ? `file:${options.dataDir}` : "memory:");
  const running = await startKafkaBroker({
    runtime,
    config,
    logger,
    storage,
    http: async (state) => {
      // Loaded only when kbin.http.listeners is set: Hono stays off the start-up path otherwise.
      const { createHttpApp, httpHandler } = await import("../http/app.ts");
      return httpHandler(createHttpApp(state));
    },
  });
  return {
    bootstrap: running.bootstrap,
    port: running.server.port,
    listeners: running.listeners,
    storage,
    httpUrl: running.httpUrl,
    close: () => running.close(),
    [Symbol.asyncDispose]: () => running.close(),
  };
}
