/**
 * One log segment: a `.log` file of RecordBatches stored byte-for-byte as produced (only the
 * base offset and leader epoch patched), with its sparse offset and time indexes. File names
 * are the 20-digit zero-padded base offset, as in Kafka.
 *
 * The segment tracks two sizes: `size` counts bytes assigned to appends (including writes in
 * flight) and `writtenSize` those the OS has accepted, which bounds what readers may see.
 *
 * @module
 */

import type { FileHandle, FileSystem } from "../../ports.ts";
import { OffsetIndex, TimeIndex } from "./indexes.ts";

/** `00000000000000000042` for 42. */
export function segmentName(baseOffset: number): string {
  return String(baseOffset).padStart(20, "0");
}

/** One segment's files and in-memory bookkeeping. */
export class Segment {
  readonly baseOffset: number;
  readonly path: string;
  readonly file: FileHandle;
  index: OffsetIndex;
  timeIndex: TimeIndex;
  /** Bytes assigned to appends, including writes still in flight. */
  size: number;
  /** Bytes the OS has accepted (readers see up to here). */
  writtenSize: number;
  /** Bytes made durable by datasync. */
  syncedSize: number;
  /** Offset after the last batch assigned to this segment. */
  nextOffset: number;
  /** Largest batch max-timestamp, and the base offset of the batch that has it. */
  maxTimestamp = -1;
  offsetOfMaxTimestamp = -1;
  /** Wall-clock time of the first append, for `segment.ms` rolling. */
  firstAppendMs: number | null = null;
  /** Set once retention or DeleteRecords removed the segment (its files go after a delay). */
  deleted = false;
  #bytesSinceIndex = 0;

  private constructor(baseOffset: number, path: string, file: FileHandle, size: number) {
    this.baseOffset = baseOffset;
    this.path = path;
    this.file = file;
    this.size = size;
    this.writtenSize = size;
    this.syncedSize = size;
    this.nextOffset = baseOffset;
    this.index = new OffsetIndex();
    this.timeIndex = new TimeIndex();
  }

  /** Creates an empty segment file (and makes its directory entry durable). */
  static async create(fs: FileSystem, dir: string, baseOffset: number): Promise<Segment> {
    const path = `${dir}/${segmentName(baseOffset)}`;
    const file = await fs.open(`${path}.log`, { create: true });
    await file.truncate(0);
    await fs.syncDir(dir);
    return new Segment(baseOffset, path, file, 0);
  }

  /** Opens an existing segment; indexes are loaded by the caller (or rebuilt by scanning). */
  static async open(fs: FileSystem, dir: string, baseOffset: number): Promise<Segment> {
    const path = `${dir}/${segmentName(baseOffset)}`;
    const file = await fs.open(`${path}.log`);
    return new Segment(baseOffset, path, file, await file.size());
  }

  /** Records a batch placed at `position` (index entries every `indexIntervalBytes`). */
  noteBatch(
    position: number,
    size: number,
    baseOffset: number,
    lastOffset: number,
    maxTimestamp: number,
    indexIntervalBytes: number,
  ): void {
    if (this.#bytesSinceIndex >= indexIntervalBytes) {
      this.index.append(baseOffset - this.baseOffset, position);
      this.#bytesSinceIndex = 0;
    }
    this.#bytesSinceIndex += size;
    if (maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = maxTimestamp;
      this.offsetOfMaxTimestamp = baseOffset;
      this.timeIndex.append(maxTimestamp, baseOffset - this.baseOffset);
    }
    this.nextOffset = lastOffset + 1;
  }

  /** Writes both indexes beside the segment (on roll and on clean shutdown). */
  async persistIndexes(fs: FileSystem): Promise<void> {
    await fs.writeFileAtomic(`${this.path}.index`, this.index.serialize());
    await fs.writeFileAtomic(`${this.path}.timeindex`, this.timeIndex.serialize());
  }

  /** Loads persisted indexes; false when missing or invalid (the caller rebuilds them). */
  async loadIndexes(fs: FileSystem): Promise<boolean> {
    const idx = await fs.readFile(`${this.path}.index`);
    const tidx = await fs.readFile(`${this.path}.timeindex`);
    if (idx === null || tidx === null) return false;
    const index = OffsetIndex.parse(idx, Math.max(1, this.size));
    const timeIndex = TimeIndex.parse(tidx);
    if (!index || !timeIndex) return false;
    this.index = index;
    this.timeIndex = timeIndex;
    return true;
  }

  /** Resets all in-memory bookkeeping before a rebuild scan. */
  resetBookkeeping(): void {
    this.index = new OffsetIndex();
    this.timeIndex = new TimeIndex();
    this.#bytesSinceIndex = 0;
    this.maxTimestamp = -1;
    this.offsetOfMaxTimestamp = -1;
    this.nextOffset = this.baseOffset;
  }

  /** Continues index bookkeeping after loading persisted indexes. */
  setBytesSinceIndex(bytes: number): void {
    this.#bytesSinceIndex = bytes;
  }

  /**
   * Renames the files to `*.deleted` (the `.log` first: it is what makes a segment exist when the
   * log is opened), keeping the open handle for reads in flight. Leftovers go when the log opens.
   */
  async markDeleted(fs: FileSystem): Promise<void> {
    this.deleted = true;
    for (const ext of [".log", ".index", ".timeindex"]) {
      if (await fs.exists(`${this.path}${ext}`)) await fs.rename(`${this.path}${ext}`, `${this.path}${ext}.deleted`);
    }
  }

  /** Closes the handle and removes the `*.deleted` files. */
  async removeDeletedFiles(fs: FileSystem): Promise<void> {
    await this.file.close().catch(() => {});
    for (const ext of [".log", ".index", ".timeindex"]) await fs.remove(`${this.path}${ext}.deleted`);
  }

  async removeFiles(fs: FileSystem): Promise<void> {
    await this.file.close().catch(() => {});
    for (const ext of [".log", ".index", ".timeindex"]) await fs.remove(`${this.path}${ext}`);
  }
}
