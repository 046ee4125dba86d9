/**
 * The Deno runtime: every capability the core asks for, implemented with Deno.
 *
 * @module
 */

import type { Runtime } from "../../ports.ts";
import { nativeCodecs } from "./codecs.ts";
import { openFileSystem } from "./fs.ts";
import { connect, listen } from "./net.ts";
import { openDatabase } from "./sqlite.ts";

/** Capabilities backed by Deno. */
export const denoRuntime: Runtime = {
  name: "deno",
  listen,
  connect,
  openDatabase,
  fs: openFileSystem(),
  clock: { now: () => Date.now() },
  codecs: nativeCodecs,
};

export { connect, listen, openDatabase, openFileSystem };
