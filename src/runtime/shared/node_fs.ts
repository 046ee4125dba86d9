/**
 * The {@link FileSystem} port over `node:fs/promises`, which both Bun and Deno implement.
 *
 * @module
 */
import { constants } from "node:fs";
import * as fsp from "node:fs/promises";
import type { FileHandle, FileSystem } from "../../ports.ts";

function errorCode(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error ? String(error.code) : undefined;
}

function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  if (i < 0) return ".";
  return i === 0 ? "/" : path.slice(0, i);
}

function wrapHandle(fh: fsp.FileHandle): FileHandle {
  return {
    async read(position: number, length: number): Promise<Uint8Array> {
      const out = new Uint8Array(length);
      let filled = 0;
      while (filled < length) {
        const { bytesRead } = await fh.read(out, filled, length - filled, position + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return filled === length ? out : out.subarray(0, filled);
    },
    async write(data: Uint8Array, position: number): Promise<void> {
      let written = 0;
      while (written < data.length) {
        const { bytesWritten } = await fh.write(data, written, data.length - written, position + written);
        written += bytesWritten;
      }
    },
    async writev(chunks: readonly Uint8Array[], position: number): Promise<void> {
      let total = 0;
      for (const c of chunks) total += c.length;
      let { bytesWritten } = await fh.writev(chunks as Uint8Array[], position);
      if (bytesWritten === total) return;
      // Short write: finish chunk by chunk from where the kernel stopped.
      let at = position;
      for (const c of chunks) {
        const skip = Math.min(c.length, bytesWritten);
        bytesWritten -= skip;
        if (skip < c.length) {
          let written = skip;
          while (written < c.length) {
            const r = await fh.write(c, written, c.length - written, at + written);
            written += r.bytesWritten;
          }
        }
        at += c.length;
      }
    },
    datasync(): Promise<void> {
      return fh.datasync();
    },
    truncate(length: number): Promise<void> {
      return fh.truncate(length);
    },
    async size(): Promise<number> {
      return (await fh.stat()).size;
    },
    close(): Promise<void> {
      return fh.close();
    },
  };
}

// A directory fsync makes a rename durable. Some platforms refuse to open or sync a directory;
// the rename itself already happened, so this stays best effort.
async function syncDir(path: string): Promise<void> {
  let dir: fsp.FileHandle | undefined;
  try {
    dir = await fsp.open(path, "r");
    await dir.sync();
  } catch {
    // best effort
  } finally {
    await dir?.close().catch(() => {});
  }
}

/**
 * Returns the {@link FileSystem} port backed by the real file system.
 * `mkdir` creates parents and accepts an existing directory; `remove` of a missing path is a
 * no-op; `readdir` returns names sorted.
 * @returns a {@link FileSystem}
 * @example
 * const fs = openFileSystem();
 * await fs.mkdir("/tmp/kbin/orders-0");
 */
export function openFileSystem(): FileSystem {
  return {
    async mkdir(path: string): Promise<void> {
      await fsp.mkdir(path, { recursive: true });
    },
    async open(path: string, options?: { create?: boolean }): Promise<FileHandle> {
      const flags = options?.create === true ? constants.O_RDWR | constants.O_CREAT : constants.O_RDWR;
      return wrapHandle(await fsp.open(path, flags, 0o644));
    },
    async readFile(path: string): Promise<Uint8Array | null> {
      try {
        const buf = await fsp.readFile(path);
        return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      } catch (error) {
        if (errorCode(error) === "ENOENT") return null;
        throw error;
      }
    },
    async writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
      const tmp = `${path}.tmp-${crypto.randomUUID()}`;
      const fh = await fsp.open(tmp, "w", 0o644);
      try {
        await fh.writeFile(data);
        await fh.sync();
      } catch (error) {
        await fh.close().catch(() => {});
        await fsp.rm(tmp, { force: true }).catch(() => {});
        throw error;
      }
      await fh.close();
      try {
        await fsp.rename(tmp, path);
      } catch (error) {
        await fsp.rm(tmp, { force: true }).catch(() => {});
        throw error;
      }
      await syncDir(dirname(path));
    },
    async readdir(path: string): Promise<string[]> {
      return (await fsp.readdir(path)).sort();
    },
    async remove(path: string, options?: { recursive?: boolean }): Promise<void> {
      if (options?.recursive === true) {
        await fsp.rm(path, { recursive: true, force: true });
        return;
      }
      try {
        const stat = await fsp.lstat(path);
        if (stat.isDirectory()) await fsp.rmdir(path);
        else await fsp.unlink(path);
      } catch (error) {
        if (errorCode(error) !== "ENOENT") throw error;
      }
    },
    rename(from: string, to: string): Promise<void> {
      return fsp.rename(from, to);
    },
    async exists(path: string): Promise<boolean> {
      try {
        await fsp.lstat(path);
        return true;
      } catch (error) {
        if (errorCode(error) === "ENOENT") return false;
        throw error;
      }
    },
    syncDir,
    async statfs(path: string): Promise<{ totalBytes: number; usableBytes: number }> {
      const s = await fsp.statfs(path);
      return { totalBytes: s.blocks * s.bsize, usableBytes: s.bavail * s.bsize };
    },
  };
}
