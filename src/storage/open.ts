/**
 * Opens the storage engine a URL names: `file:DIR` (or a plain directory path), `memory:`, or
 * `postgres://user:pass@host:port/db`.
 *
 * @module
 */

import type { ConnectPostgresFn, FileSystem, OpenDatabaseFn } from "../ports.ts";
import type { Storage, StorageOptions } from "./engine.ts";
import { openFileStorage } from "./file/engine.ts";
import { openMemoryStorage } from "./memory/engine.ts";
import type { PgClusterTiming } from "./postgres/cluster.ts";
import { openPostgresStorage } from "./postgres/engine.ts";

/** Thrown for a storage URL kbin cannot open. */
export class StorageUrlError extends TypeError {
  readonly code = "KBIN_STORAGE_URL";
  constructor(message: string) {
    super(message);
    this.name = "StorageUrlError";
  }
}

/** A parsed storage URL. */
export type StorageUrl =
  | { kind: "file"; dir: string }
  | { kind: "memory" }
  | { kind: "postgres"; url: string };

/**
 * Parses a storage URL. A value without a scheme is a `file:` directory.
 * @param text e.g. "file:/var/lib/kbin", "memory:", "postgres://kbin@localhost/kbin"
 * @returns the parsed URL
 * @throws StorageUrlError for an unknown scheme or a `file:` URL without a directory
 */
export function parseStorageUrl(text: string): StorageUrl {
  const value = text.trim();
  if (value === "memory:" || value === "memory://") return { kind: "memory" };
  if (/^postgres(ql)?:\/\//.test(value)) return { kind: "postgres", url: value };
  if (value.startsWith("file:")) {
    // file:DIR, file://DIR and file:///abs/dir all name a directory.
    let dir = value.slice(5);
    if (dir.startsWith("//")) dir = dir.slice(2);
    if (dir === "") {
      throw new StorageUrlError(`Cannot use storage "${text}": a file: URL needs a directory, e.g. file:./kbin-data`);
    }
    return { kind: "file", dir: decodeURIComponent(dir) };
  }
  if (/^[a-zA-Z][a-zA-Z0-9+.-]+:/.test(value) && !/^[a-zA-Z]:[\\/]/.test(value)) {
    throw new StorageUrlError(
      `Cannot use storage "${text}": unknown engine "${
        value.split(":")[0]
      }" (expected file:DIR, memory: or postgres://…)`,
    );
  }
  if (value === "") throw new StorageUrlError('Cannot use storage "": expected file:DIR, memory: or postgres://…');
  return { kind: "file", dir: value };
}

/** What opening a storage needs from the runtime, beside the common options. */
export interface OpenStorageOptions extends StorageOptions {
  fs: FileSystem;
  openDatabase: OpenDatabaseFn;
  connectPostgres: ConnectPostgresFn;
  /** Lease and heartbeat of brokers sharing a `postgres:` storage (defaults: 6 s, 500 ms). */
  cluster?: PgClusterTiming;
  /** `postgres:` only: bytes of recent batches kept for reads at the tail (default 64 MiB). */
  tailCacheBytes?: number;
}

/**
 * Opens the engine a URL names.
 * @param url a storage URL (see {@link parseStorageUrl})
 * @param o runtime capabilities and the common storage options
 * @returns the open storage
 * @throws StorageUrlError for a URL no engine of this build opens
 */
export function openStorage(url: string | StorageUrl, o: OpenStorageOptions): Promise<Storage> {
  const parsed = typeof url === "string" ? parseStorageUrl(url) : url;
  switch (parsed.kind) {
    case "memory":
      return Promise.resolve(openMemoryStorage(o));
    case "file":
      return openFileStorage({ ...o, dir: parsed.dir });
    case "postgres":
      return openPostgres(parsed.url, o);
  }
}

/**
 * A storage URL fit for logs: the password of a `postgres://` URL is replaced by "***".
 * @param url a storage URL
 * @returns the URL without its password
 */
export function redactStorageUrl(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:@/]*):[^@/]*@/, "$1:***@");
}

async function openPostgres(url: string, o: OpenStorageOptions): Promise<Storage> {
  let pg;
  try {
    pg = await o.connectPostgres(url);
  } catch (err) {
    // The password stays out of logs and errors.
    throw new StorageUrlError(`Cannot connect to PostgreSQL at "${redactStorageUrl(url)}": ${(err as Error).message}`);
  }
  return await openPostgresStorage({
    ...o,
    pg,
    location: redactStorageUrl(url),
    connectSession: () => o.connectPostgres(url, { max: 1 }),
    ...(o.cluster ? { timing: o.cluster } : {}),
    ...(o.tailCacheBytes === undefined ? {} : { tailCacheBytes: o.tailCacheBytes }),
  });
}
