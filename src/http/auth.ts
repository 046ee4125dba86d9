/**
 * Who is calling the HTTP plane. With `kbin.http.authentication` unset, nobody has to say: the
 * principal is `User:ANONYMOUS`. With `basic`, an `Authorization: Basic` header must carry a
 * SCRAM user's name and password (the user store `kbin user add` fills; the password is checked
 * by deriving the SCRAM keys from the stored salt and iterations, as SASL/PLAIN does); with
 * `bearer`, an `Authorization: Bearer` header must carry a token the OAUTHBEARER validator accepts
 * (`sasl.oauthbearer.*`: JWKS, issuer, audience, subject claim). Both may be enabled. Anything
 * else is answered 401 with a `WWW-Authenticate` challenge for each enabled scheme; wrong
 * credentials are answered after `connection.failed.authentication.delay.ms`, as a Kafka login.
 * Paths in `kbin.http.authentication.open.paths` (default `/healthz,/readyz`) are served to
 * anyone. The principal (`User:NAME`) is on the Hono context as `principal`, for ACL checks.
 *
 * Deriving SCRAM keys costs thousands of hash iterations, so a verified `Basic` header is
 * remembered (by its SHA-256, never the password) for five minutes, and only while the user's
 * stored key is unchanged: a password change or deletion takes effect at once.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import { type BrokerConfig, ConfigError } from "../broker/config.ts";
import type { BrokerContext } from "../broker/context.ts";
import { validateToken } from "../broker/sasl/oauthbearer.ts";
import { passwordMatches, type ScramMechanism } from "../broker/sasl/scram.ts";
import { digest, fromBase64, toBase64 } from "../protocol/sasl/crypto.ts";
import type { Logger } from "../ports.ts";

/** The anonymous principal (no authentication, or an open path). */
export const ANONYMOUS = "User:ANONYMOUS";

/** An HTTP authentication scheme kbin checks. */
export type HttpAuthMethod = "basic" | "bearer";

/** `kbin.http.authentication` and the paths it leaves open. */
export interface HttpAuthSettings {
  methods: readonly HttpAuthMethod[];
  /** Paths served without credentials. */
  openPaths: ReadonlySet<string>;
  /** How long a wrong password or token waits for its 401 (`connection.failed.authentication.delay.ms`). */
  failureDelayMs: number;
}

/**
 * Reads the HTTP authentication settings.
 * @throws ConfigError for a scheme other than basic or bearer, or an open path without a leading "/"
 */
export function httpAuthSettings(config: BrokerConfig): HttpAuthSettings {
  const methods: HttpAuthMethod[] = [];
  for (const m of config.list("kbin.http.authentication").map((s) => s.toLowerCase())) {
    if (m === "none") continue;
    if (m !== "basic" && m !== "bearer") {
      throw new ConfigError(`Cannot use kbin.http.authentication: "${m}" is not basic, bearer or none`);
    }
    if (!methods.includes(m)) methods.push(m);
  }
  const openPaths = config.list("kbin.http.authentication.open.paths");
  for (const p of openPaths) {
    if (!p.startsWith("/")) {
      throw new ConfigError(`Cannot use kbin.http.authentication.open.paths: "${p}" does not start with "/"`);
    }
  }
  return {
    methods,
    openPaths: new Set(openPaths),
    failureDelayMs: Math.max(0, config.number("connection.failed.authentication.delay.ms")),
  };
}

/** Who a request authenticated as, or why not. */
export type AuthOutcome =
  | { ok: true; principal: string }
  | { ok: false; status: 401 | 503; message: string; badCredentials: boolean; bearerTried: boolean };

/** What authentication needs from the broker. */
export type AuthBroker = Pick<BrokerContext, "users" | "config" | "oauthKeys" | "clock">;

const CACHE_MS = 5 * 60 * 1000;
const CACHE_ENTRIES = 1024;

/** Checks `Authorization` headers against the user store and the OAUTHBEARER validator. */
export class HttpAuthenticator {
  readonly settings: HttpAuthSettings;
  readonly #verified = new Map<string, { user: string; mechanism: ScramMechanism; storedKey: string; until: number }>();

  constructor(settings: HttpAuthSettings) {
    this.settings = settings;
  }

  /** Whether `path` needs credentials. */
  protects(path: string): boolean {
    return this.settings.methods.length > 0 && !this.settings.openPaths.has(path);
  }

  /**
   * Authenticates one request's `Authorization` header.
   * @param header the header's value, or null
   * @param broker the broker (null while it starts: answered 503)
   */
  async authenticate(header: string | null, broker: AuthBroker | null): Promise<AuthOutcome> {
    const methods = this.settings.methods;
    const refuse = (message: string, badCredentials: boolean, bearerTried = false): AuthOutcome => ({
      ok: false,
      status: 401,
      message,
      badCredentials,
      bearerTried,
    });
    if (header === null || header.trim() === "") return refuse("Authentication is required", false);
    const space = header.indexOf(" ");
    const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
    const value = space < 0 ? "" : header.slice(space + 1).trim();
    if ((scheme !== "basic" && scheme !== "bearer") || !methods.includes(scheme)) {
      return refuse(`The ${scheme} authentication scheme is not accepted here`, false);
    }
    if (broker === null) {
      return { ok: false, status: 503, message: "The broker is starting", badCredentials: false, bearerTried: false };
    }
    if (scheme === "bearer") {
      const c = broker.config;
      const result = await validateToken(value, {
        keys: broker.oauthKeys,
        expectedAudience: c.list("sasl.oauthbearer.expected.audience"),
        expectedIssuer: c.get("sasl.oauthbearer.expected.issuer") ?? "",
        subClaim: c.get("sasl.oauthbearer.sub.claim.name") ?? "sub",
        clockSkewSeconds: c.number("sasl.oauthbearer.clock.skew.seconds"),
        nowMs: () => broker.clock.now(),
      });
      if (!result.ok) return refuse(`Invalid bearer token: ${result.reason}`, true, true);
      return { ok: true, principal: `User:${result.principal}` };
    }
    const decoded = fromBase64(value);
    const text = decoded === null ? null : new TextDecoder().decode(decoded);
    const colon = text?.indexOf(":") ?? -1;
    if (text === null || colon < 0) return refuse("Malformed Basic credentials", true);
    const user = text.slice(0, colon);
    const password = text.slice(colon + 1);
    const principal = await this.#basic(header, user, password, broker);
    return principal === null ? refuse("Invalid username or password", true) : { ok: true, principal };
  }

  async #basic(header: string, user: string, password: string, broker: AuthBroker): Promise<string | null> {
    const now = broker.clock.now();
    const key = toBase64(await digest("SHA-256", new TextEncoder().encode(header)));
    const cached = this.#verified.get(key);
    if (cached && cached.until > now) {
      const current = await broker.users.credential(cached.user, cached.mechanism);
      if (current && toBase64(current.storedKey) === cached.storedKey) return `User:${cached.user}`;
      this.#verified.delete(key);
    }
    for (const [mechanism, credential] of await broker.users.credentials(user)) {
      if (!(await passwordMatches(mechanism, credential, password))) continue;
      if (this.#verified.size >= CACHE_ENTRIES) this.#verified.clear();
      this.#verified.set(key, { user, mechanism, storedKey: toBase64(credential.storedKey), until: now + CACHE_MS });
      return `User:${user}`;
    }
    return null;
  }
}

/** The Hono environment of the HTTP plane: the authenticated principal, and the client's address. */
export interface HttpEnv {
  Variables: { principal: string };
  Bindings: { remote: string };
}

/**
 * The authentication middleware.
 * @param authenticator the settings and the checks
 * @param options the broker (null while it starts) and a logger for refusals
 */
export function authMiddleware(
  authenticator: HttpAuthenticator,
  options: { broker: () => AuthBroker | null; logger: Logger },
): MiddlewareHandler<HttpEnv> {
  return async (c, next) => {
    if (!authenticator.protects(c.req.path)) {
      c.set("principal", ANONYMOUS);
      return await next();
    }
    const outcome = await authenticator.authenticate(c.req.header("authorization") ?? null, options.broker());
    if (outcome.ok) {
      c.set("principal", outcome.principal);
      return await next();
    }
    if (outcome.status === 503) return c.json({ error_code: 503, message: outcome.message }, 503);
    if (outcome.badCredentials) {
      options.logger.warn("Failed HTTP authentication", {
        remote: c.env?.remote,
        path: c.req.path,
        reason: outcome.message,
      });
      const delay = authenticator.settings.failureDelayMs;
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    }
    const headers = new Headers({ "content-type": "application/json" });
    for (const m of authenticator.settings.methods) {
      headers.append(
        "www-authenticate",
        m === "basic"
          ? 'Basic realm="kbin", charset="UTF-8"'
          : outcome.bearerTried
          ? 'Bearer realm="kbin", error="invalid_token"'
          : 'Bearer realm="kbin"',
      );
    }
    return new Response(JSON.stringify({ error_code: 401, message: outcome.message }), { status: 401, headers });
  };
}
