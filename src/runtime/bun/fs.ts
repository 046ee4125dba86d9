/**
 * The {@link FileSystem} port for Bun: the shared `node:fs/promises` implementation.
 *
 * @module
 */
export { openFileSystem } from "../shared/node_fs.ts";
