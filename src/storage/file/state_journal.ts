/**
 * A crash-safe key-value journal for the small, often-updated cluster state of the file engine
 * (committed offsets, group state, later transactions, users and ACLs): an append-only log of
 * atomic records plus a periodic snapshot, in the spirit of Kafka's compacted `__consumer_offsets`.
 * Writes never block the event loop: they are grouped and made durable with the asynchronous
 * {@link FileHandle}, where a synchronous SQLite commit would stall every connection on its fsync.
 *
 * Files in `dir`:
 * - `state-<generation>.journal`: an 8-byte header (`kbsj`, then the format version as a u32),
 *   then records. A record is a u32 payload length (big-endian), the u32 CRC-32C of the payload,
 *   and the payload: UTF-8 JSON `[[key, value | null], …]`, one {@link StateJournal.write} call
 *   applied as a unit (`null` deletes the key).
 * - `state.snapshot`: the whole map at the start of a generation, written with
 *   `writeFileAtomic`, framed like a record: u32 length, u32 CRC-32C, then UTF-8 JSON
 *   `{"version": 1, "generation": g, "entries": [[key, value], …]}`. No snapshot means
 *   generation 0 and an empty map.
 *
 * Group commit: {@link StateJournal.write} only encodes its record and queues it. One writer at a
 * time appends everything queued with a single `writev` at the end of the journal and one
 * `datasync`, then applies the records to the in-memory map and resolves their promises in call
 * order. Writes that arrive while that I/O is in flight form the next group, so a burst of commits
 * costs a couple of fsyncs, not one each. Readers (`get`, `entries`) only ever see durable state.
 *
 * Recovery ({@link StateJournal.open}): load the snapshot, replay its generation's journal, and cut
 * the journal at the first record that is incomplete or fails its CRC (a write torn by a crash):
 * truncate, datasync, and log a warning with the byte counts. Everything before the cut was
 * acknowledged only after its datasync, so nothing acknowledged is lost. A record whose CRC holds
 * but whose content is not a list of pairs is a bug, not a torn write, and fails the open instead
 * of silently dropping what follows it.
 *
 * Compaction: once the journal exceeds max(`compactBytes`, 2 × the live data), the writer pauses
 * and (1) creates `state-<g+1>.journal` with its header, datasyncs it and syncs the directory,
 * (2) atomically replaces the snapshot with the durable map at generation g+1, (3) switches
 * appends to the new journal and (4) removes `state-<g>.journal`. A crash before (2) completes
 * loads snapshot g and journal g (the empty g+1 journal is removed as stale); after it, snapshot
 * g+1 holds everything journal g did. Open removes journals of other generations and leftover
 * snapshot temporaries either way.
 *
 * Any I/O failure takes the journal offline: {@link StateJournal.failure} is set and every
 * pending and later write rejects with it (a failed compaction too, because after a failed
 * snapshot replace it is unknown which generation a restart would load). A write that rejected
 * may still be found after a restart, as with any storage that fails between write and fsync.
 *
 * @module
 */

import { crc32c } from "../../protocol/crc32c.ts";
import type { FileHandle, FileSystem, Logger } from "../../ports.ts";
import { StorageError, type StorageObserver } from "../engine.ts";

/** Options for {@link StateJournal.open}. */
export interface StateJournalOptions {
  fs: FileSystem;
  /** Directory holding the journal files (created if missing). */
  dir: string;
  logger: Logger;
  /** Rewrite a snapshot once the journal exceeds max(compactBytes, 2 × live data size). Default 4 MiB. */
  compactBytes?: number;
  /** Told of each group commit's datasync (metrics). */
  observer?: StorageObserver;
}

/** One operation of a {@link StateJournal.write}: a put (string value) or a delete (`null`). */
export type StateOp = readonly [key: string, value: string | null];

/** Journal and snapshot format version written; the reader accepts it (there is no older one). */
export const STATE_JOURNAL_VERSION = 1;
/** Name of the snapshot file inside the journal directory. */
export const STATE_SNAPSHOT_NAME = "state.snapshot";
/** `state-7.journal` for generation 7. */
export function stateJournalName(generation: number): string {
  return `state-${generation}.journal`;
}

const DEFAULT_COMPACT_BYTES = 4 * 1024 * 1024;
/** "kbsj": kbin state journal. */
const MAGIC = 0x6b62736a;
const HEADER_BYTES = 8;
const FRAME_BYTES = 8;
const JOURNAL_NAME = /^state-(\d+)\.journal$/;
// writeFileAtomic writes "<path>.tmp-<random>" and renames it; a crash can leave one behind.
const SNAPSHOT_TEMP_PREFIX = `${STATE_SNAPSHOT_NAME}.tmp-`;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

interface Pending {
  /** The framed record, or null for an empty write (nothing to append). */
  record: Uint8Array | null;
  ops: readonly StateOp[];
  resolve: () => void;
  reject: (err: Error) => void;
}

/** What a replay found: the end of the valid records, and why scanning stopped early. */
interface Scan {
  end: number;
  reason: string | null;
}

function journalHeader(): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC);
  view.setUint32(4, STATE_JOURNAL_VERSION);
  return out;
}

/** Frames a payload: u32 length, u32 CRC-32C, payload. */
function frame(json: string): Uint8Array {
  const payload = encoder.encode(json);
  const out = new Uint8Array(FRAME_BYTES + payload.length);
  out.set(payload, FRAME_BYTES);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.length);
  view.setUint32(4, crc32c(out, FRAME_BYTES, out.length));
  return out;
}

function isOps(value: unknown): value is StateOp[] {
  if (!Array.isArray(value)) return false;
  for (const op of value) {
    if (!Array.isArray(op) || op.length !== 2 || typeof op[0] !== "string") return false;
    if (op[1] !== null && typeof op[1] !== "string") return false;
  }
  return true;
}

/** Rough in-memory footprint of one entry, for the compaction threshold (UTF-16 units, not bytes). */
function entryCost(key: string, value: string): number {
  return key.length + value.length + 8;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Replays the records of `data` from `start`, calling `apply` for each valid one.
 * @returns where the valid records end, and the reason scanning stopped before the end of `data`
 * @throws {StorageError} for a record whose CRC holds but whose payload is not a list of pairs
 */
function scanRecords(data: Uint8Array, start: number, path: string, apply: (ops: StateOp[]) => void): Scan {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let at = start;
  while (at < data.length) {
    if (data.length - at < FRAME_BYTES) return { end: at, reason: "incomplete record header" };
    const length = view.getUint32(at);
    // We never write an empty payload; a zero length is a zero-filled tail, whose CRC would match.
    if (length === 0) return { end: at, reason: "zero-length record" };
    const next = at + FRAME_BYTES + length;
    if (next > data.length) return { end: at, reason: "incomplete record" };
    if (crc32c(data, at + FRAME_BYTES, next) !== view.getUint32(at + 4)) return { end: at, reason: "CRC mismatch" };
    let ops: unknown;
    try {
      ops = JSON.parse(decoder.decode(data.subarray(at + FRAME_BYTES, next)));
    } catch {
      ops = undefined;
    }
    if (!isOps(ops)) {
      throw new StorageError(`Cannot replay state journal "${path}": the record at byte ${at} is malformed`);
    }
    apply(ops);
    at = next;
  }
  return { end: at, reason: null };
}

/** Reads and checks the snapshot; null when there is none. */
async function readSnapshot(
  fs: FileSystem,
  path: string,
): Promise<{ generation: number; entries: [string, string][] } | null> {
  const data = await fs.readFile(path);
  if (data === null) return null;
  const corrupt = (why: string): StorageError => new StorageError(`Cannot load state snapshot "${path}": ${why}`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length < FRAME_BYTES || data.length !== FRAME_BYTES + view.getUint32(0)) {
    throw corrupt(`its length does not match its ${data.length} bytes`);
  }
  if (crc32c(data, FRAME_BYTES, data.length) !== view.getUint32(4)) throw corrupt("CRC mismatch");
  let doc: { version?: unknown; generation?: unknown; entries?: unknown };
  try {
    doc = JSON.parse(decoder.decode(data.subarray(FRAME_BYTES)));
  } catch (err) {
    throw corrupt(`invalid JSON (${message(err)})`);
  }
  if (doc.version !== STATE_JOURNAL_VERSION) throw corrupt(`unsupported version ${JSON.stringify(doc.version)}`);
  const { generation, entries } = doc;
  if (typeof generation !== "number" || !Number.isSafeInteger(generation) || generation < 0) {
    throw corrupt(`invalid generation ${JSON.stringify(generation)}`);
  }
  if (!isOps(entries) || entries.some(([, value]) => value === null)) throw corrupt("malformed entries");
  return { generation, entries: entries as [string, string][] };
}

/**
 * Journal of key-value state with group commit; see the module doc for format and guarantees.
 * @example
 * const journal = await StateJournal.open({ fs, dir: "/data/__state", logger });
 * await journal.write([["offset/g1/orders/0", "42"], ["offset/g1/orders/1", null]]);
 * journal.get("offset/g1/orders/0"); // "42"
 * await journal.close();
 */
export class StateJournal {
  readonly #fs: FileSystem;
  readonly #dir: string;
  readonly #logger: Logger;
  readonly #observer: StorageObserver | undefined;
  readonly #compactBytes: number;
  readonly #map: Map<string, string>;
  #liveCost = 0;
  #generation: number;
  #file: FileHandle;
  /** End of the valid records: where the next group is appended. */
  #end: number;
  #queue: Pending[] = [];
  #draining: Promise<void> | null = null;
  #failed: StorageError | null = null;
  #closing: Promise<void> | null = null;

  private constructor(
    o: StateJournalOptions,
    compactBytes: number,
    map: Map<string, string>,
    generation: number,
    file: FileHandle,
    end: number,
  ) {
    this.#fs = o.fs;
    this.#dir = o.dir;
    this.#logger = o.logger;
    this.#observer = o.observer;
    this.#compactBytes = compactBytes;
    this.#map = map;
    for (const [key, value] of map) this.#liveCost += entryCost(key, value);
    this.#generation = generation;
    this.#file = file;
    this.#end = end;
  }

  /**
   * Opens the journal in `o.dir`: loads the snapshot, replays the journal of its generation
   * (truncating a torn or corrupt tail), removes stale journals and temporaries, and compacts if
   * the journal is already past the threshold.
   * @throws {StorageError} when the files cannot be read or are inconsistent (a snapshot with a bad
   * CRC, journals without the snapshot that named them)
   */
  static async open(o: StateJournalOptions): Promise<StateJournal> {
    const compactBytes = o.compactBytes ?? DEFAULT_COMPACT_BYTES;
    if (!(compactBytes > 0)) {
      throw new RangeError(`Cannot open state journal in "${o.dir}": compactBytes must be > 0, got ${compactBytes}`);
    }
    const { fs, dir, logger } = o;
    let file: FileHandle | null = null;
    try {
      await fs.mkdir(dir);
      const names = await fs.readdir(dir);
      const snapshot = await readSnapshot(fs, `${dir}/${STATE_SNAPSHOT_NAME}`);
      const generation = snapshot?.generation ?? 0;
      const generations = names.flatMap((n) => {
        const m = JOURNAL_NAME.exec(n);
        return m ? [Number(m[1])] : [];
      });
      const path = `${dir}/${stateJournalName(generation)}`;
      if (!generations.includes(generation) && (generation > 0 || generations.length > 0)) {
        // Journal g is removed only once snapshot g+1 is durable, and journal g+1 is created
        // (and its directory entry synced) before snapshot g+1: one of them has gone missing.
        const missing = snapshot === null ? STATE_SNAPSHOT_NAME : stateJournalName(generation);
        const found = generations.map((g) => `"${stateJournalName(g)}"`).join(", ");
        throw new StorageError(`Cannot open state journal in "${dir}": "${missing}" is missing (found ${found})`);
      }
      const map = new Map<string, string>(snapshot?.entries ?? []);
      file = await fs.open(path, { create: true });
      const size = await file.size();
      let end: number;
      if (size < HEADER_BYTES) {
        // New, or created by a crash before its header was durable: no record can exist yet.
        if (size > 0) logger.warn("Rewriting a torn state journal header", { journal: path, sizeBytes: size });
        await file.truncate(0);
        await file.write(journalHeader(), 0);
        await file.datasync();
        await fs.syncDir(dir);
        end = HEADER_BYTES;
      } else {
        const data = await file.read(0, size);
        const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
        if (view.getUint32(0) !== MAGIC) {
          throw new StorageError(`Cannot open state journal "${path}": not a state journal (bad magic)`);
        }
        const version = view.getUint32(4);
        if (version !== STATE_JOURNAL_VERSION) {
          throw new StorageError(`Cannot open state journal "${path}": unsupported version ${version}`);
        }
        const scan = scanRecords(data, HEADER_BYTES, path, (ops) => {
          for (const [key, value] of ops) {
            if (value === null) map.delete(key);
            else map.set(key, value);
          }
        });
        end = scan.end;
        if (end < size) {
          await file.truncate(end);
          await file.datasync();
          logger.warn("Truncated a torn or corrupt state journal tail", {
            journal: path,
            reason: scan.reason,
            validBytes: end,
            droppedBytes: size - end,
          });
        }
      }
      for (const name of names) {
        const m = JOURNAL_NAME.exec(name);
        if ((m && Number(m[1]) !== generation) || name.startsWith(SNAPSHOT_TEMP_PREFIX)) {
          await fs.remove(`${dir}/${name}`);
          logger.info("Removed a stale state journal file", { dir, file: name });
        }
      }
      const journal = new StateJournal(o, compactBytes, map, generation, file, end);
      file = null;
      if (journal.#overThreshold()) {
        try {
          await journal.#compact();
        } catch (err) {
          await journal.#file.close().catch(() => {});
          throw err;
        }
      }
      return journal;
    } catch (err) {
      await file?.close().catch(() => {});
      if (err instanceof StorageError) throw err;
      throw new StorageError(`Cannot open state journal in "${dir}": ${message(err)}`, { cause: err });
    }
  }

  /** The durable value of `key`. */
  get(key: string): string | undefined {
    return this.#map.get(key);
  }

  /** Durable entries whose key starts with `prefix` (all by default), in no particular order. */
  entries(prefix = ""): [string, string][] {
    const out: [string, string][] = [];
    for (const entry of this.#map) if (entry[0].startsWith(prefix)) out.push(entry);
    return out;
  }

  /** Number of live keys. */
  get size(): number {
    return this.#map.size;
  }

  /** Non-null once an I/O operation failed; every pending and later write rejects with it. */
  get failure(): Error | null {
    return this.#failed;
  }

  /**
   * Applies puts (string values) and deletes (`null`) as one atomic record. The promise resolves
   * once the record is durable (written and datasynced), just after the in-memory map took it;
   * promises resolve in call order. An empty `ops` resolves without I/O, after earlier writes.
   * `ops` must not change until the promise settles (the map is updated from it then).
   */
  write(ops: readonly StateOp[]): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (this.#closing) {
      return Promise.reject(new StorageError(`Cannot write to state journal in "${this.#dir}": it is closed`));
    }
    if (ops.length === 0 && this.#draining === null) return Promise.resolve();
    let record: Uint8Array | null = null;
    try {
      if (ops.length > 0) record = frame(JSON.stringify(ops));
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ record, ops, resolve, reject });
      this.#draining ??= this.#drain();
    });
  }

  /** Waits for pending writes, then closes the journal file. Idempotent; later writes reject. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    await this.#draining;
    try {
      await this.#file.close();
    } catch (err) {
      if (this.#failed) return;
      this.#fail("close", err, []);
      throw this.#failed;
    }
  }

  /** The single writer: commits queued groups one after another until the queue is empty. */
  async #drain(): Promise<void> {
    try {
      // Let the writes issued in the same tick as the first one join its group.
      await undefined;
      while (this.#queue.length > 0 && this.#failed === null) {
        const group = this.#queue;
        this.#queue = [];
        const chunks: Uint8Array[] = [];
        let bytes = 0;
        for (const p of group) {
          if (p.record === null) continue;
          chunks.push(p.record);
          bytes += p.record.length;
        }
        if (chunks.length > 0) {
          let action = "append";
          try {
            if (chunks.length === 1) await this.#file.write(chunks[0]!, this.#end);
            else await this.#file.writev(chunks, this.#end);
            this.#end += bytes;
            action = "datasync";
            const started = performance.now();
            await this.#file.datasync();
            this.#observer?.fsync("journal", (performance.now() - started) / 1000, chunks.length);
          } catch (err) {
            this.#fail(action, err, group);
            return;
          }
        }
        for (const p of group) {
          if (p.record !== null) this.#apply(p.ops);
          p.resolve();
        }
        if (this.#closing === null && this.#overThreshold()) {
          try {
            await this.#compact();
          } catch (err) {
            this.#fail("compaction", err, []);
            return;
          }
        }
      }
    } finally {
      this.#draining = null;
    }
  }

  #apply(ops: readonly StateOp[]): void {
    for (const [key, value] of ops) {
      const old = this.#map.get(key);
      if (old !== undefined) this.#liveCost -= entryCost(key, old);
      if (value === null) {
        this.#map.delete(key);
      } else {
        this.#map.set(key, value);
        this.#liveCost += entryCost(key, value);
      }
    }
  }

  #overThreshold(): boolean {
    return this.#end > Math.max(this.#compactBytes, 2 * this.#liveCost);
  }

  /** Starts generation g+1 from a snapshot of the durable map; see the module doc for the order. */
  async #compact(): Promise<void> {
    const fs = this.#fs;
    const dir = this.#dir;
    const next = this.#generation + 1;
    const before = this.#end;
    const file = await fs.open(`${dir}/${stateJournalName(next)}`, { create: true });
    try {
      await file.truncate(0);
      await file.write(journalHeader(), 0);
      await file.datasync();
      await fs.syncDir(dir);
      const snapshot = { version: STATE_JOURNAL_VERSION, generation: next, entries: [...this.#map] };
      await fs.writeFileAtomic(`${dir}/${STATE_SNAPSHOT_NAME}`, frame(JSON.stringify(snapshot)));
    } catch (err) {
      await file.close().catch(() => {});
      throw err;
    }
    const old = this.#file;
    const oldName = stateJournalName(this.#generation);
    this.#file = file;
    this.#generation = next;
    this.#end = HEADER_BYTES;
    try {
      await old.close();
      await fs.remove(`${dir}/${oldName}`);
    } catch (err) {
      // The new generation is already durable; open() removes the old journal next time.
      this.#logger.warn("Cannot remove the previous state journal", { dir, file: oldName, error: message(err) });
    }
    this.#logger.debug("Compacted the state journal", {
      dir,
      generation: next,
      journalBytes: before,
      keys: this.#map.size,
    });
  }

  #fail(action: string, err: unknown, inFlight: readonly Pending[]): void {
    if (this.#failed === null) {
      this.#failed = new StorageError(`State journal in "${this.#dir}" failed during ${action}: ${message(err)}`, {
        cause: err,
      });
      this.#logger.error("State journal is offline after a disk failure", {
        dir: this.#dir,
        during: action,
        error: message(err),
      });
    }
    const failed = this.#failed;
    const queued = this.#queue;
    this.#queue = [];
    for (const p of inFlight) p.reject(failed);
    for (const p of queued) p.reject(failed);
  }
}
