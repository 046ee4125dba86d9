import assert from "node:assert/strict";
import { test } from "node:test";
import { crc32c, installNativeCrc32c, nativeCrc32cReady } from "../../src/protocol/crc32c.ts";
import { runtimeName } from "../support/runtime.ts";

// The runtime module installs the addon loader as a side effect of being imported.
await import(`../../src/runtime/${runtimeName}/runtime.ts`);

test(`the ${runtimeName} runtime loads the hardware CRC-32C addon on this machine`, () => {
  assert.equal(nativeCrc32cReady(), true);
  const data = new Uint8Array(1 << 16);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 0xff;
  const native = crc32c(data, 3, 60_003);
  installNativeCrc32c(null);
  assert.equal(native, crc32c(data, 3, 60_003), "native and table CRC-32C agree");
});
