/**
 * An in-memory {@link FileSystem} for tests, able to fail on purpose.
 *
 * Crash model: each file keeps `current` bytes (what reads see) and `durable` bytes (what
 * survives {@link MemoryFs.crash}). `datasync()` copies current to durable; `writeFileAtomic`
 * leaves the new file durable. Directory entries (create, rename, remove) are durable at once,
 * so a file created and never synced survives a crash empty.
 *
 * @module
 */
import type { FileHandle, FileSystem } from "../../ports.ts";

/** Thrown by {@link memoryFs}; `code` matches the errno name Node would use (ENOENT, EIO, …). */
export class MemoryFsError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(`${code}: ${message}`);
    this.name = "MemoryFsError";
    this.code = code;
  }
}

/** Options for {@link memoryFs}. */
export interface MemoryFsOptions {
  /** Arms a failure for the first write (as {@link MemoryFs.failNextWrite}). */
  failNextWrite?: boolean;
  /** Arms a failure for the first fsync (as {@link MemoryFs.failNextFsync}). */
  failNextFsync?: boolean;
  /** Bytes the file system holds at most (as {@link MemoryFs.setCapacity}); unlimited by default. */
  capacity?: number;
}

/** The in-memory file system plus its fault-injection controls. */
export interface MemoryFs extends FileSystem {
  /** Makes the next write (`FileHandle.write` or `writeFileAtomic`) throw EIO without writing. */
  failNextWrite(): void;
  /** Makes the next sync (`FileHandle.datasync` or `writeFileAtomic`) throw EIO; nothing becomes durable. */
  failNextFsync(): void;
  /**
   * Limits the bytes all files may hold together (null: no limit): a write that would grow past it
   * throws ENOSPC without writing, as a full disk does, and `statfs` reports the room left.
   */
  setCapacity(bytes: number | null): void;
  /**
   * Makes every read of a file whose path matches throw EIO, until the returned function is
   * called (a bad sector under one partition's segments).
   */
  failReads(matches: (path: string) => boolean): () => void;
  /** Cuts the last `bytes` bytes off a file, both current and durable, like a torn write. */
  tearTail(path: string, bytes: number): void;
  /** Simulates power loss: every file falls back to what was durable at its last sync. */
  crash(): void;
}

class Inode {
  data = new Uint8Array(0);
  length = 0;
  durable = new Uint8Array(0);

  view(): Uint8Array {
    return this.data.subarray(0, this.length);
  }

  resize(length: number): void {
    if (length > this.data.length) {
      const grown = new Uint8Array(Math.max(length, this.data.length * 2, 64));
      grown.set(this.view());
      this.data = grown;
    } else if (length < this.length) {
      this.data.fill(0, length, this.length);
    }
    this.length = length;
  }

  replace(bytes: Uint8Array): void {
    this.data = bytes.slice();
    this.length = bytes.length;
  }
}

function normalize(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return (path.startsWith("/") ? "/" : "") + parts.join("/");
}

function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  if (i < 0) return "";
  return i === 0 ? "/" : path.slice(0, i);
}

function isUnder(path: string, dir: string): boolean {
  return dir === "/" ? path.startsWith("/") && path !== "/" : path.startsWith(`${dir}/`);
}

/**
 * Creates an empty in-memory file system.
 * @param options failures to arm from the start
 * @returns the {@link MemoryFs}
 * @example
 * const fs = memoryFs({ failNextFsync: true });
 * const f = await fs.open("/log", { create: true });
 * await f.write(bytes, 0);
 * await assert.rejects(f.datasync());
 * fs.crash(); // "/log" is empty again
 */
export function memoryFs(options: MemoryFsOptions = {}): MemoryFs {
  const files = new Map<string, Inode>();
  // Root ("/") and the working directory ("") always exist.
  const dirs = new Set<string>(["/", ""]);
  let writeFault = options.failNextWrite === true;
  let fsyncFault = options.failNextFsync === true;
  let capacity: number | null = options.capacity ?? null;
  const used = (): number => {
    let n = 0;
    for (const inode of files.values()) n += inode.length;
    return n;
  };
  /** Throws ENOSPC when growing a file by `growth` bytes would pass the capacity. */
  function makeRoom(path: string, growth: number): void {
    if (capacity === null || growth <= 0) return;
    if (used() + growth > capacity) throw new MemoryFsError("ENOSPC", `no space left on device writing "${path}"`);
  }
  const readFaults = new Set<(path: string) => boolean>();

  function takeWriteFault(path: string): void {
    if (!writeFault) return;
    writeFault = false;
    throw new MemoryFsError("EIO", `injected write failure on "${path}"`);
  }

  function takeFsyncFault(path: string): void {
    if (!fsyncFault) return;
    fsyncFault = false;
    throw new MemoryFsError("EIO", `injected fsync failure on "${path}"`);
  }

  function requireParent(path: string): void {
    const parent = parentOf(path);
    if (!dirs.has(parent)) throw new MemoryFsError("ENOENT", `no such directory "${parent}"`);
  }

  function requireFile(path: string): Inode {
    const inode = files.get(path);
    if (inode === undefined) {
      if (dirs.has(path)) throw new MemoryFsError("EISDIR", `"${path}" is a directory`);
      throw new MemoryFsError("ENOENT", `no such file "${path}"`);
    }
    return inode;
  }

  function handle(path: string, inode: Inode): FileHandle {
    let closed = false;
    const check = (): void => {
      if (closed) throw new MemoryFsError("EBADF", `file "${path}" is closed`);
    };
    return {
      async read(position: number, length: number): Promise<Uint8Array> {
        check();
        for (const matches of readFaults) {
          if (matches(path)) throw new MemoryFsError("EIO", `injected read failure on "${path}"`);
        }
        const start = Math.min(position, inode.length);
        return inode.data.slice(start, Math.min(position + length, inode.length));
      },
      async write(data: Uint8Array, position: number): Promise<void> {
        check();
        takeWriteFault(path);
        makeRoom(path, position + data.length - inode.length);
        if (position + data.length > inode.length) inode.resize(position + data.length);
        inode.data.set(data, position);
      },
      async writev(chunks: readonly Uint8Array[], position: number): Promise<void> {
        check();
        takeWriteFault(path);
        let total = 0;
        for (const data of chunks) total += data.length;
        makeRoom(path, position + total - inode.length);
        let at = position;
        for (const data of chunks) {
          if (at + data.length > inode.length) inode.resize(at + data.length);
          inode.data.set(data, at);
          at += data.length;
        }
      },
      async datasync(): Promise<void> {
        check();
        takeFsyncFault(path);
        inode.durable = inode.view().slice();
      },
      async truncate(length: number): Promise<void> {
        check();
        inode.resize(length);
      },
      async size(): Promise<number> {
        check();
        return inode.length;
      },
      async close(): Promise<void> {
        closed = true;
      },
    };
  }

  return {
    async mkdir(path: string): Promise<void> {
      let p = normalize(path);
      if (files.has(p)) throw new MemoryFsError("EEXIST", `"${p}" is a file`);
      while (!dirs.has(p)) {
        if (files.has(p)) throw new MemoryFsError("ENOTDIR", `"${p}" is a file`);
        dirs.add(p);
        p = parentOf(p);
      }
    },
    async open(path: string, opts?: { create?: boolean }): Promise<FileHandle> {
      const p = normalize(path);
      let inode = files.get(p);
      if (inode === undefined) {
        if (dirs.has(p)) throw new MemoryFsError("EISDIR", `"${p}" is a directory`);
        if (opts?.create !== true) throw new MemoryFsError("ENOENT", `no such file "${p}"`);
        requireParent(p);
        inode = new Inode();
        files.set(p, inode);
      }
      return handle(p, inode);
    },
    async readFile(path: string): Promise<Uint8Array | null> {
      const inode = files.get(normalize(path));
      return inode === undefined ? null : inode.view().slice();
    },
    async writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
      const p = normalize(path);
      requireParent(p);
      if (dirs.has(p)) throw new MemoryFsError("EISDIR", `"${p}" is a directory`);
      takeWriteFault(p);
      // The new file is written beside the old one before the rename, as on a real disk.
      makeRoom(p, data.length);
      takeFsyncFault(p);
      const inode = new Inode();
      inode.replace(data);
      inode.durable = data.slice();
      files.set(p, inode);
    },
    async readdir(path: string): Promise<string[]> {
      const p = normalize(path);
      if (!dirs.has(p)) {
        if (files.has(p)) throw new MemoryFsError("ENOTDIR", `"${p}" is a file`);
        throw new MemoryFsError("ENOENT", `no such directory "${p}"`);
      }
      const names: string[] = [];
      for (const key of [...files.keys(), ...dirs]) {
        if (key !== p && parentOf(key) === p) names.push(key.slice(p === "/" ? 1 : p === "" ? 0 : p.length + 1));
      }
      return names.sort();
    },
    async remove(path: string, opts?: { recursive?: boolean }): Promise<void> {
      const p = normalize(path);
      if (files.delete(p)) return;
      if (!dirs.has(p)) return;
      if (p === "/" || p === "") throw new MemoryFsError("EPERM", "cannot remove the root directory");
      const children = [...files.keys(), ...dirs].filter((key) => isUnder(key, p));
      if (children.length > 0 && opts?.recursive !== true) {
        throw new MemoryFsError("ENOTEMPTY", `directory "${p}" is not empty`);
      }
      for (const key of children) {
        files.delete(key);
        dirs.delete(key);
      }
      dirs.delete(p);
    },
    async rename(from: string, to: string): Promise<void> {
      const src = normalize(from);
      const dst = normalize(to);
      if (src === dst) return;
      requireParent(dst);
      const inode = files.get(src);
      if (inode !== undefined) {
        if (dirs.has(dst)) throw new MemoryFsError("EISDIR", `"${dst}" is a directory`);
        files.delete(src);
        files.set(dst, inode);
        return;
      }
      if (!dirs.has(src)) throw new MemoryFsError("ENOENT", `no such file or directory "${src}"`);
      if (src === "/" || src === "") throw new MemoryFsError("EPERM", "cannot move the root directory");
      if (isUnder(dst, src)) throw new MemoryFsError("EINVAL", `cannot move "${src}" into itself`);
      if (files.has(dst)) throw new MemoryFsError("ENOTDIR", `"${dst}" is a file`);
      if ([...files.keys(), ...dirs].some((key) => isUnder(key, dst))) {
        throw new MemoryFsError("ENOTEMPTY", `directory "${dst}" is not empty`);
      }
      const moved = (key: string): string => dst + key.slice(src.length);
      for (const [key, node] of [...files]) {
        if (isUnder(key, src)) {
          files.delete(key);
          files.set(moved(key), node);
        }
      }
      for (const key of [...dirs]) {
        if (isUnder(key, src)) {
          dirs.delete(key);
          dirs.add(moved(key));
        }
      }
      dirs.delete(src);
      dirs.add(dst);
    },
    async exists(path: string): Promise<boolean> {
      const p = normalize(path);
      return files.has(p) || dirs.has(p);
    },
    async syncDir(): Promise<void> {
      // Creations and renames are durable at once in this model.
    },
    failNextWrite(): void {
      writeFault = true;
    },
    setCapacity(bytes: number | null): void {
      capacity = bytes;
    },
    async statfs(_path: string): Promise<{ totalBytes: number; usableBytes: number }> {
      if (capacity === null) return { totalBytes: Number.MAX_SAFE_INTEGER, usableBytes: Number.MAX_SAFE_INTEGER };
      return { totalBytes: capacity, usableBytes: Math.max(0, capacity - used()) };
    },
    failNextFsync(): void {
      fsyncFault = true;
    },
    failReads(matches: (path: string) => boolean): () => void {
      readFaults.add(matches);
      return () => readFaults.delete(matches);
    },
    tearTail(path: string, bytes: number): void {
      const inode = requireFile(normalize(path));
      const keep = (n: number): number => Math.max(0, n - bytes);
      inode.durable = inode.durable.slice(0, keep(inode.durable.length));
      inode.resize(keep(inode.length));
    },
    crash(): void {
      for (const inode of files.values()) inode.replace(inode.durable);
    },
  };
}
