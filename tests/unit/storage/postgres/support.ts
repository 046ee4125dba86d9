/** What the postgres: engine tests share: opening storage on a database of the shared throwaway cluster. */
import { silentLogger } from "../../../../src/broker/logger.ts";
import { DEFAULT_LOG_CONFIG, type Storage } from "../../../../src/storage/engine.ts";
import { openStorage } from "../../../../src/storage/open.ts";
import { postgresBinDir } from "../../../support/postgres.ts";
import { connectPostgres, openDatabase, openFileSystem } from "../../../support/runtime.ts";

/** Why the postgres tests skip (PostgreSQL not installed, outside CI), or false. */
export const NO_POSTGRES: string | false = postgresBinDir() === null && process.env["CI"] !== "true"
  ? "PostgreSQL is not installed"
  : false;

/** Opens postgres: storage at `url` with the running runtime's driver. */
export function openPgStorage(url: string): Promise<Storage> {
  return openStorage(url, {
    fs: openFileSystem(),
    openDatabase,
    connectPostgres,
    clock: { now: () => Date.now() },
    logger: silentLogger,
    decompress: (_c, d) => d,
    logConfig: () => DEFAULT_LOG_CONFIG,
  });
}
