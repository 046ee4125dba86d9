/**
 * The Bun runtime: every capability the core asks for, implemented with Bun.
 *
 * @module
 */

import type { Runtime } from "../../ports.ts";
import { nativeCodecs } from "./codecs.ts";
import { openFileSystem } from "./fs.ts";
import { connect, listen } from "./net.ts";
import { serveHttp } from "./http.ts";
import { processStats } from "../shared/process_stats.ts";
import { openDatabase } from "./sqlite.ts";
import { connectPostgresBun } from "./postgres.ts";
import { installAddonCrc32c } from "../shared/native_crc32c.ts";

// Hardware CRC-32C for batch checks, loaded at the first large batch. A literal require, so
// `bun build --compile` embeds the addon.
installAddonCrc32c(() => require("@node-rs/crc32"));

/** Capabilities backed by Bun. */
export const bunRuntime: Runtime = {
  name: "bun",
  listen,
  connect,
  openDatabase,
  connectPostgres: connectPostgresBun,
  fs: openFileSystem(),
  clock: { now: () => Date.now() },
  codecs: nativeCodecs,
  serveHttp,
  processStats,
};

export { connect, listen, openDatabase, openFileSystem, serveHttp };
