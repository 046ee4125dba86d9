/**
 * The broker: configuration, storage, codecs, the group coordinator and the handler registry,
 * shared by every connection. It owns no sockets; `src/server` feeds it frames through the
 * {@link Dispatcher}.
 *
 * @module
 */

import type { Codecs } from "../protocol/compression/mod.ts";
import type { Clock, Logger } from "../ports.ts";
import type { Storage } from "../storage/engine.ts";
import { type BrokerConfig, ConfigError } from "./config.ts";
import type { BrokerContext, ProducerIdSource } from "./context.ts";
import { Dispatcher } from "./dispatcher.ts";
import { FetchSessionCache } from "./fetch_sessions.ts";
import type { GroupCoordinator } from "./group/coordinator.ts";
import { ALL_HANDLERS } from "./handlers/mod.ts";
import { parseKafkaRelease, releaseApiVersions } from "./kafka_releases.ts";
import { HandlerRegistry, type RegistryOptions } from "./registry.ts";
import { RequestTotals } from "./request_counts.ts";
import type { TopicPolicies } from "./topic_policy.ts";
import type { LogRetention } from "./log_retention.ts";
import type { LogCleaner } from "./log_cleaner.ts";
import { TxnCoordinator } from "./txn/coordinator.ts";
import { PendingTxnOffsets } from "./txn/group_offsets.ts";
import { TRANSACTION_VERSION } from "./txn/features.ts";
import { TxnVerifier } from "./txn/verification.ts";
import { UserStore } from "./sasl/credentials.ts";
import { AclCache } from "./acl/store.ts";
import { authorizerSettings } from "./acl/authorizer.ts";
import { type InterBroker, NO_INTER_BROKER } from "./inter_broker.ts";
import { BrokerMetrics } from "./metrics/broker_metrics.ts";

/** Options for {@link Broker}. */
export interface BrokerOptions {
  config: BrokerConfig;
  storage: Storage;
  codecs: Codecs;
  policies: TopicPolicies;
  groups: GroupCoordinator;
  logger: Logger;
  clock: Clock;
  /** Requests to other brokers (several brokers on PostgreSQL); none by default. */
  interBroker?: InterBroker;
  /** The keys OAUTHBEARER tokens are signed with (sasl.oauthbearer.jwks.endpoint.url); null: unsecured tokens. */
  oauthKeys?: (() => Promise<JsonWebKey[]>) | null;
  /** The instruments requests count into (a fresh set by default). */
  metrics?: BrokerMetrics;
}

/** Hands out producer ids from blocks reserved in storage; one reservation at a time. */
class ProducerIds implements ProducerIdSource {
  static readonly BLOCK = 1000;
  readonly #storage: Storage;
  #next = 0;
  #end = 0;
  #reserving: Promise<void> | null = null;

  constructor(storage: Storage) {
    this.#storage = storage;
  }

  async next(): Promise<number> {
    while (this.#next >= this.#end) {
      this.#reserving ??= this.#storage.reserveProducerIds(ProducerIds.BLOCK).then((first) => {
        this.#next = first;
        this.#end = first + ProducerIds.BLOCK;
      }).finally(() => (this.#reserving = null));
      await this.#reserving;
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
export class Broker implements BrokerContext {
  readonly config: BrokerConfig;
  readonly storage: Storage;
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
  /** The transaction coordinator of the shards this broker leads. */
  readonly transactions: TxnCoordinator;
  /** Consumer groups' offsets staged by open transactions. */
  readonly pendingTxnOffsets: PendingTxnOffsets;
  /** Requests to the other brokers of the cluster. */
  readonly interBroker: InterBroker;
  /** Checks transactional produces against their coordinator (KIP-890). */
  readonly txnVerifier: TxnVerifier;
  /** SCRAM credentials (SASL users). */
  readonly users: UserStore;
  /** ACL bindings and the authorizer. */
  readonly acls: AclCache;
  /** The keys OAUTHBEARER tokens must be signed with, or null for unsecured tokens. */
  readonly oauthKeys: (() => Promise<JsonWebKey[]>) | null;
  /** Counters, gauges and histograms the broker's work feeds (exposed at /metrics). */
  readonly metrics: BrokerMetrics;
  /** Requests served by client id, API key and version (closed connections). */
  readonly requestTotals = new RequestTotals();
  /** Address clients are told to connect to (set once the listener is bound). */
  advertised: { host: string; port: number } = { host: "localhost", port: 9092 };
  /** The retention passes (set once the broker joined its cluster). */
  retention: LogRetention | null = null;
  /** The log cleaner (compaction; set once the broker joined its cluster). */
  cleaner: LogCleaner | null = null;

  constructor(options: BrokerOptions) {
    this.config = options.config;
    this.storage = options.storage;
    this.codecs = options.codecs;
    this.logger = options.logger;
    this.clock = options.clock;
    // First, so that a bad emulation setting stops start-up before anything else is touched.
    this.handlers = new HandlerRegistry(ALL_HANDLERS, registryOptions(options.config));
    this.metrics = options.metrics ?? new BrokerMetrics();
    this.nodeId = options.config.number("node.id");
    this.clusterId = options.storage.clusterId;
    this.policies = options.policies;
    this.groups = options.groups;
    this.producerIds = new ProducerIds(options.storage);
    this.users = new UserStore(options.storage.state);
    this.acls = new AclCache(options.storage.state, {
      settings: authorizerSettings(options.config),
      refreshMs: options.config.number("kbin.acl.refresh.ms"),
      clock: options.clock,
    });
    this.oauthKeys = options.oauthKeys ?? null;
    this.pendingTxnOffsets = new PendingTxnOffsets({ storage: options.storage, groups: options.groups });
    this.interBroker = options.interBroker ?? NO_INTER_BROKER;
    this.txnVerifier = new TxnVerifier({
      storage: options.storage,
      nodeId: this.nodeId,
      interBroker: this.interBroker,
      transactions: () => this.transactions,
      transactionVersion: TRANSACTION_VERSION,
    });
    this.transactions = new TxnCoordinator({
      verifier: this.txnVerifier,
      storage: options.storage,
      pending: this.pendingTxnOffsets,
      interBroker: this.interBroker,
      nodeId: this.nodeId,
      nextProducerId: async () => BigInt(await this.producerIds.next()),
      logger: options.logger,
      clock: options.clock,
      maxTimeoutMs: options.config.number("transaction.max.timeout.ms"),
      abortIntervalMs: options.config.number("transaction.abort.timed.out.transaction.cleanup.interval.ms"),
      idExpirationMs: options.config.number("transactional.id.expiration.ms"),
    });
    this.fetchSessions = new FetchSessionCache({
      maxSessions: options.config.number("max.incremental.fetch.session.cache.slots"),
      clock: options.clock,
    });
    this.dispatcher = new Dispatcher(this);
  }
}
