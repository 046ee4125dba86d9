/**
 * The ACL model, as Kafka's `org.apache.kafka.common.acl` and `.resource` packages define it: an
 * ACL binding is a resource pattern (type, name, LITERAL or PREFIXED) and an entry (principal,
 * host, operation, ALLOW or DENY); a filter has the same fields, with ANY (and MATCH for the
 * pattern type) and null names standing for "whatever". Codes are the wire values; an unknown code
 * stands for Kafka's UNKNOWN.
 *
 * @module
 */

import {
  AclOperation as KafkaAclOperation,
  AclPatternType,
  AclPermissionType as KafkaAclPermissionType,
  AclResourceType,
} from "../../protocol/generated/configs.ts";

/** ResourceType codes (Kafka's `ResourceType`). */
export const ResourceType = AclResourceType;
export type ResourceType = AclResourceType;

/** PatternType codes (KIP-290). ANY and MATCH appear only in filters. */
export const PatternType = AclPatternType;
export type PatternType = AclPatternType;

/**
 * AclOperation codes. ANY appears only in filters. TWO_PHASE_COMMIT (KIP-939) is left out: kbin
 * does not serve two-phase commit (InitProducerId v6 is unstable in Kafka 4.3.1).
 */
const { TWO_PHASE_COMMIT: _twoPhaseCommit, ...OPERATIONS } = KafkaAclOperation;
export const AclOperation = OPERATIONS;
export type AclOperation = (typeof AclOperation)[keyof typeof AclOperation];

/** AclPermissionType codes. ANY appears only in filters. */
export const AclPermissionType = KafkaAclPermissionType;
export type AclPermissionType = KafkaAclPermissionType;

/** The one name a CLUSTER resource has. */
export const CLUSTER_NAME = "kafka-cluster";
/** The resource name and host that match every name and host. */
export const WILDCARD = "*";
/** The principal that matches every user. */
export const WILDCARD_PRINCIPAL = "User:*";

/** An ACL binding: who may (or may not) do what on which resources, from where. */
export interface AclBinding {
  resourceType: number;
  resourceName: string;
  patternType: number;
  principal: string;
  host: string;
  operation: number;
  permissionType: number;
}

/** A filter over ACL bindings; null strings match anything. */
export interface AclFilter {
  resourceType: number;
  resourceName: string | null;
  patternType: number;
  principal: string | null;
  host: string | null;
  operation: number;
  permissionType: number;
}

function nameOf(table: Record<string, number>, code: number): string {
  return Object.entries(table).find(([, c]) => c === code)?.[0] ?? "UNKNOWN";
}

/** The name of a resource type code ("TOPIC"), UNKNOWN for a code Kafka does not define. */
export function resourceTypeName(code: number): string {
  return nameOf(ResourceType, code);
}
/** The name of a pattern type code ("PREFIXED"). */
export function patternTypeName(code: number): string {
  return nameOf(PatternType, code);
}
/** The name of an operation code ("DESCRIBE_CONFIGS"). */
export function operationName(code: number): string {
  return nameOf(AclOperation, code);
}
/** The name of a permission type code ("ALLOW"). */
export function permissionTypeName(code: number): string {
  return nameOf(AclPermissionType, code);
}

const known = (table: Record<string, number>, code: number) => code !== 0 && Object.values(table).includes(code);

/**
 * Why a binding cannot be created, as Kafka's controller (`AclControlManager.validateNewAcl`) and
 * `AclApis.handleCreateAcls` say it: INVALID_REQUEST for UNKNOWN or ANY values, a pattern type
 * other than LITERAL or PREFIXED, an empty resource name, a principal without "Type:", a CLUSTER
 * resource not named "kafka-cluster".
 * @param b the binding
 * @returns the error message, or null when the binding is valid
 */
export function bindingError(b: AclBinding): string | null {
  if (!known(ResourceType, b.resourceType) || b.resourceType === ResourceType.ANY) {
    return `Invalid resourceType ${resourceTypeName(b.resourceType)}`;
  }
  if (b.patternType !== PatternType.LITERAL && b.patternType !== PatternType.PREFIXED) {
    return `Invalid patternType ${patternTypeName(b.patternType)}`;
  }
  if (!known(AclOperation, b.operation) || b.operation === AclOperation.ANY) {
    return `Invalid operation ${operationName(b.operation)}`;
  }
  if (b.permissionType !== AclPermissionType.ALLOW && b.permissionType !== AclPermissionType.DENY) {
    return `Invalid permissionType ${permissionTypeName(b.permissionType)}`;
  }
  if (b.resourceType === ResourceType.CLUSTER && b.resourceName !== CLUSTER_NAME) {
    return `The only valid name for the CLUSTER resource is ${CLUSTER_NAME}`;
  }
  if (b.resourceName === "") return "Resource name should not be empty";
  if (!b.principal.includes(":")) {
    return `Could not parse principal from \`${b.principal}\` (no colon is present separating the principal type from the principal name)`;
  }
  return null;
}

/**
 * Why a filter cannot be used (Kafka's `AclControlManager.validateFilter`: UNKNOWN values).
 * @param f the filter
 * @returns the error message, or null when the filter is valid
 */
export function filterError(f: AclFilter): string | null {
  if (!known(ResourceType, f.resourceType) || !known(PatternType, f.patternType)) return "Unknown patternFilter.";
  if (!known(AclOperation, f.operation) || !known(AclPermissionType, f.permissionType)) return "Unknown entryFilter.";
  return null;
}

/**
 * Whether a filter matches a binding (Kafka's `ResourcePatternFilter.matches` and
 * `AccessControlEntryFilter.matches`). A filter's name with pattern type ANY or the binding's own
 * type must equal the binding's; with MATCH it also matches the bindings that would apply to a
 * resource of that name: LITERAL "*" and PREFIXED patterns the name starts with.
 * @param f the filter (valid)
 * @param b the binding
 * @returns true when it matches
 */
export function filterMatches(f: AclFilter, b: AclBinding): boolean {
  if (f.resourceType !== ResourceType.ANY && f.resourceType !== b.resourceType) return false;
  if (f.patternType !== PatternType.ANY && f.patternType !== PatternType.MATCH && f.patternType !== b.patternType) {
    return false;
  }
  if (f.resourceName !== null) {
    if (f.patternType === PatternType.ANY || f.patternType === b.patternType) {
      if (f.resourceName !== b.resourceName) return false;
    } else if (b.patternType === PatternType.LITERAL) {
      if (f.resourceName !== b.resourceName && b.resourceName !== WILDCARD) return false;
    } else if (!f.resourceName.startsWith(b.resourceName)) return false;
  }
  if (f.principal !== null && f.principal !== b.principal) return false;
  if (f.host !== null && f.host !== b.host) return false;
  if (f.operation !== AclOperation.ANY && f.operation !== b.operation) return false;
  return f.permissionType === AclPermissionType.ANY || f.permissionType === b.permissionType;
}

/** A binding in one line, as Kafka's `kafka-acls.sh` shows it, for logs and the CLI. */
export function describeBinding(b: AclBinding): string {
  return `${resourceTypeName(b.resourceType)}:${patternTypeName(b.patternType)}:${b.resourceName} ${
    permissionTypeName(b.permissionType)
  } ${b.principal} ${operationName(b.operation)} from ${b.host}`;
}

/** A stable identity of a binding (its storage key). */
export function bindingKey(b: AclBinding): string {
  return JSON.stringify([
    b.resourceType,
    b.resourceName,
    b.patternType,
    b.principal,
    b.host,
    b.operation,
    b.permissionType,
  ]);
}

/** Orders bindings by resource (type, name, pattern type), then entry. */
export function compareBindings(a: AclBinding, b: AclBinding): number {
  return a.resourceType - b.resourceType || cmp(a.resourceName, b.resourceName) ||
    a.patternType - b.patternType || cmp(a.principal, b.principal) || cmp(a.host, b.host) ||
    a.operation - b.operation || a.permissionType - b.permissionType;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const O = AclOperation;
/**
 * The operations each resource type supports (Kafka's `AclEntry.supportedOperations`), for the
 * authorized-operations fields of KIP-430.
 */
export const SUPPORTED_OPERATIONS: Readonly<Record<number, readonly number[]>> = {
  [ResourceType.TOPIC]: [O.READ, O.WRITE, O.CREATE, O.DESCRIBE, O.DELETE, O.ALTER, O.DESCRIBE_CONFIGS, O.ALTER_CONFIGS],
  [ResourceType.GROUP]: [O.READ, O.DESCRIBE, O.DELETE, O.DESCRIBE_CONFIGS, O.ALTER_CONFIGS],
  [ResourceType.CLUSTER]: [
    O.CREATE,
    O.CLUSTER_ACTION,
    O.DESCRIBE_CONFIGS,
    O.ALTER_CONFIGS,
    O.IDEMPOTENT_WRITE,
    O.ALTER,
    O.DESCRIBE,
  ],
  [ResourceType.TRANSACTIONAL_ID]: [O.DESCRIBE, O.WRITE],
  [ResourceType.DELEGATION_TOKEN]: [O.DESCRIBE],
  [ResourceType.USER]: [O.CREATE_TOKENS, O.DESCRIBE_TOKENS],
};

/**
 * The host an ACL is checked against for a connection's remote address ("1.2.3.4:5678",
 * "[::1]:5678"): the address without the port, IPv4-mapped IPv6 addresses as IPv4, as Java's
 * `InetAddress.getHostAddress()` gives it to Kafka's authorizer.
 * @param remote the connection's remote address
 * @returns the host
 */
export function hostOfRemote(remote: string): string {
  const i = remote.lastIndexOf(":");
  let host = i < 0 ? remote : remote.slice(0, i);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  return mapped ? mapped[1]! : host;
}

/**
 * The KIP-430 bit field of the operations a check allows on a resource (`1 << operation` for
 * each operation the resource type supports).
 */
export function allowedOperations(
  allowed: (operation: number, resourceType: number, resourceName: string) => boolean,
  resourceType: number,
  resourceName: string,
): number {
  let bits = 0;
  for (const op of SUPPORTED_OPERATIONS[resourceType] ?? []) {
    if (allowed(op, resourceType, resourceName)) bits |= 1 << op;
  }
  return bits;
}

/** Kafka's "not requested" value for authorized-operations fields (KIP-430). */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;
