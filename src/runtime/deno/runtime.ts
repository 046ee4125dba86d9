/**
 * The Deno runtime: every capability the core asks for, implemented with Deno.
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
import { connectPostgres } from "../shared/postgres.ts";
import { installAddonCrc32c } from "../shared/native_crc32c.ts";
import { createRequire } from "node:module";

// Hardware CRC-32C for batch checks, loaded at the first large batch, when N-API addons may load
// (--allow-ffi; asking would prompt on a terminal). The table loop otherwise.
if (Deno.permissions.querySync({ name: "ffi" }).state === "granted") {
  const require = createRequire(import.meta.url);
  installAddonCrc32c(() => require("@node-rs/crc32"));
}

/** Capabilities backed by Deno. */
export const denoRuntime: Runtime = {
  name: "deno",
  listen,
  connect,
  openDatabase,
  connectPostgres,
  fs: openFileSystem(),
  clock: { now: () => Date.now() },
  codecs: nativeCodecs,
  serveHttp,
  processStats,
};

export { connect, listen, openDatabase, openFileSystem, serveHttp };
