// Decodes payloads written by independent implementations (liblz4, libsnappy with
// kafka-python's snappy-java framing, libzstd, zlib, the gzip/lz4/zstd tools), committed under
// tests/fixtures/compression by its generate.py, so this check needs no tool installed.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Codec, createCodecs } from "../../../../src/protocol/compression/mod.ts";
import { fixture, fixtureNames, IMPLEMENTATIONS, sameBytes } from "./helpers.ts";

const CODEC_OF: Record<string, number> = { gzip: Codec.GZIP, snappy: Codec.SNAPPY, lz4: Codec.LZ4, zstd: Codec.ZSTD };

const names = fixtureNames();
const inputs: Record<string, Uint8Array> = { records: fixture("records.jsonl"), random: fixture("random.bin") };

describe("fixtures from reference implementations", () => {
  test("MANIFEST.txt lists fixtures of all four codecs", () => {
    for (const kind of Object.keys(CODEC_OF)) {
      assert.ok(names.some((n) => n.split(".")[1]!.startsWith(kind)), `a ${kind} fixture`);
    }
    assert.ok(names.length >= 20);
  });

  for (const name of names) {
    const [input, variant] = name.split(".") as [string, string];
    const codec = CODEC_OF[variant.split("-")[0]!]!;
    for (const { label, impl } of IMPLEMENTATIONS.filter((i) => i.codec === codec)) {
      test(`${label} decompress() reads ${name}`, () => {
        const out = impl.decompress(fixture(name));
        assert.ok(sameBytes(out, inputs[input]!), `${name}: ${out.length} bytes vs ${inputs[input]!.length}`);
      });
    }
  }

  test("createCodecs() reads every fixture with a cap just at the input size", () => {
    const codecs = createCodecs({}, { maxOutputBytes: inputs.records!.length });
    for (const name of names.filter((n) => n.startsWith("records."))) {
      const codec = CODEC_OF[name.split(".")[1]!.split("-")[0]!]!;
      assert.ok(sameBytes(codecs.decompress(codec, fixture(name)), inputs.records!), name);
    }
  });
});
