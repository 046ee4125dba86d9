/**
 * Three kbin brokers on one throwaway PostgreSQL, for the scale-out tests: start them, kill -9
 * one, restart it with its node id, and ask the cluster what it looks like.
 *
 * @module
 */

import { type BrokerProcess, startBrokerProcess } from "../../support/broker_process.ts";
import { sharedPostgres } from "../../support/postgres.ts";

/** A broker of the cluster and how to start it again. */
export interface ClusterBroker {
  nodeId: number;
  process: BrokerProcess;
}

/** Three (or more) brokers on one database. */
export class PgCluster {
  readonly url: string;
  readonly brokers: ClusterBroker[] = [];
  readonly #args: string[];
  readonly #killed = new Set<number>();

  private constructor(url: string, args: string[]) {
    this.url = url;
    this.#args = args;
  }

  /**
   * Creates a database on the shared PostgreSQL and starts `count` brokers on it (node ids 1…).
   * @param name the database name
   * @param count how many brokers
   * @param args extra `kbin serve` arguments for every broker
   */
  static async start(name: string, count = 3, args: string[] = []): Promise<PgCluster> {
    const pg = await sharedPostgres();
    return await PgCluster.onDatabase(pg.createDatabase(name), count, args);
  }

  /** Starts `count` brokers (node ids 1…) on a database the caller created (and maybe prepared). */
  static async onDatabase(url: string, count: number, args: string[] = []): Promise<PgCluster> {
    const cluster = new PgCluster(url, args);
    for (let n = 1; n <= count; n++) cluster.brokers.push({ nodeId: n, process: await cluster.#spawn(n) });
    return cluster;
  }

  #spawn(nodeId: number, port?: number): Promise<BrokerProcess> {
    return startBrokerProcess({
      storage: this.url,
      args: [
        "--set",
        `node.id=${nodeId}`,
        ...(port === undefined ? [] : ["--listen", `127.0.0.1:${port}`]),
        ...this.#args,
      ],
      timeoutMs: 30_000,
    });
  }

  /** Every broker's address, comma-separated (what clients bootstrap from). */
  get bootstrap(): string {
    return this.brokers.map((b) => b.process.bootstrap).join(",");
  }

  broker(nodeId: number): ClusterBroker {
    const b = this.brokers.find((x) => x.nodeId === nodeId);
    if (!b) throw new Error(`no broker ${nodeId}`);
    return b;
  }

  /** kill -9 a broker. */
  async kill(nodeId: number): Promise<void> {
    this.#killed.add(nodeId);
    await this.broker(nodeId).process.stop("SIGKILL");
  }

  /** Restarts every broker killed and not restarted (after a failed round, so later tests get three). */
  async restartKilled(): Promise<void> {
    for (const nodeId of [...this.#killed]) await this.restart(nodeId);
  }

  /** Starts a killed broker again with its node id, on the port it had (clients keep its address). */
  async restart(nodeId: number): Promise<void> {
    this.#killed.delete(nodeId);
    const b = this.broker(nodeId);
    const port = b.process.port;
    await b.process[Symbol.asyncDispose]();
    b.process = await this.#spawn(nodeId, port);
  }

  /**
   * Starts a new process with a broker's node id (on a new port) while the old one still runs,
   * e.g. paused; resolves with the new process or rejects when it cannot start.
   */
  async replace(nodeId: number): Promise<BrokerProcess> {
    const b = this.broker(nodeId);
    const old = b.process;
    b.process = await this.#spawn(nodeId);
    await old[Symbol.asyncDispose]();
    return b.process;
  }

  /** Everything the brokers logged, for failure messages. */
  logs(): string {
    return this.brokers.map((b) => `--- broker ${b.nodeId}\n${b.process.log().slice(-4000)}`).join("\n");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const b of this.brokers) await b.process[Symbol.asyncDispose]();
  }
}
