/**
 * The broker: configuration, metadata store and handler registry, shared by every
 * connection. It owns no sockets; `src/server` feeds it frames through the {@link Dispatcher}.
 *
 * @module
 */

import type { Clock, Logger } from "../ports.ts";
import type { MetadataStore } from "../storage/metadata_store.ts";
import type { BrokerConfig } from "./config.ts";
import { Dispatcher } from "./dispatcher.ts";
import { ALL_HANDLERS } from "./handlers/mod.ts";
import { HandlerRegistry } from "./registry.ts";

/** Options for {@link Broker}. */
export interface BrokerOptions {
  config: BrokerConfig;
  store: MetadataStore;
  logger: Logger;
  clock: Clock;
}

/** Shared broker state. */
export class Broker {
  readonly config: BrokerConfig;
  readonly store: MetadataStore;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly nodeId: number;
  readonly clusterId: string;
  readonly handlers: HandlerRegistry;
  readonly dispatcher: Dispatcher;
  /** Address clients are told to connect to (set once the listener is bound). */
  advertised: { host: string; port: number } = { host: "localhost", port: 9092 };

  constructor(options: BrokerOptions) {
    this.config = options.config;
    this.store = options.store;
    this.logger = options.logger;
    this.clock = options.clock;
    this.nodeId = options.config.number("node.id");
    this.clusterId = options.store.clusterId();
    this.handlers = new HandlerRegistry(ALL_HANDLERS);
    this.dispatcher = new Dispatcher(this);
  }
}
