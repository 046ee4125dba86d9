/**
 * Requests served, counted by client id, API key and version. Each connection counts into its
 * own table (one array increment per request); the table joins the broker's totals, under the
 * connection's client id, when the connection closes. The totals are logged when the broker
 * stops — which versions real clients use is what docs/compat.md reports — and are the raw
 * material of request-rate metrics.
 *
 * @module
 */

/** Versions per API key the table has room for (Kafka's highest is 18, Fetch). */
const SLOTS = 32;
const KEYS = 128;

/** One connection's counts of requests by API key and version. */
export class RequestCounts {
  readonly counts = new Float64Array(KEYS * SLOTS);

  /** Notes one request; keys and versions outside the table are not counted. */
  note(apiKey: number, version: number): void {
    if (apiKey >= 0 && apiKey < KEYS && version >= 0 && version < SLOTS) this.counts[apiKey * SLOTS + version]!++;
  }
}

/** One (client, key, version) served at least once. */
export interface ServedVersion {
  clientId: string;
  apiKey: number;
  version: number;
  count: number;
}

/** The broker's totals by client id. */
export class RequestTotals {
  readonly #byClient = new Map<string, Float64Array>();

  /** Adds a closed connection's counts under its client id. */
  add(clientId: string, counts: RequestCounts): void {
    let total = this.#byClient.get(clientId);
    if (!total) this.#byClient.set(clientId, total = new Float64Array(KEYS * SLOTS));
    for (let i = 0; i < total.length; i++) total[i]! += counts.counts[i]!;
  }

  /** Every (client, key, version) served, by client id, then key and version. */
  entries(): ServedVersion[] {
    const out: ServedVersion[] = [];
    for (const [clientId, counts] of [...this.#byClient].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      counts.forEach((count, i) => {
        if (count > 0) out.push({ clientId, apiKey: Math.floor(i / SLOTS), version: i % SLOTS, count });
      });
    }
    return out;
  }
}
