/**
 * Listeners as Kafka configures them: `listeners` (NAME://HOST:PORT, several at once),
 * `advertised.listeners` (by name), `listener.security.protocol.map` (NAME:PROTOCOL), and the
 * per-listener overrides `listener.name.NAME.SETTING` (NAME lower-cased) of `sasl.enabled.mechanisms`
 * and the JAAS lines. A connection knows the listener it came through: its security protocol
 * decides whether SASL must come first, and Metadata answers with that listener's address.
 *
 * @module
 */

import { type BrokerConfig, ConfigError, parseListener } from "./config.ts";
import { jaasPlainUsers } from "./sasl/plain.ts";
import { parsePrincipalRules } from "./ssl_principal.ts";

/** Kafka's security protocols. */
export type SecurityProtocol = "PLAINTEXT" | "SSL" | "SASL_PLAINTEXT" | "SASL_SSL";

const PROTOCOLS: readonly SecurityProtocol[] = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"];

/** The SASL mechanisms kbin implements. */
export const SUPPORTED_MECHANISMS = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"] as const;

/** One configured listener. */
export interface ListenerConfig {
  name: string;
  host: string;
  port: number;
  securityProtocol: SecurityProtocol;
  /** Where clients are told to connect (advertised.listeners), or null for the bound address. */
  advertised: { host: string; port: number } | null;
  /** `sasl.enabled.mechanisms` for this listener (SASL listeners only). */
  saslMechanisms: string[];
  /** Users of a PLAIN JAAS line (`user_NAME="password"`), or null when none is configured. */
  plainUsers: Map<string, string> | null;
  /** TLS settings (SSL and SASL_SSL listeners), with PEM sources still to be read. */
  ssl: SslSettings | null;
  /** `ssl.principal.mapping.rules`, for SSL listeners' client certificates. */
  principalRules: ReturnType<typeof parsePrincipalRules>;
}

/** Where a listener's PEM material comes from (Kafka's PEM settings). */
export interface SslSettings {
  /** ssl.keystore.location: one PEM file with the key and the certificate chain. */
  keystoreLocation: string | null;
  /** ssl.keystore.key and ssl.keystore.certificate.chain: PEM text in the configuration. */
  keystoreKey: string | null;
  keystoreChain: string | null;
  /** ssl.truststore.location (a PEM CA bundle file) or ssl.truststore.certificates (PEM text). */
  truststoreLocation: string | null;
  truststoreCertificates: string | null;
  clientAuth: "none" | "requested" | "required";
}

/** Whether a listener speaks TLS. */
export function isTls(p: SecurityProtocol): boolean {
  return p === "SSL" || p === "SASL_SSL";
}

export function sslSettings(config: BrokerConfig, name: string): SslSettings {
  const get = (k: string) => listenerSetting(config, name, k);
  const fail = (why: string) => new ConfigError(`Cannot use TLS listener "${name}": ${why}`);
  if ((get("ssl.keystore.type") ?? "JKS").toUpperCase() !== "PEM") {
    throw fail("set ssl.keystore.type=PEM (kbin reads PEM key stores only; JKS and PKCS12 are Java formats)");
  }
  const keystoreLocation = get("ssl.keystore.location");
  const keystoreKey = get("ssl.keystore.key");
  const keystoreChain = get("ssl.keystore.certificate.chain");
  if (!keystoreLocation && !(keystoreKey && keystoreChain)) {
    throw fail(
      "set ssl.keystore.location (a PEM file with the key and chain) or ssl.keystore.key and ssl.keystore.certificate.chain",
    );
  }
  if (get("ssl.keystore.password") || get("ssl.key.password")) {
    throw fail("encrypted PEM keys are not supported: leave ssl.keystore.password and ssl.key.password unset");
  }
  const clientAuth = (get("ssl.client.auth") ?? "none").toLowerCase();
  if (clientAuth !== "none" && clientAuth !== "requested" && clientAuth !== "required") {
    throw fail(`ssl.client.auth must be none, requested or required, got "${clientAuth}"`);
  }
  const truststoreLocation = get("ssl.truststore.location");
  const truststoreCertificates = get("ssl.truststore.certificates");
  if (clientAuth !== "none") {
    if ((get("ssl.truststore.type") ?? "JKS").toUpperCase() !== "PEM") {
      throw fail("set ssl.truststore.type=PEM to verify client certificates");
    }
    if (!truststoreLocation && !truststoreCertificates) {
      throw fail(`ssl.client.auth=${clientAuth} needs ssl.truststore.location or ssl.truststore.certificates`);
    }
  }
  return {
    keystoreLocation: keystoreLocation || null,
    keystoreKey: keystoreKey || null,
    keystoreChain: keystoreChain || null,
    truststoreLocation: truststoreLocation || null,
    truststoreCertificates: truststoreCertificates || null,
    clientAuth,
  };
}

/** The HTTP plane's listener (`kbin.http.listeners`). */
export interface HttpListenerConfig {
  scheme: "http" | "https";
  host: string;
  port: number;
  /**
   * For https: the PEM material, from `listener.name.http.ssl.*` or else the broker-wide `ssl.*`
   * settings (client certificates are not asked for on HTTP).
   */
  ssl: SslSettings | null;
}

/**
 * Reads `kbin.http.listeners`: none, or one `http://HOST:PORT` or `https://HOST:PORT`.
 * @throws ConfigError for another scheme, a bad address, more than one listener, or https without
 *   a key store
 */
export function parseHttpListener(config: BrokerConfig): HttpListenerConfig | null {
  const list = config.list("kbin.http.listeners");
  if (list.length === 0) return null;
  if (list.length > 1) {
    throw new ConfigError(`Cannot use kbin.http.listeners: kbin serves one HTTP listener, got ${list.length}`);
  }
  const text = list[0]!;
  const m = /^(https?):\/\/(.+)$/i.exec(text);
  if (!m) {
    throw new ConfigError(`Cannot use kbin.http.listeners "${text}": expected http://HOST:PORT or https://HOST:PORT`);
  }
  const scheme = m[1]!.toLowerCase() as "http" | "https";
  let address;
  try {
    address = parseListener(m[2]!);
  } catch {
    throw new ConfigError(`Cannot use kbin.http.listeners "${text}": expected http://HOST:PORT or https://HOST:PORT`);
  }
  if (address.name !== "PLAINTEXT") {
    throw new ConfigError(`Cannot use kbin.http.listeners "${text}": expected http://HOST:PORT or https://HOST:PORT`);
  }
  return {
    scheme,
    host: address.host,
    port: address.port,
    ssl: scheme === "https" ? sslSettings(config, "HTTP") : null,
  };
}

/** Whether a listener's clients must authenticate with SASL first. */
export function isSasl(p: SecurityProtocol): boolean {
  return p === "SASL_PLAINTEXT" || p === "SASL_SSL";
}

/** A setting for one listener: its `listener.name.NAME.` override, else the broker-wide value. */
export function listenerSetting(config: BrokerConfig, listener: string, name: string): string | null {
  const scoped = `listener.name.${listener.toLowerCase()}.${name}`;
  return config.isSet(scoped) ? config.get(scoped) : config.get(name);
}

/**
 * Reads the listeners.
 * @throws ConfigError for an unknown security protocol, a listener missing from the map, a
 *   duplicate name or port, or a SASL mechanism kbin does not implement
 */
export function parseListeners(config: BrokerConfig): ListenerConfig[] {
  const map = new Map<string, SecurityProtocol>();
  for (const entry of config.list("listener.security.protocol.map")) {
    const [name, protocol] = entry.split(":").map((s) => s.trim());
    if (!name || !protocol || !PROTOCOLS.includes(protocol as SecurityProtocol)) {
      throw new ConfigError(
        `Cannot use listener.security.protocol.map entry "${entry}": expected NAME:PROTOCOL with PROTOCOL one of ${
          PROTOCOLS.join(", ")
        }`,
      );
    }
    map.set(name.toUpperCase(), protocol as SecurityProtocol);
  }
  const advertised = new Map<string, { host: string; port: number }>();
  for (const text of config.list("advertised.listeners")) {
    const a = parseListener(text);
    advertised.set(a.name.toUpperCase(), { host: a.host, port: a.port });
  }
  const out: ListenerConfig[] = [];
  for (const text of config.list("listeners")) {
    const l = parseListener(text);
    const name = l.name.toUpperCase();
    if (out.some((o) => o.name === name)) throw new ConfigError(`Cannot use listeners: "${name}" is named twice`);
    if (l.port !== 0 && out.some((o) => o.port === l.port && o.host === l.host)) {
      throw new ConfigError(`Cannot use listeners: ${l.host}:${l.port} is used twice`);
    }
    const securityProtocol = map.get(name);
    if (!securityProtocol) {
      throw new ConfigError(
        `Cannot use listener "${name}": listener.security.protocol.map has no entry for it (add ${name}:PLAINTEXT or another protocol)`,
      );
    }
    const mechanisms = (listenerSetting(config, name, "sasl.enabled.mechanisms") ?? "")
      .split(",").map((m) => m.trim().toUpperCase()).filter((m) => m !== "");
    if (isSasl(securityProtocol)) {
      const unsupported = mechanisms.filter((m) => !(SUPPORTED_MECHANISMS as readonly string[]).includes(m));
      if (unsupported.length > 0) {
        throw new ConfigError(
          `Cannot use listener "${name}": SASL mechanism ${unsupported.join(", ")} is not supported (kbin has ${
            SUPPORTED_MECHANISMS.join(", ")
          })`,
        );
      }
      if (mechanisms.length === 0) throw new ConfigError(`Cannot use listener "${name}": no SASL mechanism is enabled`);
    }
    const jaas = listenerSetting(config, name, "plain.sasl.jaas.config") ?? config.get("sasl.jaas.config");
    out.push({
      name,
      host: l.host,
      port: l.port,
      securityProtocol,
      advertised: advertised.get(name) ?? null,
      saslMechanisms: isSasl(securityProtocol) ? mechanisms : [],
      plainUsers: jaas && /PlainLoginModule/.test(jaas) ? jaasPlainUsers(jaas) : null,
      ssl: isTls(securityProtocol) ? sslSettings(config, name) : null,
      principalRules: parsePrincipalRules(listenerSetting(config, name, "ssl.principal.mapping.rules") ?? "DEFAULT"),
    });
  }
  if (out.length === 0) throw new ConfigError("Cannot start broker: no listener is configured");
  for (const name of advertised.keys()) {
    if (!out.some((l) => l.name === name)) {
      throw new ConfigError(`Cannot use advertised.listeners: "${name}" is not one of the listeners`);
    }
  }
  return out;
}

/** How this broker's inter-broker client reaches the other brokers' inter-broker listener. */
export interface InterBrokerSecurity {
  /** The inter-broker listener's name (the same on every broker of the cluster). */
  listener: string;
  /** TLS: the listener's PEM material (its trust store verifies the others, its key store is presented). */
  ssl: SslSettings | null;
  /** `ssl.endpoint.identification.algorithm` is not "" (the others' certificates must name them). */
  verifyServerName: boolean;
  /** SASL: `sasl.mechanism.inter.broker.protocol` and the credentials of the listener's JAAS line. */
  sasl: { mechanism: "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512"; username: string; password: string } | null;
}

const CLIENT_MECHANISMS = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] as const;

/**
 * What the inter-broker client needs to speak the inter-broker listener's protocol, from Kafka's
 * settings: TLS from the listener's `ssl.*`, SASL with `sasl.mechanism.inter.broker.protocol`
 * and the `username`/`password` of `listener.name.NAME.MECHANISM.sasl.jaas.config` (or
 * `sasl.jaas.config`).
 * @throws ConfigError when the listener uses SASL and the mechanism or the credentials are missing
 */
export function interBrokerSecurity(config: BrokerConfig, listener: ListenerConfig): InterBrokerSecurity {
  const name = listener.name;
  let sasl: InterBrokerSecurity["sasl"] = null;
  if (isSasl(listener.securityProtocol)) {
    const mechanism = (config.get("sasl.mechanism.inter.broker.protocol") ?? "GSSAPI").toUpperCase();
    const fail = (why: string) =>
      new ConfigError(`Cannot use the inter-broker listener "${name}" (${listener.securityProtocol}): ${why}`);
    if (!(CLIENT_MECHANISMS as readonly string[]).includes(mechanism)) {
      throw fail(
        `set sasl.mechanism.inter.broker.protocol to PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (it is ${mechanism})`,
      );
    }
    if (!listener.saslMechanisms.includes(mechanism)) {
      throw fail(`sasl.mechanism.inter.broker.protocol ${mechanism} is not enabled on it (sasl.enabled.mechanisms)`);
    }
    const key = `listener.name.${name.toLowerCase()}.${mechanism.toLowerCase()}.sasl.jaas.config`;
    const jaas = (config.isSet(key) ? config.get(key) : config.get("sasl.jaas.config")) ?? "";
    const username = /\busername\s*=\s*"((?:[^"\\]|\\.)*)"/.exec(jaas)?.[1];
    const password = /\bpassword\s*=\s*"((?:[^"\\]|\\.)*)"/.exec(jaas)?.[1];
    if (username === undefined || password === undefined) {
      throw fail(`set ${key} with the username and password this broker logs in with`);
    }
    // JAAS values are quoted strings: a backslash escapes the next character.
    const unquote = (v: string) => v.replace(/\\(.)/g, "$1");
    sasl = {
      mechanism: mechanism as (typeof CLIENT_MECHANISMS)[number],
      username: unquote(username),
      password: unquote(password),
    };
  }
  return {
    listener: name,
    ssl: listener.ssl,
    verifyServerName: (listenerSetting(config, name, "ssl.endpoint.identification.algorithm") ?? "https") !== "",
    sasl,
  };
}
