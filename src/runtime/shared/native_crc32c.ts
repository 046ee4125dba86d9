/**
 * Hardware CRC-32C for the core, from `@node-rs/crc32` (a Rust N-API addon using SSE 4.2 or the
 * ARMv8 CRC instructions; @platformatic/kafka uses it too). It loads on Bun, in the compiled
 * executable (which embeds the host's `.node` file) and on Deno. CRC-32C checks every produced
 * batch, and the table loop in JavaScript (~1.7 GB/s) was a quarter of the broker's main thread
 * under 1 KiB-record produce load; the addon runs at ~6 GB/s on this machine.
 *
 * The core loads it on its first large input (see `installNativeCrc32c`); a platform without a
 * prebuilt addon (a cross-compiled binary, musl without its package) keeps the table loop.
 *
 * @module
 */

import { installNativeCrc32c } from "../../protocol/crc32c.ts";

/** The part of `@node-rs/crc32` used here. */
interface Crc32Addon {
  crc32c(input: Uint8Array, initialState?: number): number;
}

/**
 * Installs the addon as the core's native CRC-32C, loaded lazily.
 * @param requireAddon loads `@node-rs/crc32` synchronously (each runtime's `require`)
 */
export function installAddonCrc32c(requireAddon: () => unknown): void {
  installNativeCrc32c(() => {
    const addon = requireAddon() as Partial<Crc32Addon> | null;
    const crc32c = addon?.crc32c;
    return typeof crc32c === "function" ? (data) => crc32c(data) : null;
  });
}
