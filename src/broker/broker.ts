/**
 * The broker: configuration, metadata store, partition logs, codecs and the handler registry,
 * shared by every connection. It owns no sockets; `src/server` feeds it frames through the
 * {@link Dispatcher}.
 *
 * @module
 */

import type { Codecs } from "../protocol/compression/mod.ts";
import type { Clock, Logger } from "../ports.ts";
import type { LogManager } from "../storage/log/log_manager.ts";
import type { PartitionLog } from "../storage/log/partition_log.ts";
import type { MetadataStore, Topic } from "../storage/metadata_store.ts";
import { type BrokerConfig, ConfigError } from "./config.ts";
import { Dispatcher } from "./dispatcher.ts";
import { FetchSessionCache } from "./fetch_sessions.ts";
import type { GroupCoordinator } from "./group/coordinator.ts";
import { ALL_HANDLERS } from "./handlers/mod.ts";
import { parseKafkaRelease, releaseApiVersions } from "./kafka_releases.ts";
import { HandlerRegistry, type RegistryOptions } from "./registry.ts";
import { RequestTotals } from "./request_counts.ts";
import type { TopicPolicies } from "./topic_policy.ts";

/** Options for {@link Broker}. */
export interface BrokerOptions {
  config: BrokerConfig;
  store: MetadataStore;
  logs: LogManager;
  codecs: Codecs;
  policies: TopicPolicies;
  groups: GroupCoordinator;
  logger: Logger;
  clock: Clock;
}

/** Hands out producer ids from blocks reserved in the metadata store. */
class ProducerIds {
  static readonly BLOCK = 1000;
  readonly #store: MetadataStore;
  #next = 0;
  #end = 0;

  constructor(store: MetadataStore) {
    this.#store = store;
  }

  next(): number {
    if (this.#next >= this.#end) {
      this.#next = this.#store.reserveProducerIds(ProducerIds.BLOCK);
      this.#end = this.#next + ProducerIds.BLOCK;
    }
    return this.#next++;
  }
}

/**
 * How the registry narrows what kbin serves: `unstable.api.versions.enable` and
 * `kbin.emulate.kafka.version`.
 * @throws ConfigError for a release kbin does not know
 */
function registryOptions(config: BrokerConfig): RegistryOptions {
  const emulate = config.get("kbin.emulate.kafka.version") ?? "";
  const options: RegistryOptions = { unstableVersions: config.bool("unstable.api.versions.enable") };
  if (emulate === "") return options;
  let release: string;
  try {
    release = parseKafkaRelease(emulate);
  } catch (err) {
    throw new ConfigError(`Cannot emulate Kafka "${emulate}": ${(err as Error).message}`);
  }
  return { ...options, emulate: releaseApiVersions(release), emulatedRelease: release };
}

/** Shared broker state. */
export class Broker {
  readonly config: BrokerConfig;
  readonly store: MetadataStore;
  readonly logs: LogManager;
  readonly codecs: Codecs;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly nodeId: number;
  readonly clusterId: string;
  readonly handlers: HandlerRegistry;
  readonly dispatcher: Dispatcher;
  readonly policies: TopicPolicies;
  readonly producerIds: ProducerIds;
  readonly fetchSessions: FetchSessionCache;
  readonly groups: GroupCoordinator;
  /** Requests served by client id, API key and version (closed connections). */
  readonly requestTotals = new RequestTotals();
  /** Address clients are told to connect to (set once the listener is bound). */
  advertised: { host: string; port: number } = { host: "localhost", port: 9092 };

  constructor(options: BrokerOptions) {
    this.config = options.config;
    this.store = options.store;
    this.logs = options.logs;
    this.codecs = options.codecs;
    this.logger = options.logger;
    this.clock = options.clock;
    // First, so that a bad emulation setting stops start-up before anything else is touched.
    this.handlers = new HandlerRegistry(ALL_HANDLERS, registryOptions(options.config));
    this.nodeId = options.config.number("node.id");
    this.clusterId = options.store.clusterId();
    this.policies = options.policies;
    this.groups = options.groups;
    this.producerIds = new ProducerIds(options.store);
    this.fetchSessions = new FetchSessionCache({
      maxSessions: options.config.number("max.incremental.fetch.session.cache.slots"),
      clock: options.clock,
    });
    this.dispatcher = new Dispatcher(this);
  }

  /** The log of one partition of a topic (opened on first use). */
  partitionLog(topic: Topic, partition: number): Promise<PartitionLog> {
    return this.logs.get({ topicName: topic.name, topicId: topic.id, partition });
  }
}
