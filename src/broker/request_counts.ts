/**
 * Requests served, counted by API key and version: one array increment per request. The totals
 * are logged when the broker stops (which versions real clients used is what docs/compat.md
 * reports) and are the raw material of request-rate metrics.
 *
 * @module
 */

/** Versions per API key the table has room for (Kafka's highest is 18, Fetch). */
const SLOTS = 32;

/** Counts of requests by API key and version. */
export class RequestCounts {
  readonly #counts = new Float64Array(128 * SLOTS);

  /** Notes one request; keys and versions outside the table are not counted. */
  note(apiKey: number, version: number): void {
    if (apiKey >= 0 && apiKey < 128 && version >= 0 && version < SLOTS) this.#counts[apiKey * SLOTS + version]!++;
  }

  /** Every (key, version) served at least once, in key and version order. */
  entries(): { apiKey: number; version: number; count: number }[] {
    const out: { apiKey: number; version: number; count: number }[] = [];
    this.#counts.forEach((count, i) => {
      if (count > 0) out.push({ apiKey: Math.floor(i / SLOTS), version: i % SLOTS, count });
    });
    return out;
  }
}
