/**
 * `max.connections` and `max.connections.per.ip` (with `max.connections.per.ip.overrides`,
 * "host:count,…"), shared by every listener of a broker. A connection past a limit is closed as
 * soon as it is accepted and logged with the client's address (Kafka refuses per-IP excess the
 * same way; for the broker-wide limit it stops accepting until a connection closes, which leaves
 * clients waiting in the backlog instead).
 *
 * @module
 */

import { ConfigError } from "../broker/config.ts";

/** The host part of "host:port" (IPv6 hosts keep their colons). */
export function hostOf(remote: string): string {
  const i = remote.lastIndexOf(":");
  const host = i < 0 ? remote : remote.slice(0, i);
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/** Counts connections against the limits. */
export class ConnectionLimits {
  readonly #max: number;
  readonly #perIp: number;
  readonly #overrides: Map<string, number>;
  readonly #byIp = new Map<string, number>();
  #total = 0;

  constructor(o: { max: number; perIp: number; overrides: string }) {
    this.#max = o.max;
    this.#perIp = o.perIp;
    this.#overrides = new Map();
    for (const entry of o.overrides.split(",").map((e) => e.trim()).filter((e) => e !== "")) {
      const i = entry.lastIndexOf(":");
      const n = Number(entry.slice(i + 1));
      if (i <= 0 || !Number.isInteger(n) || n < 0) {
        throw new ConfigError(`Cannot use max.connections.per.ip.overrides entry "${entry}": expected HOST:COUNT`);
      }
      this.#overrides.set(entry.slice(0, i), n);
    }
  }

  /**
   * Takes a slot for a new connection.
   * @returns null when admitted (call the returned release later through {@link release}), else why not
   */
  admit(remote: string): string | null {
    const host = hostOf(remote);
    const limit = this.#overrides.get(host) ?? this.#perIp;
    const mine = this.#byIp.get(host) ?? 0;
    if (mine >= limit) return `max.connections.per.ip (${limit}) reached for ${host}`;
    if (this.#total >= this.#max) return `max.connections (${this.#max}) reached`;
    this.#byIp.set(host, mine + 1);
    this.#total++;
    return null;
  }

  /** Gives back the slot of a connection that was admitted. */
  release(remote: string): void {
    const host = hostOf(remote);
    const n = (this.#byIp.get(host) ?? 1) - 1;
    if (n <= 0) this.#byIp.delete(host);
    else this.#byIp.set(host, n);
    this.#total = Math.max(0, this.#total - 1);
  }
}
