/**
 * Confluent REST Proxy v3 administration: clusters, brokers, broker and cluster configs, topics
 * (list, get, create, grow, delete), partitions and their offsets, replicas, topic configs (list,
 * get, set, reset, batch alter), consumer groups, their consumers and assignments, lags and lag
 * summaries. Every answer is a Confluent resource (`kind`, `metadata.self`, `resource_name` as a
 * CRN, `related` links) built from Kafka-protocol answers the broker gave the caller's principal:
 * Metadata, DescribeConfigs, IncrementalAlterConfigs, CreateTopics, DeleteTopics,
 * CreatePartitions, ListOffsets, ListGroups, DescribeGroups/ConsumerGroupDescribe and OffsetFetch.
 *
 * Left out: ACLs (`/acls`), partition reassignments (kbin never reassigns; the links are given as
 * Confluent gives them and answer 404) and cluster-link or mirror endpoints.
 *
 * @module
 */

import type { Hono } from "hono";
import type { KafkaClient } from "../../client/client.ts";
import {
  describeGroup,
  fetchCommittedOffsets,
  type GroupDescription,
  listGroups,
  listOffsets,
  OffsetSpec,
} from "../../client/groups.ts";
import { AclOperation } from "../../broker/acl/model.ts";
import {
  METADATA_API,
  type MetadataResponse,
  type MetadataResponseTopic,
} from "../../protocol/generated/03_metadata.ts";
import { CREATE_TOPICS_API } from "../../protocol/generated/19_create_topics.ts";
import { DELETE_TOPICS_API } from "../../protocol/generated/20_delete_topics.ts";
import {
  DESCRIBE_CONFIGS_API,
  type DescribeConfigsResourceResult,
} from "../../protocol/generated/32_describe_configs.ts";
import { CREATE_PARTITIONS_API } from "../../protocol/generated/37_create_partitions.ts";
import { INCREMENTAL_ALTER_CONFIGS_API } from "../../protocol/generated/44_incremental_alter_configs.ts";
import { AlterConfigOpType, ConfigResourceType, ConfigSource } from "../../protocol/generated/configs.ts";
import { ErrorCode } from "../../protocol/generated/errors.ts";
import type { HttpEnv } from "../auth.ts";
import type { CallerClient } from "./clients.ts";
import {
  asObject,
  baseUrl,
  callerOf,
  checkCluster,
  type ClusterIdentity,
  type Ctx,
  identity,
  intParam,
  jsonResponse,
  type ProxyContext,
  readJson,
} from "./context.ts";
import { kafkaError, RestCode, RestError } from "./errors.ts";
import { produceBatchV3, produceRecordsV3 } from "./produce.ts";

/** Builds `metadata.self` URLs and CRNs of one cluster. */
export class Links {
  readonly #base: string;
  readonly clusterId: string;

  constructor(base: string, clusterId: string) {
    this.#base = base;
    this.clusterId = clusterId;
  }

  /** `…/v3/clusters/{id}` followed by the segments (each percent-encoded). */
  url(...segments: (string | number)[]): string {
    let out = `${this.#base}/v3/clusters/${encodeURIComponent(this.clusterId)}`;
    for (const s of segments) out += `/${encodeURIComponent(String(s))}`;
    return out;
  }

  /** `crn:///kafka={id}/type=name/…` */
  crn(...pairs: [string, string | number][]): string {
    return `crn:///kafka=${this.clusterId}${pairs.map(([k, v]) => `/${k}=${v}`).join("")}`;
  }

  related(...segments: (string | number)[]): { related: string } {
    return { related: this.url(...segments) };
  }
}

function resource(kind: string, self: string, resourceName: string | null): Record<string, unknown> {
  return { kind, metadata: { self, resource_name: resourceName } };
}

function collection(kind: string, self: string, data: unknown[]): Record<string, unknown> {
  return { kind, metadata: { self, next: null }, data };
}

/** Runs a route's work with the caller's client. */
function withCaller<T>(c: Ctx, ctx: ProxyContext, fn: (caller: CallerClient) => Promise<T>): Promise<T> {
  const { principal, remote } = callerOf(c);
  return ctx.pool.with({ principal, remote }, fn);
}

/** Kafka's operation names for a KIP-430 bit field (Confluent's `authorized_operations`). */
function operationNames(bits: number): string[] {
  const out: string[] = [];
  for (const [name, code] of Object.entries(AclOperation)) {
    if (code > 1 && (bits & (1 << code)) !== 0) out.push(name);
  }
  return out;
}

async function metadata(
  client: KafkaClient,
  topics: string[] | null,
  options: { authorizedOperations?: boolean } = {},
): Promise<MetadataResponse> {
  const { response } = await client.send(METADATA_API, (v) => ({
    topics: topics === null ? (v === 0 ? [] : null) : topics.map((name) => ({ name })),
    allowAutoTopicCreation: false,
    includeTopicAuthorizedOperations: options.authorizedOperations ?? false,
  }), { maxVersion: 12 });
  return response;
}

/** One topic's metadata, or the REST error for an unknown or forbidden topic. */
async function topicMetadata(
  client: KafkaClient,
  topic: string,
  options: { authorizedOperations?: boolean } = {},
): Promise<{ md: MetadataResponse; topic: MetadataResponseTopic }> {
  const md = await metadata(client, [topic], options);
  const t = md.topics.find((x) => x.name === topic);
  const code = t?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  if (code === ErrorCode.INVALID_TOPIC_EXCEPTION) throw kafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  if (code !== ErrorCode.NONE && code !== ErrorCode.LEADER_NOT_AVAILABLE) {
    throw kafkaError(code, code === ErrorCode.TOPIC_AUTHORIZATION_FAILED ? topic : null);
  }
  return { md, topic: t! };
}

function topicData(links: Links, t: MetadataResponseTopic, withOperations: boolean): Record<string, unknown> {
  const name = t.name!;
  const parts = [...t.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex);
  const out: Record<string, unknown> = {
    ...resource("KafkaTopic", links.url("topics", name), links.crn(["topic", name])),
    cluster_id: links.clusterId,
    topic_name: name,
    is_internal: t.isInternal,
    replication_factor: parts[0]?.replicaNodes.length ?? 0,
    partitions_count: parts.length,
    partitions: links.related("topics", name, "partitions"),
    configs: links.related("topics", name, "configs"),
    partition_reassignments: links.related("topics", name, "partitions", "-", "reassignment"),
  };
  if (withOperations) {
    out["authorized_operations"] = t.topicAuthorizedOperations < 0 ? [] : operationNames(t.topicAuthorizedOperations);
  }
  return out;
}

function partitionData(links: Links, topic: string, p: MetadataResponseTopic["partitions"][number]) {
  const out: Record<string, unknown> = {
    ...resource(
      "KafkaPartition",
      links.url("topics", topic, "partitions", p.partitionIndex),
      links.crn(["topic", topic], ["partition", p.partitionIndex]),
    ),
    cluster_id: links.clusterId,
    topic_name: topic,
    partition_id: p.partitionIndex,
  };
  if (p.leaderId >= 0) {
    out["leader"] = links.related("topics", topic, "partitions", p.partitionIndex, "replicas", p.leaderId);
  }
  out["replicas"] = links.related("topics", topic, "partitions", p.partitionIndex, "replicas");
  out["reassignment"] = links.related("topics", topic, "partitions", p.partitionIndex, "reassignment");
  return out;
}

function replicaData(links: Links, topic: string, p: MetadataResponseTopic["partitions"][number], brokerId: number) {
  return {
    ...resource(
      "KafkaReplica",
      links.url("topics", topic, "partitions", p.partitionIndex, "replicas", brokerId),
      links.crn(["topic", topic], ["partition", p.partitionIndex], ["replica", brokerId]),
    ),
    cluster_id: links.clusterId,
    topic_name: topic,
    partition_id: p.partitionIndex,
    broker_id: brokerId,
    is_leader: p.leaderId === brokerId,
    is_in_sync: p.isrNodes.includes(brokerId),
    broker: links.related("brokers", brokerId),
  };
}

function findPartition(t: MetadataResponseTopic, partitionId: number) {
  const p = t.partitions.find((x) => x.partitionIndex === partitionId);
  if (p === undefined) throw new RestError(RestCode.PARTITION_NOT_FOUND, "Partition not found.");
  return p;
}

const SOURCE_NAMES: Record<number, string> = {
  [ConfigSource.TOPIC_CONFIG]: "DYNAMIC_TOPIC_CONFIG",
  [ConfigSource.DYNAMIC_BROKER_CONFIG]: "DYNAMIC_BROKER_CONFIG",
  [ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG]: "DYNAMIC_DEFAULT_BROKER_CONFIG",
  [ConfigSource.STATIC_BROKER_CONFIG]: "STATIC_BROKER_CONFIG",
  [ConfigSource.DEFAULT_CONFIG]: "DEFAULT_CONFIG",
  [ConfigSource.DYNAMIC_BROKER_LOGGER_CONFIG]: "DYNAMIC_BROKER_LOGGER_CONFIG",
};

/** Confluent's name of a DescribeConfigs source. */
export function sourceName(source: number): string {
  return SOURCE_NAMES[source] ?? "UNKNOWN";
}

type ConfigOwner =
  | { kind: "topic"; topic: string }
  | { kind: "broker"; brokerId: number }
  | { kind: "cluster" };

function configData(links: Links, owner: ConfigOwner, c: DescribeConfigsResourceResult): Record<string, unknown> {
  const [kind, self, crn, extra] = owner.kind === "topic"
    ? [
      "KafkaTopicConfig",
      links.url("topics", owner.topic, "configs", c.name),
      links.crn(["topic", owner.topic], ["config", c.name]),
      { topic_name: owner.topic },
    ]
    : owner.kind === "broker"
    ? [
      "KafkaBrokerConfig",
      links.url("brokers", owner.brokerId, "configs", c.name),
      links.crn(["broker", owner.brokerId], ["config", c.name]),
      { broker_id: owner.brokerId },
    ]
    : [
      "KafkaClusterConfig",
      links.url("broker-configs", c.name),
      links.crn(["broker-config", c.name]),
      { config_type: "BROKER" },
    ];
  return {
    ...resource(kind, self, crn),
    cluster_id: links.clusterId,
    ...extra,
    name: c.name,
    value: c.value,
    is_default: c.configSource === ConfigSource.DEFAULT_CONFIG,
    is_read_only: c.readOnly,
    is_sensitive: c.isSensitive,
    source: sourceName(c.configSource),
    synonyms: c.synonyms.map((s) => ({ name: s.name, value: s.value, source: sourceName(s.source) })),
  };
}

function configResource(owner: ConfigOwner): { resourceType: number; resourceName: string } {
  if (owner.kind === "topic") return { resourceType: ConfigResourceType.TOPIC, resourceName: owner.topic };
  if (owner.kind === "broker") return { resourceType: ConfigResourceType.BROKER, resourceName: String(owner.brokerId) };
  return { resourceType: ConfigResourceType.BROKER, resourceName: "" };
}

async function describeConfigs(
  client: KafkaClient,
  owner: ConfigOwner,
  name: string | null,
): Promise<DescribeConfigsResourceResult[]> {
  const { response } = await client.send(DESCRIBE_CONFIGS_API, () => ({
    resources: [{ ...configResource(owner), configurationKeys: name === null ? null : [name] }],
    includeSynonyms: true,
    includeDocumentation: false,
  }), { minVersion: 1 });
  const r = response.results[0];
  if (r === undefined) throw new RestError(RestCode.KAFKA_ERROR, "The broker sent no DescribeConfigs result");
  if (r.errorCode !== ErrorCode.NONE) {
    throw kafkaError(
      r.errorCode,
      r.errorCode === ErrorCode.TOPIC_AUTHORIZATION_FAILED && owner.kind === "topic" ? owner.topic : r.errorMessage,
    );
  }
  return [...r.configs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** One alteration of `configs:alter` (and PUT/DELETE of one config). */
interface Alteration {
  name: string;
  operation: number;
  value: string | null;
}

function parseAlterations(body: unknown): { alterations: Alteration[]; validateOnly: boolean } {
  const o = asObject(body, "the alter request");
  const data = o["data"];
  if (!Array.isArray(data)) {
    throw new RestError(RestCode.UNPROCESSABLE, `Cannot read the alter request: "data" must be an array`);
  }
  const alterations = data.map((d): Alteration => {
    const e = asObject(d, "an alteration");
    if (typeof e["name"] !== "string") throw new RestError(RestCode.UNPROCESSABLE, `Each alteration needs a "name"`);
    const op = typeof e["operation"] === "string" ? e["operation"].toUpperCase() : "SET";
    const operation = (AlterConfigOpType as Record<string, number>)[op];
    if (operation === undefined) {
      throw new RestError(
        RestCode.BAD_REQUEST,
        `Unknown operation "${e["operation"]}" (SET, DELETE, APPEND or SUBTRACT)`,
      );
    }
    const value = e["value"] === undefined || e["value"] === null ? null : String(e["value"]);
    return { name: e["name"], operation, value };
  });
  return { alterations, validateOnly: o["validate_only"] === true };
}

async function alterConfigs(
  client: KafkaClient,
  owner: ConfigOwner,
  alterations: Alteration[],
  validateOnly: boolean,
): Promise<void> {
  const { response } = await client.send(INCREMENTAL_ALTER_CONFIGS_API, () => ({
    resources: [{
      ...configResource(owner),
      configs: alterations.map((a) => ({ name: a.name, configOperation: a.operation, value: a.value })),
    }],
    validateOnly,
  }));
  const r = response.responses[0];
  if (r === undefined) throw new RestError(RestCode.KAFKA_ERROR, "The broker sent no IncrementalAlterConfigs result");
  if (r.errorCode !== ErrorCode.NONE) {
    throw kafkaError(
      r.errorCode,
      r.errorCode === ErrorCode.TOPIC_AUTHORIZATION_FAILED && owner.kind === "topic" ? owner.topic : r.errorMessage,
    );
  }
}

/** Confluent's state names: PREPARING_REBALANCE for PreparingRebalance. */
export function groupStateName(state: string): string {
  const known = ["Stable", "PreparingRebalance", "CompletingRebalance", "Empty", "Dead", "Assigning", "Reconciling"];
  if (!known.includes(state)) return "UNKNOWN";
  return state.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

async function groupOrNotFound(client: KafkaClient, groupId: string): Promise<GroupDescription> {
  const g = await describeGroup(client, groupId);
  if (g.errorCode === ErrorCode.GROUP_ID_NOT_FOUND || (g.errorCode === ErrorCode.NONE && g.state === "Dead")) {
    throw new RestError(RestCode.NOT_FOUND, `Consumer group ${groupId} cannot be found.`);
  }
  if (g.errorCode !== ErrorCode.NONE) {
    throw kafkaError(g.errorCode, g.errorCode === ErrorCode.GROUP_AUTHORIZATION_FAILED ? groupId : g.errorMessage);
  }
  return g;
}

function groupData(links: Links, g: GroupDescription): Record<string, unknown> {
  return {
    ...resource(
      "KafkaConsumerGroup",
      links.url("consumer-groups", g.groupId),
      links.crn(["consumer-group", g.groupId]),
    ),
    cluster_id: links.clusterId,
    consumer_group_id: g.groupId,
    is_simple: g.protocolType === "",
    partition_assignor: g.assignor,
    state: groupStateName(g.state),
    type: g.type === "consumer" ? "CONSUMER" : "CLASSIC",
    is_mixed_consumer_group: false,
    coordinator: links.related("brokers", g.coordinator.nodeId),
    consumers: links.related("consumer-groups", g.groupId, "consumers"),
    lag_summary: links.related("consumer-groups", g.groupId, "lag-summary"),
  };
}

function consumerData(links: Links, groupId: string, m: GroupDescription["members"][number]) {
  return {
    ...resource(
      "KafkaConsumer",
      links.url("consumer-groups", groupId, "consumers", m.memberId),
      links.crn(["consumer-group", groupId], ["consumer", m.memberId]),
    ),
    cluster_id: links.clusterId,
    consumer_group_id: groupId,
    consumer_id: m.memberId,
    instance_id: m.instanceId,
    client_id: m.clientId,
    assignments: links.related("consumer-groups", groupId, "consumers", m.memberId, "assignments"),
  };
}

/** One partition's lag row. */
export interface LagRow {
  topic: string;
  partition: number;
  currentOffset: bigint;
  logEndOffset: bigint;
  lag: bigint;
  consumerId: string;
  instanceId: string | null;
  clientId: string;
}

/**
 * The lag of every partition the group has committed (as Confluent's lags): committed offset,
 * log end offset (ListOffsets latest) and the member assigned the partition, if any.
 */
async function groupLags(client: KafkaClient, g: GroupDescription): Promise<LagRow[]> {
  const committed = await fetchCommittedOffsets(client, g.groupId, null);
  if (committed.errorCode !== ErrorCode.NONE) {
    throw kafkaError(
      committed.errorCode,
      committed.errorCode === ErrorCode.GROUP_AUTHORIZATION_FAILED ? g.groupId : null,
    );
  }
  const rows = committed.offsets.filter((o) => o.errorCode === ErrorCode.NONE && o.offset >= 0n);
  const ends = await listOffsets(
    client,
    rows.map((r) => ({ topic: r.topic, partition: r.partition, timestamp: OffsetSpec.LATEST })),
  );
  const owner = new Map<string, GroupDescription["members"][number]>();
  for (const m of g.members) {
    for (const tp of m.assignment ?? []) for (const p of tp.partitions) owner.set(`${tp.topic}\0${p}`, m);
  }
  const out: LagRow[] = [];
  rows.forEach((r, i) => {
    const end = ends[i]!;
    if (end.errorCode !== ErrorCode.NONE || end.offset < 0n) return;
    const m = owner.get(`${r.topic}\0${r.partition}`);
    out.push({
      topic: r.topic,
      partition: r.partition,
      currentOffset: r.offset,
      logEndOffset: end.offset,
      lag: end.offset > r.offset ? end.offset - r.offset : 0n,
      consumerId: m?.memberId ?? "",
      instanceId: m?.instanceId ?? null,
      clientId: m?.clientId ?? "",
    });
  });
  return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}

function lagData(links: Links, groupId: string, r: LagRow) {
  return {
    ...resource(
      "KafkaConsumerLag",
      links.url("consumer-groups", groupId, "lags", r.topic, "partitions", r.partition),
      links.crn(["consumer-group", groupId], ["lag", r.topic], ["partition", r.partition]),
    ),
    cluster_id: links.clusterId,
    consumer_group_id: groupId,
    topic_name: r.topic,
    partition_id: r.partition,
    current_offset: Number(r.currentOffset),
    log_end_offset: Number(r.logEndOffset),
    lag: Number(r.lag),
    consumer_id: r.consumerId,
    instance_id: r.instanceId,
    client_id: r.clientId,
  };
}

function brokerData(links: Links, b: MetadataResponse["brokers"][number]) {
  return {
    ...resource("KafkaBroker", links.url("brokers", b.nodeId), links.crn(["broker", b.nodeId])),
    cluster_id: links.clusterId,
    broker_id: b.nodeId,
    host: b.host,
    port: b.port,
    rack: b.rack,
    configs: links.related("brokers", b.nodeId, "configs"),
    partition_replicas: links.related("brokers", b.nodeId, "partition-replicas"),
  };
}

function clusterData(links: Links, md: MetadataResponse) {
  return {
    ...resource("KafkaCluster", links.url(), links.crn()),
    cluster_id: links.clusterId,
    ...(md.controllerId >= 0 ? { controller: links.related("brokers", md.controllerId) } : {}),
    acls: links.related("acls"),
    brokers: links.related("brokers"),
    broker_configs: links.related("broker-configs"),
    consumer_groups: links.related("consumer-groups"),
    topics: links.related("topics"),
    partition_reassignments: links.related("topics", "-", "partitions", "-", "reassignment"),
  };
}

function linksOf(c: Ctx, id: ClusterIdentity): Links {
  return new Links(baseUrl(c), id.clusterId);
}

function queryFlag(c: Ctx, name: string): boolean {
  return (c.req.query(name) ?? "").toLowerCase() === "true";
}

function configOwnerOf(c: Ctx, kind: "topic" | "broker" | "cluster"): ConfigOwner {
  if (kind === "topic") return { kind, topic: c.req.param("topic_name")! };
  if (kind === "broker") return { kind, brokerId: intParam(c.req.param("broker_id")!, "Broker") };
  return { kind };
}

/** A route that answers with the caller's client: checks the cluster id, then runs `fn`. */
type Handler = (c: Ctx, links: Links, caller: CallerClient) => Promise<Response>;

/**
 * Mounts the v3 routes (administration and produce) on `app`.
 * @param app the proxy's router
 * @param ctx what the routes share
 */
export function mountV3(app: Hono<HttpEnv>, ctx: ProxyContext): void {
  const route = (handler: Handler) => (c: Ctx) => {
    const id = checkCluster(ctx, c.req.param("cluster_id")!);
    return withCaller(c, ctx, (caller) => handler(c, linksOf(c, id), caller));
  };

  app.get("/v3/clusters", (c) => {
    const id = identity(ctx);
    return withCaller(c, ctx, async (caller) => {
      const links = linksOf(c, id);
      const md = await metadata(caller.client, []);
      return jsonResponse(collection("KafkaClusterList", `${baseUrl(c)}/v3/clusters`, [clusterData(links, md)]), 200);
    });
  });
  app.get(
    "/v3/clusters/:cluster_id",
    route(async (_c, links, caller) => jsonResponse(clusterData(links, await metadata(caller.client, [])), 200)),
  );

  // Brokers
  app.get(
    "/v3/clusters/:cluster_id/brokers",
    route(async (_c, links, caller) => {
      const md = await metadata(caller.client, []);
      const data = [...md.brokers].sort((a, b) => a.nodeId - b.nodeId).map((b) => brokerData(links, b));
      return jsonResponse(collection("KafkaBrokerList", links.url("brokers"), data), 200);
    }),
  );
  app.get(
    "/v3/clusters/:cluster_id/brokers/:broker_id",
    route(async (c, links, caller) => {
      const brokerId = intParam(c.req.param("broker_id")!, "Broker");
      const b = (await metadata(caller.client, [])).brokers.find((x) => x.nodeId === brokerId);
      if (b === undefined) throw new RestError(RestCode.NOT_FOUND, `Broker ${brokerId} cannot be found.`);
      return jsonResponse(brokerData(links, b), 200);
    }),
  );
  app.get(
    "/v3/clusters/:cluster_id/brokers/:broker_id/partition-replicas",
    route(async (c, links, caller) => {
      const brokerId = intParam(c.req.param("broker_id")!, "Broker");
      const md = await metadata(caller.client, null);
      const data: unknown[] = [];
      for (const t of [...md.topics].sort((a, b) => ((a.name ?? "") < (b.name ?? "") ? -1 : 1))) {
        if (t.errorCode !== ErrorCode.NONE || t.name === null) continue;
        for (const p of [...t.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex)) {
          if (p.replicaNodes.includes(brokerId)) data.push(replicaData(links, t.name, p, brokerId));
        }
      }
      return jsonResponse(
        collection("KafkaReplicaList", links.url("brokers", brokerId, "partition-replicas"), data),
        200,
      );
    }),
  );

  // Broker configs, and the cluster-wide defaults (broker-configs)
  for (const [prefix, kind] of [["/brokers/:broker_id/configs", "broker"], ["/broker-configs", "cluster"]] as const) {
    const listKind = kind === "broker" ? "KafkaBrokerConfigList" : "KafkaClusterConfigList";
    app.get(
      `/v3/clusters/:cluster_id${prefix}`,
      route(async (c, links, caller) => {
        const owner = configOwnerOf(c, kind);
        const configs = await describeConfigs(caller.client, owner, null);
        const self = owner.kind === "broker"
          ? links.url("brokers", owner.brokerId, "configs")
          : links.url("broker-configs");
        return jsonResponse(collection(listKind, self, configs.map((x) => configData(links, owner, x))), 200);
      }),
    );
    mountConfigItem(app, `/v3/clusters/:cluster_id${prefix}`, kind, route);
  }

  // Topics
  app.get(
    "/v3/clusters/:cluster_id/topics",
    route(async (c, links, caller) => {
      const ops = queryFlag(c, "include_authorized_operations");
      const md = await metadata(caller.client, null, { authorizedOperations: ops });
      const data = md.topics
        .filter((t) => t.errorCode === ErrorCode.NONE && t.name !== null)
        .sort((a, b) => (a.name! < b.name! ? -1 : 1))
        .map((t) => topicData(links, t, ops));
      return jsonResponse(collection("KafkaTopicList", links.url("topics"), data), 200);
    }),
  );
  app.post(
    "/v3/clusters/:cluster_id/topics",
    route(async (c, links, caller) => {
      const body = asObject(await readJson(c), "the topic");
      const name = body["topic_name"];
      if (typeof name !== "string" || name === "") {
        throw new RestError(RestCode.UNPROCESSABLE, `Cannot create a topic: "topic_name" is required`);
      }
      const int = (v: unknown, what: string) => {
        if (v === undefined || v === null) return -1;
        if (typeof v !== "number" || !Number.isInteger(v)) {
          throw new RestError(RestCode.BAD_REQUEST, `Cannot create topic "${name}": ${what} must be an integer`);
        }
        return v;
      };
      let partitions = int(body["partitions_count"], "partitions_count");
      let replicationFactor = int(body["replication_factor"], "replication_factor");
      const assignments: { partitionIndex: number; brokerIds: number[] }[] = [];
      const given = body["replicas_assignments"];
      if (given !== undefined && given !== null) {
        for (const [p, brokers] of Object.entries(asObject(given, "replicas_assignments"))) {
          if (!Array.isArray(brokers) || !brokers.every((b) => Number.isInteger(b))) {
            throw new RestError(RestCode.BAD_REQUEST, `Cannot read replicas_assignments of partition ${p}`);
          }
          assignments.push({
            partitionIndex: intParam(p, "Partition", { errorCode: RestCode.BAD_REQUEST }),
            brokerIds: brokers as number[],
          });
        }
        if (assignments.length > 0) {
          // As Confluent: explicit assignments decide the count and factor.
          partitions = -1;
          replicationFactor = -1;
        }
      }
      const configs: { name: string; value: string | null }[] = [];
      const givenConfigs = body["configs"];
      if (givenConfigs !== undefined && givenConfigs !== null) {
        if (!Array.isArray(givenConfigs)) throw new RestError(RestCode.BAD_REQUEST, `"configs" must be an array`);
        for (const e of givenConfigs) {
          const o = asObject(e, "a config");
          if (typeof o["name"] !== "string") throw new RestError(RestCode.BAD_REQUEST, `Each config needs a "name"`);
          configs.push({
            name: o["name"],
            value: o["value"] === undefined || o["value"] === null ? null : String(o["value"]),
          });
        }
      }
      const validateOnly = body["validate_only"] === true;
      const { response } = await caller.client.send(CREATE_TOPICS_API, () => ({
        topics: [{ name, numPartitions: partitions, replicationFactor, assignments, configs }],
        timeoutMs: 30000,
        validateOnly,
      }), { minVersion: 2 });
      const r = response.topics[0];
      if (r === undefined) throw new RestError(RestCode.KAFKA_ERROR, "The broker sent no CreateTopics result");
      if (r.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS) {
        throw new RestError(RestCode.KAFKA_BAD_REQUEST, `Topic '${name}' already exists.`);
      }
      if (r.errorCode !== ErrorCode.NONE) {
        throw kafkaError(r.errorCode, r.errorCode === ErrorCode.TOPIC_AUTHORIZATION_FAILED ? name : r.errorMessage);
      }
      const data = {
        ...resource("KafkaTopic", links.url("topics", name), links.crn(["topic", name])),
        cluster_id: links.clusterId,
        topic_name: name,
        is_internal: false,
        replication_factor: r.replicationFactor > 0 ? r.replicationFactor : Math.max(0, replicationFactor),
        partitions_count: r.numPartitions > 0 ? r.numPartitions : Math.max(0, partitions),
        partitions: links.related("topics", name, "partitions"),
        configs: links.related("topics", name, "configs"),
        partition_reassignments: links.related("topics", name, "partitions", "-", "reassignment"),
      };
      const res = jsonResponse(data, validateOnly ? 200 : 201);
      res.headers.set("location", links.url("topics", name));
      return res;
    }),
  );
  app.get(
    "/v3/clusters/:cluster_id/topics/:topic_name",
    route(async (c, links, caller) => {
      const ops = queryFlag(c, "include_authorized_operations");
      const { topic } = await topicMetadata(caller.client, c.req.param("topic_name")!, { authorizedOperations: ops });
      return jsonResponse(topicData(links, topic, ops), 200);
    }),
  );
  app.patch(
    "/v3/clusters/:cluster_id/topics/:topic_name",
    route(async (c, links, caller) => {
      const name = c.req.param("topic_name")!;
      const body = await readJson(c, { optional: true });
      if (body === undefined) {
        throw new RestError(
          RestCode.INVALID_PAYLOAD,
          "Payload error. Request body is empty. Partitions_count is required.",
        );
      }
      const count = asObject(body, "the update")["partitions_count"];
      if (typeof count !== "number" || !Number.isInteger(count)) {
        throw new RestError(RestCode.UNPROCESSABLE, `"partitions_count" must be an integer`);
      }
      const { response } = await caller.client.send(CREATE_PARTITIONS_API, () => ({
        topics: [{ name, count, assignments: null }],
        timeoutMs: 30000,
        validateOnly: false,
      }));
      const r = response.results[0];
      if (r === undefined) throw new RestError(RestCode.KAFKA_ERROR, "The broker sent no CreatePartitions result");
      if (r.errorCode !== ErrorCode.NONE) {
        throw kafkaError(r.errorCode, r.errorCode === ErrorCode.TOPIC_AUTHORIZATION_FAILED ? name : r.errorMessage);
      }
      const { topic } = await topicMetadata(caller.client, name);
      return jsonResponse(topicData(links, topic, false), 200);
    }),
  );
  app.delete(
    "/v3/clusters/:cluster_id/topics/:topic_name",
    route(async (c, _links, caller) => {
      const name = c.req.param("topic_name")!;
      const { response } = await caller.client.send(
        DELETE_TOPICS_API,
        (v) => (v >= 6 ? { topics: [{ name }], timeoutMs: 30000 } : { topicNames: [name], timeoutMs: 30000 }),
        { minVersion: 1 },
      );
      const r = response.responses[0];
      if (r === undefined) throw new RestError(RestCode.KAFKA_ERROR, "The broker sent no DeleteTopics result");
      if (r.errorCode !== ErrorCode.NONE) {
        throw kafkaError(r.errorCode, r.errorCode === ErrorCode.TOPIC_AUTHORIZATION_FAILED ? name : r.errorMessage);
      }
      return new Response(null, { status: 204 });
    }),
  );

  // Topic configs
  // Before the `:topic_name` routes: `-` means every topic.
  app.get(
    "/v3/clusters/:cluster_id/topics/-/configs",
    route(async (_c, links, caller) => {
      const md = await metadata(caller.client, null);
      const names = md.topics.filter((t) => t.errorCode === ErrorCode.NONE && t.name !== null).map((t) => t.name!)
        .sort();
      const data: unknown[] = [];
      for (const topic of names) {
        const owner: ConfigOwner = { kind: "topic", topic };
        for (const x of await describeConfigs(caller.client, owner, null)) data.push(configData(links, owner, x));
      }
      return jsonResponse(collection("KafkaTopicConfigList", links.url("topics", "-", "configs"), data), 200);
    }),
  );
  app.get(
    "/v3/clusters/:cluster_id/topics/:topic_name/configs",
    route(async (c, links, caller) => {
      const owner = configOwnerOf(c, "topic") as { kind: "topic"; topic: string };
      const configs = await describeConfigs(caller.client, owner, null);
      return jsonResponse(
        collection(
          "KafkaTopicConfigList",
          links.url("topics", owner.topic, "configs"),
          configs.map((x) => configData(links, owner, x)),
        ),
        200,
      );
    }),
  );
  mountConfigItem(app, "/v3/clusters/:cluster_id/topics/:topic_name/configs", "topic", route);

  // Partitions and replicas
  app.get(
    "/v3/clusters/:cluster_id/topics/:topic_name/partitions",
    route(async (c, links, caller) => {
      const name = c.req.param("topic_name")!;
      const { topic } = await topicMetadata(caller.client, name);
      const data = [...topic.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex).map((p) =>
        partitionData(links, name, p)
      );
      return jsonResponse(collection("KafkaPartitionList", links.url("topics", name, "partitions"), data), 200);
    }),
  );
  app.get(
    "/v3/clusters/:cluster_id/topics/:topic_name/partitions/:partition_id",
    route(async (c, links, caller) => {
      const name = c.req.param("topic_name")!;
      const { topic } = await topicMetadata(caller.client, name);
      const p = findPartition(
        topic,
        intParam(c.req.param("partition_id")!, "Partition", { errorCode: RestCode.PARTITION_NOT_FOUND }),
      );
      return jsonResponse(partitionData(links, name, p), 200);
    }),
  );
  app.get(
    "/v3/clusters/:cluster_id/topics/:topic_name/partitions/:partition_id/offset",
    route(async (c, links, caller) => {
      const name = c.req.param("topic_name")!;
      const { topic } = await topicMetadata(caller.client, name);
      const p = findPartition(
        topic,
        intParam(c.req.param("partition_id")!, "Partition", { errorCode: RestCode.PARTITION_NOT_FOUND }),
      );
      const type = (c.req.query("offset_type") ?? "earliest_and_latest").toLowerCase();
      if (!["earliest", "latest", "earliest_and_latest"].includes(type)) {
        throw new RestError(RestCode.BAD_REQUEST, `offset_type must be earliest, latest or earliest_and_latest`);
      }
      // Two requests: one ListOffsets names a partition once.
      const [lo] = await listOffsets(caller.client, [{
        topic: name,
        partition: p.partitionIndex,
        timestamp: OffsetSpec.EARLIEST,
      }]);
      const [hi] = await listOffsets(caller.client, [{
        topic: name,
        partition: p.partitionIndex,
        timestamp: OffsetSpec.LATEST,
      }]);
      for (const o of [lo!, hi!]) if (o.errorCode !== ErrorCode.NONE) throw kafkaError(o.errorCode, name);
      return jsonResponse({
        ...resource(
          "KafkaPartitionWithOffsets",
          links.url("topics", name, "partitions", p.partitionIndex, "offset"),
          links.crn(["topic", name], ["partition", p.partitionIndex], ["offset", type]),
        ),
        cluster_id: links.clusterId,
        topic_name: name,
        partition_id: p.partitionIndex,
        earliest_offset: Number(lo!.offset),
        latest_offset: Number(hi!.offset),
      }, 200);
    }),
  );
  app.get(
    "/v3/clusters/:cluster_id/topics/:topic_name/partitions/:partition_id/replicas",
    route(async (c, links, caller) => {
      const name = c.req.param("topic_name")!;
      const { topic } = await topicMetadata(caller.client, name);
      const p = findPartition(
        topic,
        intParam(c.req.param("partition_id")!, "Partition", { errorCode: RestCode.PARTITION_NOT_FOUND }),
      );
      const data = [...p.replicaNodes].sort((a, b) => a - b).map((b) => replicaData(links, name, p, b));
      return jsonResponse(
        collection("KafkaReplicaList", links.url("topics", name, "partitions", p.partitionIndex, "replicas"), data),
        200,
      );
    }),
  );
  app.get(
    "/v3/clusters/:cluster_id/topics/:topic_name/partitions/:partition_id/replicas/:broker_id",
    route(async (c, links, caller) => {
      const name = c.req.param("topic_name")!;
      const { topic } = await topicMetadata(caller.client, name);
      const p = findPartition(
        topic,
        intParam(c.req.param("partition_id")!, "Partition", { errorCode: RestCode.PARTITION_NOT_FOUND }),
      );
      const brokerId = intParam(c.req.param("broker_id")!, "Broker");
      if (!p.replicaNodes.includes(brokerId)) {
        throw new RestError(RestCode.NOT_FOUND, `Replica ${brokerId} of ${name}-${p.partitionIndex} cannot be found.`);
      }
      return jsonResponse(replicaData(links, name, p, brokerId), 200);
    }),
  );

  // Produce
  app.post("/v3/clusters/:cluster_id/topics/:topic_name/records", (c) => produceRecordsV3(c, ctx));
  app.post("/v3/clusters/:cluster_id/topics/:topic_name/:action{records:batch}", (c) => produceBatchV3(c, ctx));

  // Consumer groups
  app.get(
    "/v3/clusters/:cluster_id/consumer-groups",
    route(async (_c, links, caller) => {
      const { groups, errors } = await listGroups(caller.client);
      const first = errors[0];
      if (first !== undefined && groups.length === 0) throw kafkaError(first.errorCode);
      const data: unknown[] = [];
      for (const listing of groups) {
        const g = await describeGroup(caller.client, listing.groupId);
        if (g.errorCode !== ErrorCode.NONE) continue;
        data.push(groupData(links, g));
      }
      return jsonResponse(collection("KafkaConsumerGroupList", links.url("consumer-groups"), data), 200);
    }),
  );
  app.get(
    "/v3/clusters/:cluster_id/consumer-groups/:group_id",
    route(async (c, links, caller) =>
      jsonResponse(groupData(links, await groupOrNotFound(caller.client, c.req.param("group_id")!)), 200)
    ),
  );
  app.get(
    "/v3/clusters/:cluster_id/consumer-groups/:group_id/consumers",
    route(async (c, links, caller) => {
      const g = await groupOrNotFound(caller.client, c.req.param("group_id")!);
      const data = [...g.members].sort((a, b) => (a.memberId < b.memberId ? -1 : 1)).map((m) =>
        consumerData(links, g.groupId, m)
      );
      return jsonResponse(
        collection("KafkaConsumerList", links.url("consumer-groups", g.groupId, "consumers"), data),
        200,
      );
    }),
  );
  const memberOf = (g: GroupDescription, consumerId: string) => {
    const m = g.members.find((x) => x.memberId === consumerId);
    if (m === undefined) throw new RestError(RestCode.NOT_FOUND, `Consumer ${consumerId} cannot be found.`);
    return m;
  };
  app.get(
    "/v3/clusters/:cluster_id/consumer-groups/:group_id/consumers/:consumer_id",
    route(async (c, links, caller) => {
      const g = await groupOrNotFound(caller.client, c.req.param("group_id")!);
      return jsonResponse(consumerData(links, g.groupId, memberOf(g, c.req.param("consumer_id")!)), 200);
    }),
  );
  const assignmentData = (links: Links, groupId: string, consumerId: string, topic: string, partition: number) => ({
    ...resource(
      "KafkaConsumerAssignment",
      links.url("consumer-groups", groupId, "consumers", consumerId, "assignments", topic, "partitions", partition),
      links.crn(["consumer-group", groupId], ["consumer", consumerId], ["assignment", topic], ["partition", partition]),
    ),
    cluster_id: links.clusterId,
    consumer_group_id: groupId,
    consumer_id: consumerId,
    topic_name: topic,
    partition_id: partition,
    partition: links.related("topics", topic, "partitions", partition),
    lag: links.related("consumer-groups", groupId, "lags", topic, "partitions", partition),
  });
  const assignmentsOf = (m: GroupDescription["members"][number]) =>
    (m.assignment ?? []).flatMap((tp) => [...tp.partitions].sort((a, b) => a - b).map((p) => [tp.topic, p] as const))
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
  app.get(
    "/v3/clusters/:cluster_id/consumer-groups/:group_id/consumers/:consumer_id/assignments",
    route(async (c, links, caller) => {
      const g = await groupOrNotFound(caller.client, c.req.param("group_id")!);
      const m = memberOf(g, c.req.param("consumer_id")!);
      const data = assignmentsOf(m).map(([t, p]) => assignmentData(links, g.groupId, m.memberId, t, p));
      return jsonResponse(
        collection(
          "KafkaConsumerAssignmentList",
          links.url("consumer-groups", g.groupId, "consumers", m.memberId, "assignments"),
          data,
        ),
        200,
      );
    }),
  );
  app.get(
    "/v3/clusters/:cluster_id/consumer-groups/:group_id/consumers/:consumer_id/assignments/:topic_name/partitions/:partition_id",
    route(async (c, links, caller) => {
      const g = await groupOrNotFound(caller.client, c.req.param("group_id")!);
      const m = memberOf(g, c.req.param("consumer_id")!);
      const topic = c.req.param("topic_name")!;
      const partition = intParam(c.req.param("partition_id")!, "Partition");
      if (!assignmentsOf(m).some(([t, p]) => t === topic && p === partition)) {
        throw new RestError(
          RestCode.NOT_FOUND,
          `Assignment ${topic}-${partition} of consumer ${m.memberId} cannot be found.`,
        );
      }
      return jsonResponse(assignmentData(links, g.groupId, m.memberId, topic, partition), 200);
    }),
  );
  app.get(
    "/v3/clusters/:cluster_id/consumer-groups/:group_id/lags",
    route(async (c, links, caller) => {
      const g = await groupOrNotFound(caller.client, c.req.param("group_id")!);
      const data = (await groupLags(caller.client, g)).map((r) => lagData(links, g.groupId, r));
      return jsonResponse(
        collection("KafkaConsumerLagList", links.url("consumer-groups", g.groupId, "lags"), data),
        200,
      );
    }),
  );
  app.get(
    "/v3/clusters/:cluster_id/consumer-groups/:group_id/lags/:topic_name/partitions/:partition_id",
    route(async (c, links, caller) => {
      const g = await groupOrNotFound(caller.client, c.req.param("group_id")!);
      const topic = c.req.param("topic_name")!;
      const partition = intParam(c.req.param("partition_id")!, "Partition");
      const row = (await groupLags(caller.client, g)).find((r) => r.topic === topic && r.partition === partition);
      if (row === undefined) {
        throw new RestError(
          RestCode.NOT_FOUND,
          `Consumer lag of ${topic}-${partition} in group ${g.groupId} cannot be found.`,
        );
      }
      return jsonResponse(lagData(links, g.groupId, row), 200);
    }),
  );
  app.get(
    "/v3/clusters/:cluster_id/consumer-groups/:group_id/lag-summary",
    route(async (c, links, caller) => {
      const g = await groupOrNotFound(caller.client, c.req.param("group_id")!);
      const rows = await groupLags(caller.client, g);
      let max: LagRow | null = null;
      let total = 0n;
      for (const r of rows) {
        total += r.lag;
        if (max === null || r.lag > max.lag) max = r;
      }
      return jsonResponse({
        ...resource(
          "KafkaConsumerGroupLagSummary",
          links.url("consumer-groups", g.groupId, "lag-summary"),
          links.crn(["consumer-group", g.groupId], ["lag-summary", ""]).replace(/=$/, ""),
        ),
        cluster_id: links.clusterId,
        consumer_group_id: g.groupId,
        max_lag_consumer_id: max?.consumerId ?? "",
        max_lag_instance_id: max?.instanceId ?? null,
        max_lag_client_id: max?.clientId ?? "",
        max_lag_topic_name: max?.topic ?? "",
        max_lag_partition_id: max?.partition ?? 0,
        max_lag: Number(max?.lag ?? 0n),
        total_lag: Number(total),
        max_lag_consumer: links.related("consumer-groups", g.groupId, "consumers", max?.consumerId ?? ""),
        max_lag_partition: links.related("topics", max?.topic ?? "", "partitions", max?.partition ?? 0),
      }, 200);
    }),
  );
}

/** GET, PUT (`{"value": …}`), DELETE of one config, and POST `configs:alter` (`{"data": [...]}`). */
function mountConfigItem(
  app: Hono<HttpEnv>,
  prefix: string,
  kind: "topic" | "broker" | "cluster",
  route: (handler: Handler) => (c: Ctx) => Promise<Response>,
): void {
  app.get(
    `${prefix}/:name`,
    route(async (c, links, caller) => {
      const owner = configOwnerOf(c, kind);
      const name = c.req.param("name")!;
      const found = (await describeConfigs(caller.client, owner, name)).find((x) => x.name === name);
      if (found === undefined) throw new RestError(RestCode.NOT_FOUND, `Config ${name} cannot be found.`);
      return jsonResponse(configData(links, owner, found), 200);
    }),
  );
  app.put(
    `${prefix}/:name`,
    route(async (c, _links, caller) => {
      const owner = configOwnerOf(c, kind);
      const body = asObject(await readJson(c), "the config update");
      const value = body["value"] === undefined || body["value"] === null ? null : String(body["value"]);
      await alterConfigs(caller.client, owner, [{
        name: c.req.param("name")!,
        operation: AlterConfigOpType.SET,
        value,
      }], false);
      return new Response(null, { status: 204 });
    }),
  );
  app.delete(
    `${prefix}/:name`,
    route(async (c, _links, caller) => {
      const owner = configOwnerOf(c, kind);
      await alterConfigs(
        caller.client,
        owner,
        [{ name: c.req.param("name")!, operation: AlterConfigOpType.DELETE, value: null }],
        false,
      );
      return new Response(null, { status: 204 });
    }),
  );
  // `…/configs:alter` (broker-configs:alter for the cluster): the last segment carries the colon.
  const alterPath = kind === "cluster"
    ? prefix.replace(/\/broker-configs$/, "/:action{broker-configs:alter}")
    : prefix.replace(/\/configs$/, "/:action{configs:alter}");
  app.post(
    alterPath,
    route(async (c, _links, caller) => {
      const { alterations, validateOnly } = parseAlterations(await readJson(c));
      await alterConfigs(caller.client, configOwnerOf(c, kind), alterations, validateOnly);
      return new Response(null, { status: 204 });
    }),
  );
}
