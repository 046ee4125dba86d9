/**
 * All partition logs of a broker under one data directory, laid out as Kafka does:
 * `<data-dir>/<topic>-<partition>/` with a `partition.metadata` file naming the topic id.
 *
 * A `.kbin-clean-shutdown` marker is written after every log closed cleanly and removed at
 * start; without it, logs are recovered (CRC-checked from their recovery point) when opened.
 * Logs are opened at start-up for every known partition, so recovery happens before serving.
 *
 * @module
 */

import type { Clock, FileSystem, Logger } from "../../ports.ts";
import type { LogConfig, PartitionRef, StorageObserver } from "../engine.ts";
import { PartitionLog } from "./partition_log.ts";

const CLEAN_MARKER = ".kbin-clean-shutdown";

/** Options for {@link LogManager.open}. */
export interface LogManagerOptions {
  fs: FileSystem;
  dataDir: string;
  clock: Clock;
  logger: Logger;
  decompress: (codec: number, data: Uint8Array) => Uint8Array;
  compress?: (codec: number, data: Uint8Array) => Uint8Array;
  /** Effective log settings of a topic (called on every append, so it must be cheap). */
  configFor: (topicName: string) => LogConfig;
  /**
   * Appends are refused (KAFKA_STORAGE_ERROR, the log stays online) while the data directory has
   * less free space than this (`kbin.log.dir.min.free.bytes`); 0 never refuses.
   */
  minFreeBytes?: number;
  /** Told of each datasync (metrics). */
  observer?: StorageObserver;
}

/** Owns every partition log. */
export class LogManager {
  readonly #o: LogManagerOptions;
  readonly #logs = new Map<string, Promise<PartitionLog>>();
  readonly #open = new Map<string, PartitionLog>();
  readonly #cleanShutdown: boolean;
  readonly #refs = new Map<string, PartitionRef>();
  #timer: ReturnType<typeof setInterval> | null = null;
  #closed = false;
  /** Free bytes at the last look, less what was appended since. */
  #usable = Infinity;
  #appendedSince = 0;
  #low = false;
  #checking = false;

  private constructor(o: LogManagerOptions, cleanShutdown: boolean) {
    this.#o = o;
    this.#cleanShutdown = cleanShutdown;
  }

  /** Opens the data directory; `partitions` are opened (and recovered) before this resolves. */
  static async open(o: LogManagerOptions, partitions: readonly PartitionRef[]): Promise<LogManager> {
    await o.fs.mkdir(o.dataDir);
    const clean = await o.fs.exists(`${o.dataDir}/${CLEAN_MARKER}`);
    if (clean) await o.fs.remove(`${o.dataDir}/${CLEAN_MARKER}`);
    const m = new LogManager(o, clean);
    await m.#checkSpace();
    const wanted = new Set(partitions.map((p) => LogManager.dirName(p)));
    for (const name of await o.fs.readdir(o.dataDir)) {
      if (name.endsWith("-delete") || (/^.+-\d+$/.test(name) && !wanted.has(name))) {
        if (!(await o.fs.exists(`${o.dataDir}/${name}/partition.metadata`)) && !name.endsWith("-delete")) continue;
        o.logger.info("Removing the log of a deleted partition", { dir: name });
        await o.fs.remove(`${o.dataDir}/${name}`, { recursive: true });
      }
    }
    const started = o.clock.now();
    for (const p of partitions) {
      try {
        await m.get(p);
      } catch (err) {
        // One unreadable partition must not keep the broker down: it stays closed, is retried on
        // its next use, and its requests answer KAFKA_STORAGE_ERROR meanwhile.
        o.logger.error("Could not open a partition log; it answers KAFKA_STORAGE_ERROR until it can be opened", {
          dir: LogManager.dirName(p),
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
    if (partitions.length > 0) {
      o.logger.info("Opened partition logs", { count: partitions.length, clean, ms: o.clock.now() - started });
    }
    m.#timer = setInterval(() => m.#tick(), 250);
    (m.#timer as { unref?: () => void }).unref?.();
    return m;
  }

  /** `<topic>-<partition>` */
  static dirName(p: { topicName: string; partition: number }): string {
    return `${p.topicName}-${p.partition}`;
  }

  /**
   * Why appends are refused now, or null: the data directory's free space (as last read, less
   * what was appended since) minus `bytes` would fall below `minFreeBytes`.
   */
  refuseWrites(bytes: number): string | null {
    const min = this.#o.minFreeBytes ?? 0;
    if (min <= 0) return null;
    const left = this.#usable - this.#appendedSince - bytes;
    if (left < min) {
      this.#setLow(true, left);
      return `the data directory has ${Math.max(0, left)} bytes free, below kbin.log.dir.min.free.bytes (${min})`;
    }
    this.#appendedSince += bytes;
    return null;
  }

  /** Whether appends are refused for want of space (as of the last look). */
  get lowOnSpace(): boolean {
    return this.#low;
  }

  #setLow(low: boolean, free: number): void {
    if (low === this.#low) return;
    this.#low = low;
    const fields = { dir: this.#o.dataDir, freeBytes: free, minFreeBytes: this.#o.minFreeBytes };
    if (low) {
      this.#o.logger.error(
        "The data directory is short of free space: produce answers KAFKA_STORAGE_ERROR until space returns",
        fields,
      );
    } else this.#o.logger.info("Free space is back in the data directory: writes resume", fields);
  }

  /** Reads the free space; once there is enough, reopens logs a full disk took offline. */
  async #checkSpace(): Promise<void> {
    const min = this.#o.minFreeBytes ?? 0;
    if (min <= 0 || this.#checking) return;
    this.#checking = true;
    try {
      const { usableBytes } = await this.#o.fs.statfs(this.#o.dataDir);
      this.#usable = usableBytes;
      this.#appendedSince = 0;
      this.#setLow(usableBytes < min, usableBytes);
      if (!this.#low) await this.#reopenFailedForSpace();
    } catch (err) {
      this.#o.logger.warn("Cannot read the free space of the data directory", { error: String(err) });
    } finally {
      this.#checking = false;
    }
  }

  /** Logs that went offline on ENOSPC are closed and opened again (recovery trims a torn tail). */
  async #reopenFailedForSpace(): Promise<void> {
    for (const [key, opened] of [...this.#open]) {
      if (!opened.failedForSpace || this.#closed) continue;
      const ref = this.#refs.get(key);
      if (!ref) continue;
      this.#o.logger.info("Reopening a partition log the full disk took offline", { dir: key });
      await opened.close().catch(() => {});
      this.#open.delete(key);
      const log = this.#openLog(ref, false);
      this.#logs.set(key, log);
      log.then((l) => {
        if (this.#logs.get(key) === log) this.#open.set(key, l);
      }, () => this.#logs.delete(key));
      await log.catch(() => {});
    }
  }

  /** The partition's log, opened or created on first use. */
  get(p: PartitionRef): Promise<PartitionLog> {
    const key = LogManager.dirName(p);
    this.#refs.set(key, p);
    let log = this.#logs.get(key);
    if (!log) {
      log = this.#openLog(p);
      this.#logs.set(key, log);
      log.then((l) => {
        if (this.#logs.get(key) === log) this.#open.set(key, l);
      }, () => this.#logs.delete(key));
    }
    return log;
  }

  async #openLog(p: PartitionRef, cleanShutdown = this.#cleanShutdown): Promise<PartitionLog> {
    const { fs, dataDir } = this.#o;
    const dir = `${dataDir}/${LogManager.dirName(p)}`;
    const metaPath = `${dir}/partition.metadata`;
    const meta = await fs.readFile(metaPath);
    const text = `version: 0\ntopic_id: ${p.topicId}\n`;
    if (meta !== null && new TextDecoder().decode(meta) !== text) {
      // A directory of an older topic with the same name: its data is not ours.
      this.#o.logger.warn("Removing a stale log of a previous topic with the same name", { dir });
      await fs.remove(dir, { recursive: true });
    }
    await fs.mkdir(dir);
    if (meta === null || new TextDecoder().decode(meta) !== text) {
      await fs.writeFileAtomic(metaPath, new TextEncoder().encode(text));
    }
    return PartitionLog.open({
      fs,
      dir,
      clock: this.#o.clock,
      logger: this.#o.logger,
      config: () => this.#o.configFor(p.topicName),
      decompress: this.#o.decompress,
      ...(this.#o.compress ? { compress: this.#o.compress } : {}),
      refuseWrites: (bytes) => this.refuseWrites(bytes),
      ...(this.#o.observer ? { observer: this.#o.observer } : {}),
      cleanShutdown,
      name: LogManager.dirName(p),
    });
  }

  /** The partition's log if it is open (no I/O). */
  opened(p: { topicName: string; partition: number }): PartitionLog | undefined {
    return this.#open.get(LogManager.dirName(p));
  }

  /** Logs opened so far. */
  async all(): Promise<PartitionLog[]> {
    const out: PartitionLog[] = [];
    for (const l of this.#logs.values()) {
      try {
        out.push(await l);
      } catch {
        // failed to open; reported when used
      }
    }
    return out;
  }

  /** Deletes the logs of a topic's partitions. */
  async deleteTopic(topicName: string, partitions: number): Promise<void> {
    for (let i = 0; i < partitions; i++) {
      const key = LogManager.dirName({ topicName, partition: i });
      const log = this.#logs.get(key);
      this.#logs.delete(key);
      this.#open.delete(key);
      if (log) {
        try {
          await (await log).delete();
        } catch (err) {
          this.#o.logger.warn("Could not delete a partition log", { dir: key, error: String(err) });
        }
      } else {
        await this.#o.fs.remove(`${this.#o.dataDir}/${key}`, { recursive: true });
      }
    }
  }

  #tick(): void {
    void this.#checkSpace();
    const now = this.#o.clock.now();
    for (const l of this.#logs.values()) l.then((log) => log.tick(now), () => {});
  }

  /** Closes every log and marks the shutdown clean when all closed without error. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    let clean = true;
    for (const [key, l] of this.#logs) {
      try {
        const log = await l;
        await log.close();
        if (log.failure) clean = false;
      } catch (err) {
        clean = false;
        this.#o.logger.error("Could not close a partition log", { dir: key, error: String(err) });
      }
    }
    if (clean) await this.#o.fs.writeFileAtomic(`${this.#o.dataDir}/${CLEAN_MARKER}`, new Uint8Array(0));
  }
}
