/**
 * `kbin acl`: ACLs, as Kafka's `kafka-acls.sh --add | --list | --remove` manages them, over
 * CreateAcls, DescribeAcls and DeleteAcls, so the commands work against any Kafka with an
 * authorizer.
 *
 * @module
 */

import {
  type AclBinding,
  type AclFilter,
  AclOperation,
  AclPermissionType,
  CLUSTER_NAME,
  describeBinding,
  operationName,
  PatternType,
  patternTypeName,
  permissionTypeName,
  ResourceType,
  resourceTypeName,
} from "../broker/acl/model.ts";
import type { KafkaClient } from "../client/client.ts";
import { DESCRIBE_ACLS_API } from "../protocol/generated/29_describe_acls.ts";
import { CREATE_ACLS_API } from "../protocol/generated/30_create_acls.ts";
import { DELETE_ACLS_API } from "../protocol/generated/31_delete_acls.ts";
import { CLIENT_OPTIONS, CLIENT_OPTIONS_HELP, parseSubcommand } from "./args.ts";
import { check, withClient } from "./client_env.ts";
import { CliError, type CliIo } from "./io.ts";

const CONNECTION_HELP = `Connection options:
${CLIENT_OPTIONS_HELP}`;

const OPERATIONS = Object.keys(AclOperation).filter((n) => n !== "UNKNOWN" && n !== "ANY");
const OPERATION_HELP = OPERATIONS.map((o) => o.toLowerCase().replaceAll("_", "-")).join(", ");

const RESOURCE_HELP = `  --topic NAME            A topic (its name, or the prefix with --prefixed; "*" for every topic)
  --group ID              A consumer group
  --transactional-id ID   A transactional id
  --cluster               The cluster (kafka-cluster)`;

const FILTER_HELP = `Filters (all optional; what is not given matches anything):
${RESOURCE_HELP}
  --pattern-type T        literal, prefixed, any (default: the name given, whatever its pattern type)
                          or match (every ACL that applies to the name: literal, "*" and prefixes)
  --prefixed              Short for --pattern-type prefixed
  --principal P           Principal, Type:name (User:alice)
  --host H                Host the ACL applies from
  --operation OP          One operation
  --allow | --deny        Permission type`;

const ADD_HELP = `Usage: kbin acl add --allow|--deny --principal User:NAME --operation OP [--operation OP]...
                   (--topic T | --group G | --transactional-id ID | --cluster)... [--prefixed] [--host H]

Adds ACLs: each principal is allowed (or denied) each operation on each resource, from the host
(default "*", any host). The broker needs an authorizer (authorizer.class.name) and the caller
ALTER on the cluster.
  --allow | --deny        Allow or deny
  --principal P           Principal, Type:name: User:alice, User:* for every user (repeatable)
  --operation OP          ${OPERATION_HELP} (repeatable)
${RESOURCE_HELP}
                          (--topic, --group and --transactional-id are repeatable)
  --prefixed              The names are prefixes (KIP-290): the ACL applies to every name
                          that starts with them
  --host H                The client address the ACL applies from (default "*")

${CONNECTION_HELP}`;

export const ACL_HELP = `Usage: kbin acl <command> [options]

Commands:
  add             Add ACLs (allow or deny principals operations on resources)
  list            List the ACLs that match filters (all of them without)
  remove          Remove the ACLs that match filters

Run "kbin acl <command> --help" for a command's options. They speak the Kafka protocol
(CreateAcls, DescribeAcls, DeleteAcls), so they work against any Kafka with an authorizer.
`;

const COMMANDS = {
  add: ADD_HELP,
  list: `Usage: kbin acl list [filters] [--json]

Lists the ACLs that match the filters, one per line: resource type, pattern type, resource name,
permission, principal, operation, host.
${FILTER_HELP}
  --json                  One JSON array

${CONNECTION_HELP}`,
  remove: `Usage: kbin acl remove [filters] [--force]

Removes the ACLs that match the filters. Without --force the matching ACLs are listed and
nothing is removed.
${FILTER_HELP}
  --force                 Remove them

${CONNECTION_HELP}`,
};

const OPTIONS = {
  ...CLIENT_OPTIONS,
  allow: { type: "boolean" },
  deny: { type: "boolean" },
  principal: { type: "string", multiple: true },
  operation: { type: "string", multiple: true },
  topic: { type: "string", multiple: true },
  group: { type: "string", multiple: true },
  "transactional-id": { type: "string", multiple: true },
  cluster: { type: "boolean" },
  prefixed: { type: "boolean" },
  "pattern-type": { type: "string" },
  host: { type: "string", multiple: true },
  json: { type: "boolean" },
  force: { type: "boolean" },
} as const;

const RESOURCE_OPTIONS = ["topic", "group", "transactional-id", "cluster"];
const FILTER_OPTIONS = [
  ...RESOURCE_OPTIONS,
  "prefixed",
  "pattern-type",
  "principal",
  "host",
  "operation",
  "allow",
  "deny",
];

type Values = {
  allow?: boolean | undefined;
  deny?: boolean | undefined;
  principal?: string[] | undefined;
  operation?: string[] | undefined;
  topic?: string[] | undefined;
  group?: string[] | undefined;
  "transactional-id"?: string[] | undefined;
  cluster?: boolean | undefined;
  prefixed?: boolean | undefined;
  "pattern-type"?: string | undefined;
  host?: string[] | undefined;
};

/** An operation from its name, as kafka-acls.sh spells it (Read, IdempotentWrite) or as Kafka's enum does. */
function parseOperation(cmd: string, text: string): number {
  const key = text.replace(/[-_\s]/g, "").toUpperCase();
  const name = OPERATIONS.find((o) => o.replaceAll("_", "") === key);
  if (name === undefined) throw new CliError(`${cmd}: unknown operation "${text}" (${OPERATION_HELP})`, 2);
  return AclOperation[name as keyof typeof AclOperation];
}

function parsePrincipal(cmd: string, text: string): string {
  const i = text.indexOf(":");
  if (i <= 0 || i === text.length - 1) {
    throw new CliError(`${cmd}: a principal is Type:name (User:alice, User:*), got "${text}"`, 2);
  }
  return text;
}

function one<T>(cmd: string, flag: string, values: T[] | undefined): T | undefined {
  if (values !== undefined && values.length > 1) throw new CliError(`${cmd}: give --${flag} once`, 2);
  return values?.[0];
}

function permission(cmd: string, v: Values): number | undefined {
  if (v.allow && v.deny) throw new CliError(`${cmd}: give --allow or --deny, not both`, 2);
  return v.allow ? AclPermissionType.ALLOW : v.deny ? AclPermissionType.DENY : undefined;
}

/** The resources named by --topic, --group, --transactional-id and --cluster. */
function resources(v: Values): { resourceType: number; resourceName: string }[] {
  return [
    ...(v.topic ?? []).map((n) => ({ resourceType: ResourceType.TOPIC, resourceName: n })),
    ...(v.group ?? []).map((n) => ({ resourceType: ResourceType.GROUP, resourceName: n })),
    ...(v["transactional-id"] ?? []).map((n) => ({ resourceType: ResourceType.TRANSACTIONAL_ID, resourceName: n })),
    ...(v.cluster ? [{ resourceType: ResourceType.CLUSTER, resourceName: CLUSTER_NAME }] : []),
  ];
}

function addBindings(cmd: string, v: Values): AclBinding[] {
  const permissionType = permission(cmd, v);
  if (permissionType === undefined) throw new CliError(`${cmd}: give --allow or --deny`, 2);
  const principals = (v.principal ?? []).map((p) => parsePrincipal(cmd, p));
  if (principals.length === 0) throw new CliError(`${cmd}: give at least one --principal Type:name`, 2);
  const operations = (v.operation ?? []).map((o) => parseOperation(cmd, o));
  if (operations.length === 0) throw new CliError(`${cmd}: give at least one --operation (${OPERATION_HELP})`, 2);
  const targets = resources(v);
  if (targets.length === 0) {
    throw new CliError(`${cmd}: give a resource: --topic, --group, --transactional-id or --cluster`, 2);
  }
  if (v["pattern-type"] !== undefined) throw new CliError(`${cmd}: use --prefixed for prefixed names`, 2);
  if (targets.some((t) => t.resourceName === "")) throw new CliError(`${cmd}: a resource name must not be empty`, 2);
  const patternType = v.prefixed ? PatternType.PREFIXED : PatternType.LITERAL;
  if (v.prefixed && v.cluster) throw new CliError(`${cmd}: --prefixed does not apply to --cluster`, 2);
  const host = one(cmd, "host", v.host) ?? "*";
  const out: AclBinding[] = [];
  for (const t of targets) {
    for (const principal of principals) {
      for (const operation of operations) {
        out.push({ ...t, patternType, principal, host, operation, permissionType });
      }
    }
  }
  return out;
}

function filterOf(cmd: string, v: Values): AclFilter {
  const targets = resources(v);
  if (targets.length > 1) throw new CliError(`${cmd}: give at most one resource to filter by`, 2);
  const pt = v["pattern-type"]?.toUpperCase();
  if (pt !== undefined && v.prefixed) throw new CliError(`${cmd}: give --prefixed or --pattern-type, not both`, 2);
  if (pt !== undefined && !["LITERAL", "PREFIXED", "ANY", "MATCH"].includes(pt)) {
    throw new CliError(`${cmd}: --pattern-type is literal, prefixed, any or match, got "${v["pattern-type"]}"`, 2);
  }
  const patternType = v.prefixed ? PatternType.PREFIXED : PatternType[(pt ?? "ANY") as "ANY"];
  const principal = one(cmd, "principal", v.principal);
  const operation = one(cmd, "operation", v.operation);
  return {
    resourceType: targets[0]?.resourceType ?? ResourceType.ANY,
    resourceName: targets[0]?.resourceName ?? null,
    patternType,
    principal: principal === undefined ? null : parsePrincipal(cmd, principal),
    host: one(cmd, "host", v.host) ?? null,
    operation: operation === undefined ? AclOperation.ANY : parseOperation(cmd, operation),
    permissionType: permission(cmd, v) ?? AclPermissionType.ANY,
  };
}

async function describe(client: KafkaClient, cmd: string, f: AclFilter): Promise<AclBinding[]> {
  const needsV1 = f.patternType !== PatternType.LITERAL;
  const { response } = await client.send(DESCRIBE_ACLS_API, () => ({
    resourceTypeFilter: f.resourceType,
    resourceNameFilter: f.resourceName,
    patternTypeFilter: f.patternType,
    principalFilter: f.principal,
    hostFilter: f.host,
    operation: f.operation,
    permissionType: f.permissionType,
  }), needsV1 ? { minVersion: 1 } : {});
  check(`${cmd}: cannot list ACLs`, response.errorCode, response.errorMessage);
  return response.resources.flatMap((r) =>
    r.acls.map((a) => ({
      resourceType: r.resourceType,
      resourceName: r.resourceName,
      patternType: r.patternType,
      principal: a.principal,
      host: a.host,
      operation: a.operation,
      permissionType: a.permissionType,
    }))
  );
}

function line(b: AclBinding): string {
  return [
    resourceTypeName(b.resourceType),
    patternTypeName(b.patternType),
    b.resourceName,
    permissionTypeName(b.permissionType),
    b.principal,
    operationName(b.operation),
    b.host,
  ].join("\t") + "\n";
}

function json(b: AclBinding) {
  return {
    resourceType: resourceTypeName(b.resourceType),
    patternType: patternTypeName(b.patternType),
    resourceName: b.resourceName,
    permission: permissionTypeName(b.permissionType),
    principal: b.principal,
    operation: operationName(b.operation),
    host: b.host,
  };
}

/** Runs `kbin acl`. */
export async function aclCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = parseSubcommand(args, io, {
    family: "acl",
    help: ACL_HELP,
    commands: COMMANDS,
    options: OPTIONS,
    ownOptions: {
      add: [...FILTER_OPTIONS],
      list: [...FILTER_OPTIONS, "json"],
      remove: [...FILTER_OPTIONS, "force"],
    },
  });
  if (typeof parsed === "number") return parsed;
  const { sub, cmd, values, positionals } = parsed;
  if (positionals.length > 0) throw new CliError(`${cmd}: unexpected argument "${positionals[0]}"`, 2);
  if (sub === "add") {
    const bindings = addBindings(cmd, values);
    return await withClient(cmd, io, values, async (client) => {
      const prefixed = bindings.some((b) => b.patternType !== PatternType.LITERAL);
      const { response } = await client.send(CREATE_ACLS_API, () => ({
        creations: bindings.map((b) => ({
          resourceType: b.resourceType,
          resourceName: b.resourceName,
          resourcePatternType: b.patternType,
          principal: b.principal,
          host: b.host,
          operation: b.operation,
          permissionType: b.permissionType,
        })),
      }), prefixed ? { minVersion: 1 } : {});
      let first: { errorCode: number; errorMessage: string | null; binding: AclBinding } | null = null;
      for (const [i, r] of response.results.entries()) {
        const binding = bindings[i]!;
        if (r.errorCode === 0) io.stdout(`Added ACL ${describeBinding(binding)}\n`);
        else first ??= { errorCode: r.errorCode, errorMessage: r.errorMessage, binding };
      }
      if (first) check(`${cmd}: cannot add ACL ${describeBinding(first.binding)}`, first.errorCode, first.errorMessage);
      return 0;
    });
  }
  const filter = filterOf(cmd, values);
  return await withClient(cmd, io, values, async (client) => {
    if (sub === "list") {
      const found = await describe(client, cmd, filter);
      if (values.json) io.stdout(JSON.stringify(found.map(json)) + "\n");
      else for (const b of found) io.stdout(line(b));
      return 0;
    }
    if (!values.force) {
      const found = await describe(client, cmd, filter);
      for (const b of found) io.stdout(line(b));
      if (found.length === 0) {
        io.stdout("No ACL matches\n");
        return 0;
      }
      throw new CliError(`${cmd}: ${found.length} ACL(s) match; run again with --force to remove them`);
    }
    const { response } = await client.send(DELETE_ACLS_API, () => ({
      filters: [{
        resourceTypeFilter: filter.resourceType,
        resourceNameFilter: filter.resourceName,
        patternTypeFilter: filter.patternType,
        principalFilter: filter.principal,
        hostFilter: filter.host,
        operation: filter.operation,
        permissionType: filter.permissionType,
      }],
    }), filter.patternType !== PatternType.LITERAL ? { minVersion: 1 } : {});
    const result = response.filterResults[0];
    if (!result) throw new CliError(`${cmd}: the broker answered no result`);
    check(`${cmd}: cannot remove ACLs`, result.errorCode, result.errorMessage);
    for (const m of result.matchingAcls) {
      check(`${cmd}: cannot remove an ACL`, m.errorCode, m.errorMessage);
      io.stdout(`Removed ACL ${describeBinding(m)}\n`);
    }
    if (result.matchingAcls.length === 0) io.stdout("No ACL matches\n");
    return 0;
  });
}
