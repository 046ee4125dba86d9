/**
 * Where ACL bindings are kept: one document per binding in the storage's state (namespace
 * `acls`, keyed by the binding itself), so every engine keeps them and the brokers sharing a
 * PostgreSQL share them. Creating a binding that exists changes nothing, as in Kafka; two brokers
 * creating or deleting the same binding at once write the same document.
 *
 * {@link AclCache} gives the authorizer a snapshot that is reloaded from storage when it is older
 * than `kbin.acl.refresh.ms` and at once after a change made through this broker, so the brokers
 * of a cluster agree within that time.
 *
 * @module
 */

import type { Clock } from "../../ports.ts";
import type { StateStorage } from "../../storage/engine.ts";
import { Authorizer, type AuthorizerSettings } from "./authorizer.ts";
import { type AclBinding, type AclFilter, bindingError, bindingKey, compareBindings, filterMatches } from "./model.ts";

const NS = "acls";
/** Format of the documents: `{ v: 1, binding }`; a later reader keeps accepting v1. */
const FORMAT = 1;

function decode(text: string): AclBinding | null {
  try {
    const doc = JSON.parse(text) as { v?: number; binding?: AclBinding };
    if (doc.v !== FORMAT || !doc.binding) return null;
    const b = doc.binding;
    const binding: AclBinding = {
      resourceType: b.resourceType,
      resourceName: b.resourceName,
      patternType: b.patternType,
      principal: b.principal,
      host: b.host,
      operation: b.operation,
      permissionType: b.permissionType,
    };
    if (typeof binding.resourceName !== "string" || typeof binding.host !== "string") return null;
    if (typeof binding.principal !== "string") return null;
    return bindingError(binding) === null ? binding : null;
  } catch {
    return null;
  }
}

/** The ACL bindings in storage. */
export class AclStore {
  readonly #state: StateStorage;

  constructor(state: StateStorage) {
    this.#state = state;
  }

  /** Every binding, ordered by resource then entry (unreadable documents are skipped). */
  async list(): Promise<AclBinding[]> {
    const out: AclBinding[] = [];
    for (const [, text] of await this.#state.list(NS)) {
      const b = decode(text);
      if (b) out.push(b);
    }
    return out.sort(compareBindings);
  }

  /**
   * Stores bindings (valid ones; see `bindingError`); those that exist stay as they are.
   * @param bindings the bindings to create
   */
  async create(bindings: readonly AclBinding[]): Promise<void> {
    if (bindings.length === 0) return;
    const entries = new Map(bindings.map((b) => [bindingKey(b), JSON.stringify({ v: FORMAT, binding: b })]));
    await this.#state.put(NS, [...entries]);
  }

  /**
   * Deletes the bindings each filter matches.
   * @param filters valid filters (see `filterError`)
   * @returns per filter, the bindings it matched and which are now deleted
   */
  async delete(filters: readonly AclFilter[]): Promise<AclBinding[][]> {
    const all = await this.list();
    const matched = filters.map((f) => all.filter((b) => filterMatches(f, b)));
    const keys = new Set(matched.flat().map(bindingKey));
    if (keys.size > 0) await this.#state.put(NS, [...keys].map((k) => [k, null] as const));
    return matched;
  }
}

/** The ACL store and an authorizer over a recent snapshot of it. */
export class AclCache {
  readonly store: AclStore;
  readonly settings: AuthorizerSettings;
  readonly #refreshMs: number;
  readonly #clock: Clock;
  #current: Authorizer;
  #loadedAtMs = -Infinity;
  #loading: Promise<Authorizer> | null = null;
  /** Bumped by every local change, so that a load that began before it is not taken as fresh. */
  #generation = 0;

  /**
   * @param state the storage's documents
   * @param options the authorizer's settings, `kbin.acl.refresh.ms` and the clock
   */
  constructor(
    state: StateStorage,
    options: { settings: AuthorizerSettings; refreshMs: number; clock: Clock },
  ) {
    this.store = new AclStore(state);
    this.settings = options.settings;
    this.#refreshMs = options.refreshMs;
    this.#clock = options.clock;
    this.#current = new Authorizer(options.settings, []);
  }

  /**
   * An authorizer over the bindings as storage held them at most `kbin.acl.refresh.ms` ago (or
   * after this broker's last change). Without an authorizer configured, no storage is read.
   * @returns the authorizer
   */
  authorizer(): Promise<Authorizer> {
    if (!this.settings.enabled) return Promise.resolve(this.#current);
    if (this.#clock.now() - this.#loadedAtMs < this.#refreshMs) return Promise.resolve(this.#current);
    return this.#loading ??= this.#load().finally(() => (this.#loading = null));
  }

  async #load(): Promise<Authorizer> {
    const generation = this.#generation;
    const startedAtMs = this.#clock.now();
    const bindings = await this.store.list();
    const authorizer = new Authorizer(this.settings, bindings);
    if (generation === this.#generation) {
      this.#current = authorizer;
      this.#loadedAtMs = startedAtMs;
    }
    return authorizer;
  }

  /** Creates bindings; the next {@link authorizer} sees them. */
  async create(bindings: readonly AclBinding[]): Promise<void> {
    try {
      await this.store.create(bindings);
    } finally {
      this.#invalidate();
    }
  }

  /** Deletes what each filter matches; the next {@link authorizer} no longer sees it. */
  async delete(filters: readonly AclFilter[]): Promise<AclBinding[][]> {
    try {
      return await this.store.delete(filters);
    } finally {
      this.#invalidate();
    }
  }

  #invalidate(): void {
    this.#generation++;
    this.#loadedAtMs = -Infinity;
    this.#loading = null;
  }
}
