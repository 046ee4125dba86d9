/**
 * Kafka clients of the REST proxy, one per caller: an HTTP request's principal and host get a
 * {@link KafkaClient} over in-process connections (`LocalKafka`) that act as that principal, so
 * the broker applies its ACLs to the proxy's requests exactly as to a Kafka client of the same
 * user from the same host. A client, with the producers it opened, is closed after
 * `idleMs` without requests.
 *
 * @module
 */

import { KafkaClient } from "../../client/client.ts";
import { hostOfRemote } from "../../broker/acl/model.ts";
import type { LocalKafka, Logger } from "../../ports.ts";
import { RestError } from "./errors.ts";
import { TopicProducer, type TopicProducerOptions } from "./produce.ts";

/** How often a producer in use checks that its topic's partitions and leaders did not change. */
const PRODUCER_METADATA_MAX_AGE_MS = 30_000;

interface ProducerEntry {
  producer: Promise<TopicProducer | RestError>;
  checkedAtMs: number;
}

/** A caller's client and the producers it opened, one per topic. */
export class CallerClient {
  readonly client: KafkaClient;
  readonly principal: string;
  readonly #producers = new Map<string, ProducerEntry>();
  readonly #retired: TopicProducer[] = [];
  readonly #producerOptions: TopicProducerOptions;
  /** Requests using this client now (it is not closed while any is). */
  active = 0;
  lastUsedMs: number;

  readonly #now: () => number;

  constructor(client: KafkaClient, principal: string, options: { producer: TopicProducerOptions; now: () => number }) {
    this.client = client;
    this.principal = principal;
    this.#producerOptions = options.producer;
    this.#now = options.now;
    this.lastUsedMs = options.now();
  }

  /**
   * The producer of a topic, opened on first use, and reopened in the background when the
   * topic's partitions (or, with several brokers, their leaders) changed.
   * @returns the producer, or the REST error that answers (unknown topic, not authorized)
   */
  producer(topic: string): Promise<TopicProducer | RestError> {
    const now = this.#now();
    const entry = this.#producers.get(topic);
    if (entry === undefined) {
      const producer = TopicProducer.open(this.client, topic, this.#producerOptions);
      this.#producers.set(topic, { producer, checkedAtMs: now });
      // A failure is not remembered: the next request tries again (the topic may be created).
      void producer.then((r) => {
        if (r instanceof RestError && this.#producers.get(topic)?.producer === producer) this.#producers.delete(topic);
      });
      return producer;
    }
    if (now - entry.checkedAtMs >= PRODUCER_METADATA_MAX_AGE_MS) {
      entry.checkedAtMs = now;
      void this.#recheck(topic, entry);
    }
    return entry.producer;
  }

  async #recheck(topic: string, entry: ProducerEntry): Promise<void> {
    try {
      const current = await entry.producer;
      if (!(current instanceof TopicProducer)) return;
      const t = (await this.client.metadata([topic])).topics.find((x) => x.name === topic);
      if (t === undefined || t.errorCode !== 0 || current.matches(t.partitions)) return;
      const next = await TopicProducer.open(this.client, topic, this.#producerOptions);
      if (!(next instanceof TopicProducer) || this.#producers.get(topic) !== entry) return;
      this.#producers.set(topic, { producer: Promise.resolve(next), checkedAtMs: this.#now() });
      // Requests that took it before the swap may still send: it is closed with the client.
      this.#retired.push(current);
    } catch {
      // Checked again later; the current producer goes on meanwhile.
    }
  }

  /** Closes the producers (after their records are answered) and the client. */
  async close(): Promise<void> {
    const all = [...this.#producers.values()];
    this.#producers.clear();
    for (const e of all) {
      const r = await e.producer.catch(() => null);
      if (r instanceof TopicProducer) await r.close();
    }
    for (const r of this.#retired.splice(0)) await r.close();
    await this.client.close();
  }
}

/** Options of {@link ClientPool}. */
export interface ClientPoolOptions {
  kafka: () => LocalKafka | null;
  /** A caller's client is closed after this long without requests. */
  idleMs: number;
  now: () => number;
  logger: Logger;
  producer: TopicProducerOptions;
}

/** Every caller's client, by principal and host. */
export class ClientPool {
  readonly #o: ClientPoolOptions;
  readonly #entries = new Map<string, CallerClient>();
  #timer: ReturnType<typeof setInterval> | null = null;
  #closed = false;

  constructor(options: ClientPoolOptions) {
    this.#o = options;
  }

  /** Callers with a client now. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Runs `fn` with the caller's client (made on first use), which stays open while it runs.
   * @throws RestError 503 while the broker starts or stops
   */
  async with<T>(who: { principal: string; remote: string }, fn: (caller: CallerClient) => Promise<T>): Promise<T> {
    const caller = this.acquire(who);
    try {
      return await fn(caller);
    } finally {
      this.release(caller);
    }
  }

  /** The caller's client, marked in use until {@link release}. */
  acquire(who: { principal: string; remote: string }): CallerClient {
    const { principal, remote } = who;
    const kafka = this.#o.kafka();
    if (kafka === null || this.#closed) {
      throw new RestError(503, "The broker is not serving Kafka requests yet (or any more)");
    }
    const host = hostOfRemote(remote);
    const key = `${principal}\u0000${host}`;
    let caller = this.#entries.get(key);
    if (caller === undefined) {
      const client = new KafkaClient({
        bootstrap: [kafka.bootstrap],
        connect: kafka.connect({ principal, remote: remote === "" ? "127.0.0.1:0" : remote }),
        clientId: "kbin-rest-proxy",
        requestTimeoutMs: 30_000,
      });
      caller = new CallerClient(client, principal, { producer: this.#o.producer, now: this.#o.now });
      this.#entries.set(key, caller);
      this.#schedule();
    }
    caller.active++;
    caller.lastUsedMs = this.#o.now();
    return caller;
  }

  release(caller: CallerClient): void {
    caller.active--;
    caller.lastUsedMs = this.#o.now();
  }

  #schedule(): void {
    if (this.#timer !== null) return;
    this.#timer = setInterval(() => void this.sweep(), Math.max(1000, Math.floor(this.#o.idleMs / 2)));
  }

  /** Closes the clients idle for longer than `idleMs`. */
  async sweep(): Promise<void> {
    const now = this.#o.now();
    for (const [key, caller] of this.#entries) {
      if (caller.active > 0 || now - caller.lastUsedMs < this.#o.idleMs) continue;
      this.#entries.delete(key);
      await caller.close().catch((err) =>
        this.#o.logger.warn("Closing an idle REST proxy client failed", { error: String(err) })
      );
    }
    if (this.#entries.size === 0 && this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }

  /** Closes every client (shutdown). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    const all = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(all.map((c) => c.close().catch(() => {})));
  }
}
