/**
 * Starts a complete broker: storage (the engine its URL names), broker state and the Kafka
 * listener. Runtime adapters and the embeddable API call this with their capabilities.
 *
 * @module
 */

import { Broker } from "../broker/broker.ts";
import { type BrokerConfig, ConfigError } from "../broker/config.ts";
import { interBrokerSecurity, parseHttpListener, parseListeners } from "../broker/listeners.ts";
import { BrokerMetrics } from "../broker/metrics/broker_metrics.ts";
import { clusterFamilies, EventLoopMonitor, processFamilies, storageFamilies } from "../broker/metrics/collectors.ts";
import { Readiness } from "../broker/readiness.ts";
import { GroupCache } from "../broker/group/group_cache.ts";
import { GroupCoordinator } from "../broker/group/coordinator.ts";
import { TopicPolicies } from "../broker/topic_policy.ts";
import { LogRetention } from "../broker/log_retention.ts";
import { LogCleaner } from "../broker/log_cleaner.ts";
import type { Clock, HttpHandler, HttpServer, LocalKafka, Logger, Runtime } from "../ports.ts";
import { createCodecs } from "../protocol/compression/mod.ts";
import { APIS } from "../protocol/generated/api_keys.ts";
import type { Storage } from "../storage/engine.ts";
import { coordinatorShard } from "../storage/placement.ts";
import { openStorage, parseStorageUrl, type StorageUrl, StorageUrlError } from "../storage/open.ts";
import { InProcessKafka } from "./in_process.ts";
import { ClusterClient } from "./inter_broker.ts";
import { ConnectionLimits } from "./connection_limits.ts";
import { jwksLoader } from "./jwks.ts";
import { loadTls, watchTls } from "./tls_material.ts";
import { VERSION } from "../version.ts";
import { type Server, startServer } from "./server.ts";

/** Options for {@link startKafkaBroker}. */
export interface StartKafkaBrokerOptions {
  runtime: Runtime;
  config: BrokerConfig;
  logger: Logger;
  /** Storage URL: `file:DIR`, `memory:` or `postgres://…` (see src/storage/open.ts). */
  storage: string;
  /**
   * The HTTP plane's app (src/http's `createHttpApp`), served when `kbin.http.listeners` names a
   * listener. The server layer binds it; it never imports the app.
   */
  http?: HttpAppFactory;
  /** The instruments to count into (a fresh set by default). */
  metrics?: BrokerMetrics;
}

/** What the HTTP plane's app is built from: the broker once it exists, and what needs no broker. */
export interface HttpPlaneState {
  /** The broker, or null while storage opens (the app answers 503 for what needs it). */
  broker(): Broker | null;
  readiness: Readiness;
  metrics: BrokerMetrics;
  config: BrokerConfig;
  logger: Logger;
  clock: Clock;
  /**
   * Kafka-protocol connections into this broker as a given principal (the REST proxy's), or null
   * until the Kafka listeners are bound and after shutdown began.
   */
  kafka(): LocalKafka | null;
  /**
   * Registers work to do when the broker shuts down, while it still serves (the REST proxy's
   * consumers leave their groups); hooks run in order, before the listeners close.
   */
  onShutdown(hook: () => Promise<void>): void;
}

/** Builds the HTTP plane's handler (asynchronously, so the app's code loads only when HTTP is on). */
export type HttpAppFactory = (state: HttpPlaneState) => HttpHandler | Promise<HttpHandler>;

/** A broker that is serving. */
export interface RunningBroker {
  readonly broker: Broker;
  readonly server: Server;
  /** "host:port" clients should bootstrap from. */
  readonly bootstrap: string;
  /** Every listener, with the port it is bound to. */
  readonly listeners: readonly { name: string; securityProtocol: string; host: string; port: number }[];
  /** The HTTP plane's base URL (`http://127.0.0.1:8081`), or null when it is off. */
  readonly httpUrl: string | null;
  /** Graceful shutdown: stop accepting, finish in-flight requests, flush, close the store. */
  close(): Promise<void>;
}

/** Starts a broker with the given configuration. */
export async function startKafkaBroker(options: StartKafkaBrokerOptions): Promise<RunningBroker> {
  const { runtime, config, logger } = options;
  for (const name of config.unknown) {
    logger.warn("The configuration was supplied but isn't a known config", { name });
  }
  const listeners = parseListeners(config);
  const httpListener = parseHttpListener(config);
  const metrics = options.metrics ?? new BrokerMetrics();
  const readiness = new Readiness();
  const maxPartitionSeries = config.number("kbin.metrics.max.partition.series");
  if (maxPartitionSeries < 0) {
    throw new ConfigError(`Cannot use kbin.metrics.max.partition.series: it must be >= 0, got ${maxPartitionSeries}`);
  }
  // Other brokers and the cluster's registry know this broker by the inter-broker listener
  // (inter.broker.listener.name), else the first one.
  const interName = config.get("inter.broker.listener.name")?.toUpperCase() ?? "";
  const primary = listeners.find((l) => l.name === interName) ?? listeners[0]!;
  let url: StorageUrl;
  try {
    url = parseStorageUrl(options.storage);
  } catch (err) {
    if (err instanceof StorageUrlError) throw new ConfigError(err.message);
    throw err;
  }
  // Only brokers sharing a PostgreSQL talk to each other: a lone broker needs no inter-broker login.
  const interSecurity = url.kind === "postgres"
    ? interBrokerSecurity(config, primary)
    : { listener: primary.name, ssl: null, verifyServerName: true, sasl: null };
  const codecs = createCodecs(runtime.codecs);
  const policies = new TopicPolicies(config);
  const leaseMs = config.number("kbin.cluster.lease.ms");
  const heartbeatMs = config.number("kbin.cluster.heartbeat.ms");
  if (heartbeatMs < 50 || leaseMs < 3 * heartbeatMs) {
    throw new ConfigError(
      `Cannot start broker: kbin.cluster.heartbeat.ms must be at least 50 and kbin.cluster.lease.ms at least three ` +
        `heartbeats (got ${heartbeatMs} and ${leaseMs})`,
    );
  }
  // The HTTP plane comes up first, so /healthz answers (and /readyz says why not) while storage
  // recovers, which can take a while after a crash.
  let brokerRef: Broker | null = null;
  let kafkaRef: InProcessKafka | null = null;
  const shutdownHooks: (() => Promise<void>)[] = [];
  let http: HttpServer | null = null;
  let httpUrl: string | null = null;
  if (httpListener) {
    if (!options.http || !runtime.serveHttp) {
      throw new ConfigError("Cannot serve kbin.http.listeners: this entry point has no HTTP plane");
    }
    const tls = httpListener.ssl ? await loadTls(runtime.fs, "HTTP", httpListener.ssl) : undefined;
    const handler = await options.http({
      broker: () => brokerRef,
      readiness,
      metrics,
      config,
      logger,
      clock: runtime.clock,
      kafka: () => kafkaRef,
      onShutdown: (hook) => void shutdownHooks.push(hook),
    });
    try {
      http = await runtime.serveHttp({
        host: httpListener.host,
        port: httpListener.port,
        ...(tls ? { tls: { key: tls.key, cert: tls.cert } } : {}),
      }, handler);
    } catch (err) {
      const address = `${httpListener.scheme}://${httpListener.host}:${httpListener.port}`;
      const e = err as { code?: string; message?: string };
      const why = e.code === "EADDRINUSE" || /in use/i.test(String(e.message)) ? "address already in use" : e.message;
      throw new ConfigError(`Cannot listen on kbin.http.listeners ${address}: ${why}`);
    }
    const hostText = http.host.includes(":") ? `[${http.host}]` : http.host;
    httpUrl = `${httpListener.scheme}://${hostText}:${http.port}`;
    logger.info("Listening", { http: httpUrl });
  }
  let storage: Storage;
  readiness.set("opening storage");
  try {
    storage = await openStorage(url, {
      observer: metrics,
      fs: runtime.fs,
      openDatabase: runtime.openDatabase,
      connectPostgres: runtime.connectPostgres,
      clock: runtime.clock,
      logger,
      decompress: (codec, data) => codecs.decompress(codec, data),
      compress: (codec, data) => codecs.compress(codec, data),
      minFreeBytes: config.number("kbin.log.dir.min.free.bytes"),
      logConfig: (topic) => policies.for(topic).log,
      cluster: { leaseMs, heartbeatMs },
      tailCacheBytes: config.number("kbin.postgres.tail.cache.bytes"),
    });
  } catch (err) {
    await http?.close();
    if (err instanceof StorageUrlError) throw new ConfigError(err.message);
    throw err;
  }
  let coordinator: GroupCoordinator | null = null;
  let retention: LogRetention | null = null;
  let cleaner: LogCleaner | null = null;
  let interBroker: ClusterClient | null = null;
  try {
    const node = await storage.claimNode(config.number("node.id"));
    if (!node.ok) {
      throw new ConfigError(`Cannot start broker: ${node.message ?? "node id does not match the data directory"}`);
    }
    const nodeId = node.value;
    const topics = storage.topics;
    const cluster = storage.cluster;
    const groups = new GroupCoordinator({
      store: GroupCache.empty(storage.groups, { clock: runtime.clock, logger }),
      shards: {
        count: cluster.shardCount,
        of: (groupId) => coordinatorShard(groupId, cluster.shardCount),
        leads: (shard) => cluster.shardLeader(shard).leader === nodeId,
      },
      config,
      clock: runtime.clock,
      logger,
      partitionsOf: (name) => {
        const t = topics.get(name);
        return t.ok ? t.value.partitions : null;
      },
      topics: () => topics.list().map((t) => ({ topicId: t.id, name: t.name, partitions: t.partitions })),
      onRebalance: (type) => metrics.rebalance(type),
    });
    coordinator = groups;
    interBroker = new ClusterClient({
      cluster,
      connect: runtime.connect,
      nodeId,
      requestTimeoutMs: Math.min(config.number("request.timeout.ms"), 10_000),
      listener: primary.name,
      credentials: async () => {
        const ssl = interSecurity.ssl;
        // The listener's current material (certificates may have been renewed since the start).
        const tls = ssl ? await loadTls(runtime.fs, primary.name, ssl) : null;
        return {
          ...(tls
            ? {
              tls: {
                key: tls.key,
                cert: tls.cert,
                ...(tls.ca === undefined ? {} : { ca: tls.ca }),
                ...(interSecurity.verifyServerName ? {} : { verifyServerName: false }),
              },
            }
            : {}),
          ...(interSecurity.sasl ? { sasl: interSecurity.sasl } : {}),
        };
      },
    });
    const jwksUrl = config.get("sasl.oauthbearer.jwks.endpoint.url") ?? "";
    const oauthKeys = jwksUrl === "" ? null : jwksLoader({
      url: jwksUrl,
      refreshMs: config.number("sasl.oauthbearer.jwks.endpoint.refresh.ms"),
      fs: runtime.fs,
      logger,
      now: () => runtime.clock.now(),
    });
    if (oauthKeys === null && listeners.some((l) => l.saslMechanisms.includes("OAUTHBEARER"))) {
      logger.warn(
        "OAUTHBEARER accepts unsecured tokens (no sasl.oauthbearer.jwks.endpoint.url): anyone can log in as anyone; for development only",
      );
    }
    const broker = new Broker({
      config,
      storage,
      codecs,
      policies,
      groups,
      logger,
      clock: runtime.clock,
      interBroker,
      oauthKeys,
      metrics,
    });
    brokerRef = broker;
    if (broker.handlers.emulatedRelease !== null) {
      logger.info("Emulating a Kafka release: only its API versions are advertised and accepted", {
        kafka: broker.handlers.emulatedRelease,
      });
    }
    const servers: Server[] = [];
    const stopWatching: (() => void)[] = [];
    const limits = new ConnectionLimits({
      max: config.number("max.connections"),
      perIp: config.number("max.connections.per.ip"),
      overrides: config.get("max.connections.per.ip.overrides") ?? "",
    });
    readiness.set("binding listeners");
    try {
      for (const l of listeners) {
        const tls = l.ssl ? await loadTls(runtime.fs, l.name, l.ssl) : undefined;
        const server = await startServer({
          listen: runtime.listen,
          host: l.host,
          port: l.port,
          handler: broker.dispatcher,
          logger,
          maxRequestBytes: config.number("socket.request.max.bytes"),
          listener: l,
          limits,
          ...(tls ? { tls } : {}),
        });
        servers.push(server);
        if (tls && l.ssl && server.reloadTls) {
          stopWatching.push(watchTls({
            fs: runtime.fs,
            listener: l.name,
            ssl: l.ssl,
            current: tls,
            intervalMs: config.number("kbin.ssl.reload.check.ms"),
            reload: (next) => server.reloadTls!(next),
            logger,
          }));
        }
        const wildcard = l.host === "" || l.host === "0.0.0.0" || l.host === "::";
        l.advertised = l.advertised
          ? { host: l.advertised.host, port: l.advertised.port === 0 ? server.port : l.advertised.port }
          : { host: wildcard ? "localhost" : l.host, port: server.port };
        l.port = server.port;
      }
    } catch (err) {
      for (const stop of stopWatching) stop();
      for (const s of servers) await s.close();
      throw err;
    }
    const server: Server = servers[listeners.indexOf(primary)]!;
    broker.advertised = primary.advertised!;
    // What the cluster registers this broker at (below), and so what Metadata tells in-process clients.
    const registered = broker.advertised;
    const inProcess = new InProcessKafka({
      handler: broker.dispatcher,
      logger,
      maxRequestBytes: config.number("socket.request.max.bytes"),
      nodeId,
      address: () => registered,
    });
    kafkaRef = inProcess;
    if (listeners.length > 1 || primary.securityProtocol !== "PLAINTEXT") {
      logger.info("Listening", {
        listeners: listeners.map((l) => `${l.name}=${l.securityProtocol}://${l.host}:${l.port}`).join(","),
      });
    }
    const hostText = broker.advertised.host.includes(":") ? `[${broker.advertised.host}]` : broker.advertised.host;
    readiness.set("joining cluster");
    // Groups follow the coordinator shards this node leads, from joining on.
    cluster.onChange(() => void groups.syncShards());
    let joined;
    try {
      joined = await cluster.join({
        nodeId,
        ...broker.advertised,
        rack: config.get("broker.rack"),
        listeners: [
          ...listeners.map((l) => ({ name: l.name, host: l.advertised!.host, port: l.advertised!.port })),
          // The HTTP plane, for brokers that forward Schema Registry requests to the one that writes
          // and REST produce requests to partitions' leaders.
          ...(http && httpListener
            ? [{
              name: `kbin-${httpListener.scheme}`,
              ...httpEndpoint(http.host, http.port, primary.advertised!.host),
            }]
            : []),
        ],
      });
    } catch (err) {
      for (const s of servers) await s.close();
      throw err;
    }
    if (!joined.ok) {
      for (const s of servers) await s.close();
      throw new ConfigError(`Cannot start broker: ${joined.message ?? "cannot join the cluster"}`);
    }
    await groups.syncShards();
    broker.transactions.start();
    retention = new LogRetention({
      storage,
      policies,
      nodeId,
      logger,
      clock: runtime.clock,
      intervalMs: config.number("log.retention.check.interval.ms"),
      metrics,
    });
    retention.start();
    broker.retention = retention;
    cleaner = new LogCleaner({
      storage,
      policies,
      nodeId,
      logger,
      clock: runtime.clock,
      backoffMs: config.number("log.cleaner.backoff.ms"),
      dedupeBufferBytes: config.number("log.cleaner.dedupe.buffer.size"),
      ioMaxBytesPerSecond: config.number("log.cleaner.io.max.bytes.per.second"),
      metrics,
    });
    if (config.bool("log.cleaner.enable")) cleaner.start();
    broker.cleaner = cleaner;
    const eventLoop = new EventLoopMonitor((seconds) => metrics.eventLoopDelay(seconds));
    eventLoop.start();
    registerCollectors({
      metrics,
      readiness,
      storage,
      nodeId,
      groups,
      maxPartitionSeries,
      runtime,
      logger,
      connections: () =>
        listeners.map((l, i) => ({
          listener: l.name,
          securityProtocol: l.securityProtocol,
          open: servers[i]?.connections ?? 0,
        })),
    });
    readiness.whileReady(() =>
      cluster.brokers().some((b) => b.nodeId === nodeId)
        ? null
        : "this broker is not registered in its cluster (its lease lapsed or it was expelled)"
    );
    readiness.set("ready");
    let closed: Promise<void> | null = null;
    return {
      broker,
      server,
      listeners: listeners.map((l) => ({
        name: l.name,
        securityProtocol: l.securityProtocol,
        host: l.host,
        port: l.port,
      })),
      bootstrap: `${hostText}:${broker.advertised.port}`,
      httpUrl,
      close() {
        closed ??= (async () => {
          readiness.set("stopping");
          eventLoop.stop();
          for (const hook of shutdownHooks) {
            try {
              await hook();
            } catch (err) {
              logger.error("A shutdown hook failed", { error: String(err) });
            }
          }
          for (const stop of stopWatching) stop();
          for (const s of servers) await s.close();
          kafkaRef = null;
          await inProcess.close();
          const served = broker.requestTotals.entries();
          if (served.length > 0) {
            // clientId|Api:vN=count, for scripts/version_coverage.ts and anyone asking what clients use.
            logger.info("Requests served by API and version", {
              versions: served.map((e) =>
                `${encodeURIComponent(e.clientId)}|${APIS.get(e.apiKey)?.name ?? e.apiKey}:v${e.version}=${e.count}`
              ).join(","),
            });
          }
          retention?.close();
          cleaner?.close();
          broker.transactions.close();
          interBroker?.close();
          coordinator?.close();
          await storage.close();
          // Last, so /readyz answers 503 while everything else stops.
          await http?.close();
        })();
        return closed;
      },
    };
  } catch (err) {
    retention?.close();
    cleaner?.close();
    interBroker?.close();
    coordinator?.close();
    await storage.close();
    await http?.close();
    throw err;
  }
}

/** The families computed at scrape time (see src/broker/metrics/collectors.ts). */
function registerCollectors(o: {
  metrics: BrokerMetrics;
  readiness: Readiness;
  storage: Storage;
  nodeId: number;
  groups: GroupCoordinator;
  maxPartitionSeries: number;
  runtime: Runtime;
  logger: Logger;
  connections: () => { listener: string; securityProtocol: string; open: number }[];
}): void {
  const registry = o.metrics.registry;
  const startTimeSeconds = Math.floor(o.runtime.clock.now() / 1000);
  registry.collector(() => [
    ...processFamilies({
      version: VERSION,
      runtime: o.runtime.name,
      startTimeSeconds,
      stats: o.runtime.processStats ?? null,
    }),
    {
      name: "kbin_ready",
      help: "1 when the broker is ready (what /readyz answers 200 for)",
      type: "gauge",
      labelNames: [],
      samples: [{ labels: [], value: o.readiness.report().ready ? 1 : 0 }],
    },
    {
      name: "kbin_kafka_connections",
      help: "Open Kafka connections, by listener and security protocol",
      type: "gauge",
      labelNames: ["listener", "security_protocol"],
      samples: o.connections().map((c) => ({ labels: [c.listener, c.securityProtocol], value: c.open })),
    },
  ]);
  registry.collector(() =>
    clusterFamilies({
      storage: o.storage,
      nodeId: o.nodeId,
      groups: () => o.groups.stats(),
      maxPartitionSeries: o.maxPartitionSeries,
    })
  );
  registry.collector(() => storageFamilies(o.storage));
}

/** Where the other brokers reach this broker's HTTP plane: its bound address, or the advertised host for a wildcard. */
function httpEndpoint(host: string, port: number, advertisedHost: string): { host: string; port: number } {
  const wildcard = host === "" || host === "0.0.0.0" || host === "::";
  return { host: wildcard ? advertisedHost : host, port };
}
