/**
 * Handlers declare the API versions they serve; the registry is the one source of truth for
 * ApiVersions and for refusing out-of-window requests.
 *
 * @module
 */

import type { ApiDescriptor } from "../protocol/generated/api_keys.ts";
import type { RequestHeader } from "../protocol/generated/headers.ts";
import type { Input } from "../protocol/types.ts";
import type { ConnState } from "./conn_state.ts";
import type { Broker } from "./broker.ts";

/** What a handler sees besides the decoded request. */
export interface RequestContext {
  readonly broker: Broker;
  readonly header: RequestHeader;
  readonly version: number;
  readonly conn: ConnState;
  /**
   * Lets the connection process its next request while this one finishes; call it once the
   * request's order-sensitive effects are done (Produce: every batch has its offsets).
   */
  readonly release: () => void;
}

/** A handler for one API key. `handle` returns null for "send no response" (acks=0). */
export interface Handler<Req = any, Res = any> {
  readonly api: ApiDescriptor<Req, Res>;
  readonly minVersion: number;
  readonly maxVersion: number;
  /**
   * Versions advertised in ApiVersions but refused when used (Kafka 4.0 advertises Produce v0
   * so that librdkafka enables compression, see KAFKA-18659).
   */
  readonly refusedVersions?: readonly [number, number];
  handle(request: Req, ctx: RequestContext): Promise<Input<Res> | null> | Input<Res> | null;
}

/**
 * Declares a handler.
 * @example
 * export default defineHandler(METADATA_API, { minVersion: 0, maxVersion: 12, handle(req, ctx) { … } });
 */
export function defineHandler<Req, Res>(
  api: ApiDescriptor<Req, Res>,
  definition: Omit<Handler<Req, Res>, "api">,
): Handler<Req, Res> {
  if (definition.minVersion < api.minVersion || definition.maxVersion > api.maxVersion) {
    throw new RangeError(
      `Cannot define handler for ${api.name}: versions ${definition.minVersion}-${definition.maxVersion} exceed the spec's ${api.minVersion}-${api.maxVersion}`,
    );
  }
  return { api, ...definition };
}

/** The set of handlers one broker serves. */
export class HandlerRegistry {
  readonly #byKey = new Map<number, Handler>();

  constructor(handlers: readonly Handler[] = []) {
    for (const h of handlers) this.register(h);
  }

  register(handler: Handler): void {
    if (this.#byKey.has(handler.api.apiKey)) {
      throw new RangeError(`Cannot register handler for ${handler.api.name}: key ${handler.api.apiKey} is taken`);
    }
    this.#byKey.set(handler.api.apiKey, handler);
  }

  get(apiKey: number): Handler | undefined {
    return this.#byKey.get(apiKey);
  }

  /** Advertised version ranges, sorted by API key. */
  versions(): { apiKey: number; minVersion: number; maxVersion: number }[] {
    return [...this.#byKey.values()]
      .sort((a, b) => a.api.apiKey - b.api.apiKey)
      .map((h) => ({ apiKey: h.api.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion }));
  }
}
