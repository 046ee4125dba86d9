import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  crc32c,
  installNativeCrc32c,
  NATIVE_CRC32C_MIN_BYTES,
  nativeCrc32cReady,
} from "../../../src/protocol/crc32c.ts";
import { crc32 } from "../../../src/protocol/crc32.ts";

const CHECK = new TextEncoder().encode("123456789");

/** Bit-at-a-time reference CRC, independent of the table code. */
function reference(poly: number, data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of data) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ poly : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function pseudoRandom(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

test('crc32c() gives the CRC-32C check value for "123456789"', () => {
  assert.equal(crc32c(CHECK), 0xe3069283);
});

test('crc32() gives the CRC-32 (zlib) check value for "123456789"', () => {
  assert.equal(crc32(CHECK), 0xcbf43926);
});

test("crc32c() and crc32() of nothing are 0", () => {
  assert.equal(crc32c(new Uint8Array(0)), 0);
  assert.equal(crc32(new Uint8Array(0)), 0);
});

test("crc32c() matches a bitwise reference at every length and alignment up to 80 bytes", () => {
  const data = pseudoRandom(100, 7);
  for (let start = 0; start < 17; start++) {
    for (let len = 0; start + len <= data.length && len <= 80; len++) {
      const slice = data.subarray(start, start + len);
      assert.equal(crc32c(data, start, start + len), reference(0x82f63b78, slice));
      assert.equal(crc32(data, start, start + len), reference(0xedb88320, slice));
    }
  }
});

test("crc32c() respects the byteOffset of a subarray view", () => {
  const data = pseudoRandom(4096, 99);
  const view = data.subarray(3, 4000);
  assert.equal(crc32c(view), reference(0x82f63b78, view));
  assert.equal(crc32c(view, 10, 20), reference(0x82f63b78, data.subarray(13, 23)));
});

test("crc32c() refuses a range outside the buffer", () => {
  assert.throws(() => crc32c(CHECK, 0, 10), RangeError);
  assert.throws(() => crc32c(CHECK, 5, 4), RangeError);
  assert.throws(() => crc32(CHECK, -1), RangeError);
});

test("crc32c() throughput (logged, not asserted)", () => {
  const data = pseudoRandom(1 << 20, 3);
  let sink = 0;
  for (let i = 0; i < 20; i++) sink ^= crc32c(data); // warm-up
  const rounds = 200;
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) sink ^= crc32c(data);
  const ms = performance.now() - t0;
  const t1 = performance.now();
  for (let i = 0; i < rounds / 4; i++) sink ^= crc32(data);
  const ms32 = performance.now() - t1;
  console.log(
    `crc32c: ${((rounds * data.length) / 1e6 / (ms / 1000)).toFixed(0)} MB/s, ` +
      `crc32: ${(((rounds / 4) * data.length) / 1e6 / (ms32 / 1000)).toFixed(0)} MB/s (1 MiB buffers)`,
  );
  assert.equal(typeof sink, "number");
});

describe("installNativeCrc32c()", () => {
  const tables = (data: Uint8Array) => reference(0x82f63b78, data);
  const big = pseudoRandom(70_000, 11);

  test("a native function that agrees is used for large inputs only, loaded at the first one", () => {
    let loads = 0;
    let calls = 0;
    installNativeCrc32c(() => {
      loads++;
      return (data) => {
        calls++;
        return tables(data);
      };
    });
    try {
      assert.equal(crc32c(CHECK), 0xe3069283);
      assert.equal(loads, 0, "small inputs do not load it");
      assert.equal(crc32c(big, 5, 60_005), reference(0x82f63b78, big.subarray(5, 60_005)));
      assert.equal(loads, 1);
      const before = calls;
      assert.equal(crc32c(big, 100, 100 + NATIVE_CRC32C_MIN_BYTES), reference(0x82f63b78, big.subarray(100, 612)));
      assert.equal(calls, before + 1, "inputs of the threshold size go native");
      crc32c(big, 0, NATIVE_CRC32C_MIN_BYTES - 1);
      assert.equal(calls, before + 1, "smaller inputs stay on the tables");
      assert.equal(nativeCrc32cReady(), true);
      assert.equal(loads, 1);
    } finally {
      installNativeCrc32c(null);
    }
  });

  test("a native function that disagrees, throws on load or is missing is refused; the tables answer", () => {
    const loaders: (() => ((data: Uint8Array) => number) | null)[] = [
      () => (data) => tables(data) ^ 1,
      () => (data) => (data.length > 1000 ? 0 : tables(data)),
      () => {
        throw new Error("no addon for this platform");
      },
      () => null,
    ];
    for (const load of loaders) {
      installNativeCrc32c(load);
      try {
        assert.equal(crc32c(big), reference(0x82f63b78, big));
        assert.equal(nativeCrc32cReady(), false);
      } finally {
        installNativeCrc32c(null);
      }
    }
  });

  test("a range outside the buffer is still refused with a RangeError", () => {
    installNativeCrc32c(() => tables);
    try {
      assert.throws(() => crc32c(big, 0, big.length + 1), RangeError);
    } finally {
      installNativeCrc32c(null);
    }
  });
});
