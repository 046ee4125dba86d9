/**
 * The {@link FileSystem} port for Deno: the shared `node:fs/promises` implementation.
 *
 * @module
 */
export { openFileSystem } from "../shared/node_fs.ts";
