/**
 * A small metrics registry: counters, gauges and histograms with labels, and collectors that
 * compute families at scrape time (offsets, lag, sizes). Instruments are meant for the hot path:
 * a labelled child is looked up once and kept by the caller, after which an increment is one
 * addition and an observation a short bucket search. Nothing here formats text; see
 * `exposition.ts` for the Prometheus and OpenMetrics formats.
 *
 * Names follow Prometheus conventions: base units, and counters registered without their
 * `_total` suffix (the formats add it), as OpenMetrics names a counter family.
 *
 * @module
 */

/** The kind of a metric family. `info` is a gauge of value 1 whose labels carry the information. */
export type MetricType = "counter" | "gauge" | "histogram" | "info";

/** One series of a counter, gauge or info family. */
export interface Sample {
  /** Label values, in the family's `labelNames` order. */
  labels: readonly string[];
  value: number;
}

/** One series of a histogram family. */
export interface HistogramSample {
  labels: readonly string[];
  /** Cumulative counts per upper bound, in `buckets` order (the +Inf bucket is `count`). */
  cumulative: readonly number[];
  sum: number;
  count: number;
}

/** A metric family as collected for a scrape. */
export type MetricFamily =
  | {
    name: string;
    help: string;
    type: "counter" | "gauge" | "info";
    labelNames: readonly string[];
    samples: readonly Sample[];
  }
  | {
    name: string;
    help: string;
    type: "histogram";
    labelNames: readonly string[];
    /** Upper bounds, ascending, without +Inf. */
    buckets: readonly number[];
    samples: readonly HistogramSample[];
  };

/** A function computing families when scraped. */
export type Collector = () => MetricFamily[] | Promise<MetricFamily[]>;

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function checkNames(name: string, labelNames: readonly string[]): void {
  if (!NAME.test(name)) throw new TypeError(`Cannot register metric "${name}": not a valid metric name`);
  for (const l of labelNames) {
    if (!LABEL.test(l) || l.startsWith("__") || l === "le") {
      throw new TypeError(`Cannot register metric "${name}": "${l}" is not a usable label name`);
    }
  }
}

/** The labelled series of one instrument, keyed by their joined label values. */
class Children<C> {
  readonly #byKey = new Map<string, { labels: readonly string[]; child: C }>();
  readonly #make: () => C;
  readonly #arity: number;
  readonly #name: string;

  constructor(name: string, arity: number, make: () => C) {
    this.#name = name;
    this.#arity = arity;
    this.#make = make;
  }

  get(values: readonly string[]): C {
    if (values.length !== this.#arity) {
      throw new TypeError(`Metric "${this.#name}" takes ${this.#arity} label values, got ${values.length}`);
    }
    const key = values.join("\u0000");
    let entry = this.#byKey.get(key);
    if (!entry) this.#byKey.set(key, entry = { labels: [...values], child: this.#make() });
    return entry.child;
  }

  delete(values: readonly string[]): void {
    this.#byKey.delete(values.join("\u0000"));
  }

  entries(): IterableIterator<{ labels: readonly string[]; child: C }> {
    return this.#byKey.values();
  }
}

/** One series of a counter: only goes up. */
export class CounterChild {
  value = 0;
  /** Adds `n` (default 1); negative amounts are ignored, as a counter never goes down. */
  inc(n = 1): void {
    if (n > 0) this.value += n;
  }
}

/** One series of a gauge. */
export class GaugeChild {
  value = 0;
  set(v: number): void {
    this.value = v;
  }
  inc(n = 1): void {
    this.value += n;
  }
  dec(n = 1): void {
    this.value -= n;
  }
}

/** One series of a histogram: counts per bucket (not cumulative), sum and count. */
export class HistogramChild {
  readonly #bounds: readonly number[];
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length);
  }

  /** Records one observation (NaN is ignored). */
  observe(v: number): void {
    if (Number.isNaN(v)) return;
    const b = this.#bounds;
    // Buckets are few (≤ 20): a linear search beats a binary one at this size.
    for (let i = 0; i < b.length; i++) {
      if (v <= b[i]!) {
        this.counts[i]!++;
        break;
      }
    }
    this.sum += v;
    this.count++;
  }
}

abstract class Instrument<C> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  protected readonly children: Children<C>;

  constructor(name: string, help: string, labelNames: readonly string[], make: () => C) {
    checkNames(name, labelNames);
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
    this.children = new Children(name, labelNames.length, make);
  }

  /** The series for these label values (created on first use; keep it for the hot path). */
  labels(...values: string[]): C {
    return this.children.get(values);
  }

  /** Forgets a series (a deleted topic's, for example). */
  remove(...values: string[]): void {
    this.children.delete(values);
  }

  abstract collect(): MetricFamily;
}

/** A monotonically increasing count. Register it without `_total`. */
export class Counter extends Instrument<CounterChild> {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    if (name.endsWith("_total")) throw new TypeError(`Cannot register counter "${name}": leave "_total" off`);
    super(name, help, labelNames, () => new CounterChild());
  }

  /** Increments the series without labels. */
  inc(n = 1): void {
    this.labels().inc(n);
  }

  collect(): MetricFamily {
    const samples: Sample[] = [];
    for (const { labels, child } of this.children.entries()) samples.push({ labels, value: child.value });
    return { name: this.name, help: this.help, type: "counter", labelNames: this.labelNames, samples };
  }
}

/** A value that goes up and down. */
export class Gauge extends Instrument<GaugeChild> {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, labelNames, () => new GaugeChild());
  }

  /** Sets the series without labels. */
  set(v: number): void {
    this.labels().set(v);
  }

  collect(): MetricFamily {
    const samples: Sample[] = [];
    for (const { labels, child } of this.children.entries()) samples.push({ labels, value: child.value });
    return { name: this.name, help: this.help, type: "gauge", labelNames: this.labelNames, samples };
  }
}

/** Latency-style buckets in seconds, 100 µs to 30 s. */
export const SECONDS_BUCKETS: readonly number[] = [
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
];

/** Observations counted into buckets by upper bound. */
export class Histogram extends Instrument<HistogramChild> {
  readonly buckets: readonly number[];

  constructor(name: string, help: string, labelNames: readonly string[] = [], buckets = SECONDS_BUCKETS) {
    const sorted = [...buckets].filter((b) => Number.isFinite(b)).sort((a, b) => a - b);
    if (sorted.length === 0 || new Set(sorted).size !== sorted.length) {
      throw new TypeError(`Cannot register histogram "${name}": buckets must be distinct finite numbers`);
    }
    super(name, help, labelNames, () => new HistogramChild(sorted));
    this.buckets = sorted;
  }

  /** Observes into the series without labels. */
  observe(v: number): void {
    this.labels().observe(v);
  }

  collect(): MetricFamily {
    const samples: HistogramSample[] = [];
    for (const { labels, child } of this.children.entries()) {
      const cumulative: number[] = [];
      let running = 0;
      for (const c of child.counts) cumulative.push(running += c);
      samples.push({ labels, cumulative, sum: child.sum, count: child.count });
    }
    return {
      name: this.name,
      help: this.help,
      type: "histogram",
      labelNames: this.labelNames,
      buckets: this.buckets,
      samples,
    };
  }
}

/**
 * The metrics of one process: instruments and collectors, collected in registration order.
 * @example
 * const registry = new MetricsRegistry();
 * const served = registry.counter("kbin_kafka_requests", "Requests served", ["api"]);
 * served.labels("Produce").inc();
 * const text = formatPrometheus(await registry.collect());
 */
export class MetricsRegistry {
  readonly #sources: (Instrument<unknown> | Collector)[] = [];
  readonly #names = new Set<string>();

  #claim(name: string): void {
    if (this.#names.has(name)) throw new TypeError(`Cannot register metric "${name}": the name is taken`);
    this.#names.add(name);
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    this.#claim(name);
    const c = new Counter(name, help, labelNames);
    this.#sources.push(c as Instrument<unknown>);
    return c;
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    this.#claim(name);
    const g = new Gauge(name, help, labelNames);
    this.#sources.push(g as Instrument<unknown>);
    return g;
  }

  histogram(name: string, help: string, labelNames: readonly string[] = [], buckets = SECONDS_BUCKETS): Histogram {
    this.#claim(name);
    const h = new Histogram(name, help, labelNames, buckets);
    this.#sources.push(h as Instrument<unknown>);
    return h;
  }

  /** Adds a collector, called at every scrape after the instruments registered before it. */
  collector(fn: Collector): void {
    this.#sources.push(fn);
  }

  /**
   * Every family, instruments and collectors in registration order. A collector that throws is
   * left out of this scrape (and reported through `onError`), so one failing source never hides
   * the rest. Families with no samples are left out, as Prometheus clients do.
   */
  async collect(onError: (err: unknown) => void = () => {}): Promise<MetricFamily[]> {
    const out: MetricFamily[] = [];
    for (const s of this.#sources) {
      if (s instanceof Instrument) {
        const f = s.collect();
        if (f.samples.length > 0) out.push(f);
        continue;
      }
      try {
        for (const f of await s()) if (f.samples.length > 0) out.push(f);
      } catch (err) {
        onError(err);
      }
    }
    return out;
  }
}
