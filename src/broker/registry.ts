/**
 * Handlers declare the API versions they serve; the registry is the one source of truth for
 * ApiVersions and for refusing out-of-window requests.
 *
 * What a broker advertises is each handler's window, narrowed twice: a version the spec marks
 * unstable (`latestVersionUnstable`) is left out unless `unstable.api.versions.enable` is on, as
 * in Kafka; and with version emulation (`kbin.emulate.kafka.version`) every window is cut to what
 * that Kafka release advertised, APIs it did not have are left out, and versions it advertised but
 * refused (Kafka 4.x Produce v0–v2) are refused too.
 *
 * @module
 */

import type { ApiDescriptor } from "../protocol/generated/api_keys.ts";
import type { RequestHeader } from "../protocol/generated/headers.ts";
import type { Input } from "../protocol/types.ts";
import type { ConnState } from "./conn_state.ts";
import type { BrokerContext } from "./context.ts";
import type { ReleaseApi } from "./kafka_releases.ts";

/** What a handler sees besides the decoded request. */
export interface RequestContext {
  readonly broker: BrokerContext;
  readonly header: RequestHeader;
  readonly version: number;
  readonly conn: ConnState;
  /**
   * Lets the connection process its next request while this one finishes; call it once the
   * request's order-sensitive effects are done (Produce: every batch has its offsets).
   */
  readonly release: () => void;
  /**
   * Whether the connection's principal may perform `operation` on a resource (ACLs; always true
   * without an authorizer). Codes: `acl/model.ts` (AclOperation, ResourceType).
   */
  readonly allowed: (operation: number, resourceType: number, resourceName: string) => boolean;
  /**
   * Whether the principal may perform `operation` on some resource of a type (Kafka's
   * `authorizeByResourceType`; always true without an authorizer). Refusals are not logged.
   */
  readonly allowedOnAny: (operation: number, resourceType: number) => boolean;
}

/** A handler for one API key. `handle` returns null for "send no response" (acks=0). */
export interface Handler<Req = any, Res = any> {
  readonly api: ApiDescriptor<Req, Res>;
  readonly minVersion: number;
  readonly maxVersion: number;
  handle(request: Req, ctx: RequestContext): Promise<Input<Res> | null> | Input<Res> | null;
}

/**
 * Declares a handler.
 * @example
 * export default defineHandler(METADATA_API, { minVersion: 0, maxVersion: 13, handle(req, ctx) { … } });
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

/** The versions of one API a broker advertises and accepts. */
export interface VersionWindow {
  readonly minVersion: number;
  readonly maxVersion: number;
  /** Advertised but refused when used (an emulated Kafka 4.x's Produce v0–v2, KAFKA-18659). */
  readonly refused?: readonly [number, number];
}

/** Whether `version` is advertised by `window` and not refused. */
export function inWindow(window: VersionWindow, version: number): boolean {
  if (version < window.minVersion || version > window.maxVersion) return false;
  const refused = window.refused;
  return !(refused && version >= refused[0] && version <= refused[1]);
}

/** How a registry narrows its handlers' windows. */
export interface RegistryOptions {
  /** Advertise versions the spec marks unstable (`unstable.api.versions.enable`). */
  unstableVersions?: boolean;
  /** What an emulated Kafka release advertised, by API key (`kbin.emulate.kafka.version`). */
  emulate?: ReadonlyMap<number, ReleaseApi>;
  /** The emulated release's name, for logs ("2.8"). */
  emulatedRelease?: string;
}

/** The set of handlers one broker serves. */
export class HandlerRegistry {
  readonly #byKey = new Map<number, Handler>();
  /** The APIs this broker serves: handler and advertised window, one lookup per request. */
  readonly #served = new Map<number, { handler: Handler; window: VersionWindow }>();
  readonly #options: RegistryOptions;

  constructor(handlers: readonly Handler[] = [], options: RegistryOptions = {}) {
    this.#options = options;
    for (const h of handlers) this.register(h);
  }

  register(handler: Handler): void {
    if (this.#byKey.has(handler.api.apiKey)) {
      throw new RangeError(`Cannot register handler for ${handler.api.name}: key ${handler.api.apiKey} is taken`);
    }
    this.#byKey.set(handler.api.apiKey, handler);
    const window = this.#window(handler);
    if (window) this.#served.set(handler.api.apiKey, { handler, window });
  }

  #window(h: Handler): VersionWindow | null {
    let min = h.minVersion;
    let max = h.maxVersion;
    if (h.api.latestVersionUnstable && !this.#options.unstableVersions) max = Math.min(max, h.api.maxVersion - 1);
    const emulate = this.#options.emulate;
    let refused: readonly [number, number] | undefined;
    if (emulate) {
      const release = emulate.get(h.api.apiKey);
      if (!release) return null;
      min = Math.max(min, release.minVersion);
      max = Math.min(max, release.maxVersion);
      refused = release.refusedVersions;
    }
    if (min > max) return null;
    return refused ? { minVersion: min, maxVersion: max, refused } : { minVersion: min, maxVersion: max };
  }

  /** The handler and advertised window of an API key, or undefined when the API is not served. */
  served(apiKey: number): { handler: Handler; window: VersionWindow } | undefined {
    return this.#served.get(apiKey);
  }

  /** The advertised window of an API key, or undefined when the API is not served. */
  window(apiKey: number): VersionWindow | undefined {
    return this.#served.get(apiKey)?.window;
  }

  /** Whether a request of this API key and version is served. */
  accepts(apiKey: number, version: number): boolean {
    const w = this.#served.get(apiKey)?.window;
    return w !== undefined && inWindow(w, version);
  }

  /** The Kafka release being emulated, or null. */
  get emulatedRelease(): string | null {
    return this.#options.emulatedRelease ?? null;
  }

  /** Advertised version ranges, sorted by API key. */
  versions(): { apiKey: number; minVersion: number; maxVersion: number }[] {
    return [...this.#served.entries()]
      .sort(([a], [b]) => a - b)
      .map(([apiKey, { window: w }]) => ({ apiKey, minVersion: w.minVersion, maxVersion: w.maxVersion }));
  }
}
