/**
 * The authorizer: whether a principal connected from a host may perform an operation on a
 * resource, with the semantics of Kafka's StandardAuthorizer (`StandardAuthorizerData`):
 *
 * - without `authorizer.class.name` there is no authorizer and everything is allowed;
 * - the principals of `super.users` ("User:a;User:b") may do everything;
 * - the ACLs that apply to a resource are its LITERAL ones, the LITERAL "*" ones of its type and
 *   the PREFIXED ones whose name starts the resource's (KIP-290);
 * - of those, one applies to the request when its principal is the request's or "User:*", its host
 *   the request's or "*", and its operation the requested one or ALL; an ALLOW of READ, WRITE,
 *   DELETE or ALTER also allows DESCRIBE, and an ALLOW of ALTER_CONFIGS allows DESCRIBE_CONFIGS
 *   (a DENY implies nothing);
 * - a DENY that applies wins over any ALLOW; without either the request is denied, unless the
 *   resource has no ACL at all, in which case `allow.everyone.if.no.acl.found` decides.
 *
 * Pure: it works on a snapshot of the bindings ({@link AclCache} keeps one current).
 *
 * @module
 */

import {
  type AclBinding,
  AclOperation,
  AclPermissionType,
  PatternType,
  SUPPORTED_OPERATIONS,
  WILDCARD,
  WILDCARD_PRINCIPAL,
} from "./model.ts";

/** The settings the authorizer follows (Kafka's names). */
export interface AuthorizerSettings {
  /** `authorizer.class.name` is set: ACLs are checked. */
  readonly enabled: boolean;
  /** `super.users`: principals allowed everything. */
  readonly superUsers: ReadonlySet<string>;
  /** `allow.everyone.if.no.acl.found`. */
  readonly allowIfNoAcl: boolean;
}

/** Who asks: the connection's principal ("User:alice") and host (an address). */
export interface Session {
  principal: string;
  host: string;
}

/** What is asked for: an operation on a named resource. */
export interface Action {
  operation: number;
  resourceType: number;
  resourceName: string;
}

/**
 * Reads the authorizer's settings from a broker configuration.
 * @param config `authorizer.class.name`, `super.users` and `allow.everyone.if.no.acl.found`
 * @returns the settings
 */
export function authorizerSettings(config: {
  get(name: string): string | null;
  bool(name: string): boolean;
}): AuthorizerSettings {
  return {
    enabled: (config.get("authorizer.class.name") ?? "").trim() !== "",
    superUsers: new Set((config.get("super.users") ?? "").split(";").map((s) => s.trim()).filter((s) => s !== "")),
    allowIfNoAcl: config.bool("allow.everyone.if.no.acl.found"),
  };
}

const IMPLIES_DESCRIBE: ReadonlySet<number> = new Set([
  AclOperation.DESCRIBE,
  AclOperation.READ,
  AclOperation.WRITE,
  AclOperation.DELETE,
  AclOperation.ALTER,
]);
const IMPLIES_DESCRIBE_CONFIGS: ReadonlySet<number> = new Set([
  AclOperation.DESCRIBE_CONFIGS,
  AclOperation.ALTER_CONFIGS,
]);

/** The ACLs of one resource type, indexed for look-ups by resource name. */
interface TypeIndex {
  literal: Map<string, AclBinding[]>;
  prefixed: AclBinding[];
}

/** Kafka's `findResult`: what one ACL of the resource says about the request, or null. */
function verdict(acl: AclBinding, session: Session, operation: number): boolean | null {
  if (acl.principal !== session.principal && acl.principal !== WILDCARD_PRINCIPAL) return null;
  if (acl.host !== WILDCARD && acl.host !== session.host) return null;
  if (acl.operation !== AclOperation.ALL) {
    if (acl.permissionType === AclPermissionType.ALLOW) {
      if (operation === AclOperation.DESCRIBE) {
        if (!IMPLIES_DESCRIBE.has(acl.operation)) return null;
      } else if (operation === AclOperation.DESCRIBE_CONFIGS) {
        if (!IMPLIES_DESCRIBE_CONFIGS.has(acl.operation)) return null;
      } else if (acl.operation !== operation) return null;
    } else if (acl.operation !== operation) return null;
  }
  return acl.permissionType === AclPermissionType.ALLOW;
}

/** Decides requests against one snapshot of the ACL bindings. */
export class Authorizer {
  readonly settings: AuthorizerSettings;
  readonly #byType = new Map<number, TypeIndex>();

  /**
   * @param settings the authorizer's settings
   * @param bindings every ACL binding (valid ones; see `bindingError`)
   */
  constructor(settings: AuthorizerSettings, bindings: Iterable<AclBinding>) {
    this.settings = settings;
    for (const b of bindings) {
      let index = this.#byType.get(b.resourceType);
      if (!index) this.#byType.set(b.resourceType, index = { literal: new Map(), prefixed: [] });
      if (b.patternType === PatternType.PREFIXED) index.prefixed.push(b);
      else if (b.patternType === PatternType.LITERAL) {
        const list = index.literal.get(b.resourceName);
        if (list) list.push(b);
        else index.literal.set(b.resourceName, [b]);
      }
    }
  }

  /** Whether ACLs are checked at all (`authorizer.class.name` is set). */
  get enabled(): boolean {
    return this.settings.enabled;
  }

  /**
   * Whether a session may perform an action.
   * @param session the principal and host asking
   * @param action the operation and the resource
   * @returns true when allowed
   * @example
   * authorizer.authorize({ principal: "User:alice", host: "10.0.0.7" },
   *   { operation: AclOperation.READ, resourceType: ResourceType.TOPIC, resourceName: "orders" });
   */
  authorize(session: Session, action: Action): boolean {
    if (!this.settings.enabled) return true;
    if (this.settings.superUsers.has(session.principal)) return true;
    const index = this.#byType.get(action.resourceType);
    if (!index) return this.settings.allowIfNoAcl;
    const name = action.resourceName;
    let hasResourceAcls = false;
    let allowed = false;
    const consider = (acls: readonly AclBinding[] | undefined): boolean => {
      for (const acl of acls ?? []) {
        hasResourceAcls = true;
        const v = verdict(acl, session, action.operation);
        if (v === false) return true;
        if (v === true) allowed = true;
      }
      return false;
    };
    if (consider(index.literal.get(name))) return false;
    if (name !== WILDCARD && consider(index.literal.get(WILDCARD))) return false;
    if (consider(index.prefixed.filter((acl) => name.startsWith(acl.resourceName)))) return false;
    if (allowed) return true;
    return hasResourceAcls ? false : this.settings.allowIfNoAcl;
  }

  /**
   * Whether a session may perform an operation on some resource of a type, as Kafka's
   * `Authorizer.authorizeByResourceType` (used for an idempotent producer's WRITE on any topic):
   * allowed when {@link authorize} allows an unnamed resource (super users, no ACLs with
   * `allow.everyone.if.no.acl.found`), or when an ALLOW ACL for the operation (or ALL) exists that
   * no DENY ACL dominates (a literal DENY of the same name, a prefixed DENY of a prefix of it, or a
   * wildcard DENY). Implied operations do not count here, as in Kafka.
   * @param session the principal and host asking
   * @param operation the operation
   * @param resourceType the resource type
   * @returns true when allowed
   */
  authorizeByResourceType(session: Session, operation: number, resourceType: number): boolean {
    if (this.authorize(session, { operation, resourceType, resourceName: "hardcode" })) return true;
    const index = this.#byType.get(resourceType);
    if (!index) return false;
    const denyLiteral = new Set<string>();
    const denyPrefixed = new Set<string>();
    const allowLiteral: string[] = [];
    const allowPrefixed: string[] = [];
    const all = [...index.literal.values()].flat().concat(index.prefixed);
    for (const acl of all) {
      if (acl.host !== WILDCARD && acl.host !== session.host) continue;
      if (acl.principal !== session.principal && acl.principal !== WILDCARD_PRINCIPAL) continue;
      if (acl.operation !== operation && acl.operation !== AclOperation.ALL) continue;
      const literal = acl.patternType === PatternType.LITERAL;
      if (acl.permissionType === AclPermissionType.DENY) {
        if (literal && acl.resourceName === WILDCARD) return false;
        (literal ? denyLiteral : denyPrefixed).add(acl.resourceName);
      } else if (acl.permissionType === AclPermissionType.ALLOW) {
        if (literal && acl.resourceName === WILDCARD) return true;
        (literal ? allowLiteral : allowPrefixed).push(acl.resourceName);
      }
    }
    const dominated = (name: string) => {
      for (let i = 1; i <= name.length; i++) if (denyPrefixed.has(name.slice(0, i))) return true;
      return false;
    };
    return allowLiteral.some((name) => !denyLiteral.has(name) && !dominated(name)) ||
      allowPrefixed.some((name) => !dominated(name));
  }

  /**
   * The operations a session may perform on a resource, as the bit field of KIP-430
   * (`1 << operation` for each supported operation that {@link authorize} allows).
   * @param session the principal and host asking
   * @param resource the resource type and name
   * @returns the bit field
   */
  authorizedOperations(session: Session, resource: { resourceType: number; resourceName: string }): number {
    let bits = 0;
    for (const operation of SUPPORTED_OPERATIONS[resource.resourceType] ?? []) {
      if (this.authorize(session, { ...resource, operation })) bits |= 1 << operation;
    }
    return bits;
  }
}
