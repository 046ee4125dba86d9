/**
 * The pieces of `kbin produce` and `kbin consume` that touch bytes: `--format` templates,
 * the batching output buffer, line splitting and separator search.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  formatRecord,
  humanBytes,
  indexOfBytes,
  joinNegativeValues,
  LineSplitter,
  OutputBuffer,
  parseFormat,
  stdoutWriter,
} from "../../../src/cli/format.ts";
import { CliError } from "../../../src/cli/io.ts";
import type { AbsoluteRecord } from "../../../src/protocol/records/mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function record(partial: Partial<AbsoluteRecord> = {}): AbsoluteRecord {
  return {
    attributes: 0,
    timestampDelta: 0n,
    offsetDelta: 0,
    key: enc.encode("k1"),
    value: enc.encode("v1"),
    headers: [],
    offset: 42n,
    timestamp: 1700000000000n,
    ...partial,
  };
}

function render(format: string, r: AbsoluteRecord, partition = 3): string {
  const chunks: Uint8Array[] = [];
  const out = new OutputBuffer((b) => void chunks.push(b));
  formatRecord(parseFormat(format), r, { topic: "orders", topicBytes: enc.encode("orders"), partition }, out);
  out.flush();
  return chunks.map((c) => dec.decode(c)).join("");
}

describe("parseFormat()", () => {
  test("parseFormat() turns placeholders and escapes into parts", () => {
    const parts = parseFormat("%k=%v\\n");
    assert.deepEqual(parts.map((p) => p.kind), ["key", "literal", "value", "literal"]);
    assert.equal(dec.decode((parts[1] as { bytes: Uint8Array }).bytes), "=");
    assert.equal(dec.decode((parts[3] as { bytes: Uint8Array }).bytes), "\n");
  });

  test("parseFormat() knows %k %v %h %p %o %t %T and %%", () => {
    const kinds = parseFormat("%k%v%h%p%o%t%T%%").map((p) => p.kind);
    assert.deepEqual(kinds, ["key", "value", "headers", "partition", "offset", "timestamp", "topic", "literal"]);
  });

  test("parseFormat() merges neighbouring literals and escapes into one part", () => {
    const parts = parseFormat("a\\tb\\\\c\\r\\0%%");
    assert.equal(parts.length, 1);
    assert.equal(dec.decode((parts[0] as { bytes: Uint8Array }).bytes), "a\tb\\c\r\0%");
  });

  test("parseFormat() rejects unknown placeholders, unknown escapes and a trailing % or \\ as usage errors", () => {
    for (const bad of ["%x", "\\q", "abc%", "abc\\"]) {
      assert.throws(() => parseFormat(bad), (e: unknown) => e instanceof CliError && e.exitCode === 2, bad);
    }
    assert.throws(() => parseFormat("%x"), /unknown placeholder "%x"/);
    assert.throws(() => parseFormat("\\q"), /unknown escape "\\q"/);
  });

  test("parseFormat() of an empty template prints nothing", () => {
    assert.deepEqual(parseFormat(""), []);
  });
});

describe("formatRecord()", () => {
  test("formatRecord() prints partition, offset, timestamp, topic, key and value", () => {
    assert.equal(render("%T/%p@%o %t %k=%v\\n", record()), "orders/3@42 1700000000000 k1=v1\n");
  });

  test("formatRecord() prints headers as name=value joined by commas, null values empty", () => {
    const r = record({
      headers: [{ key: "a", value: enc.encode("1") }, { key: "ü", value: null }, { key: "c", value: enc.encode("") }],
    });
    assert.equal(render("%h", r), "a=1,ü=,c=");
    assert.equal(render("[%h]", record()), "[]");
  });

  test("formatRecord() prints null keys and values as nothing", () => {
    assert.equal(render("<%k|%v>", record({ key: null, value: null })), "<|>");
  });

  test("formatRecord() copies value bytes exactly, invalid UTF-8 included", () => {
    const chunks: Uint8Array[] = [];
    const out = new OutputBuffer((b) => void chunks.push(b));
    const value = new Uint8Array([0xff, 0x00, 0xc3, 0x28, 0x0a]);
    formatRecord(parseFormat("%v"), record({ value }), { topic: "t", topicBytes: enc.encode("t"), partition: 0 }, out);
    out.flush();
    assert.deepEqual(chunks[0], value);
  });
});

describe("OutputBuffer", () => {
  test("OutputBuffer writes once past its threshold, and the rest on flush()", () => {
    const writes: number[] = [];
    const out = new OutputBuffer((b) => void writes.push(b.length), { flushBytes: 10 });
    out.ascii("12345");
    assert.equal(out.maybeFlush(), undefined);
    assert.deepEqual(writes, []);
    out.bytes(new Uint8Array(7));
    out.maybeFlush();
    assert.deepEqual(writes, [12]);
    out.text("é");
    out.flush();
    assert.deepEqual(writes, [12, 2]);
    out.flush();
    assert.deepEqual(writes, [12, 2]);
  });

  test("OutputBuffer grows past its initial size without losing bytes", () => {
    let got: Uint8Array = new Uint8Array(0);
    const out = new OutputBuffer((b) => void (got = b), { flushBytes: 4 });
    const big = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff);
    out.bytes(big);
    out.flush();
    assert.deepEqual(got, big);
  });

  test("stdoutWriter() decodes UTF-8 split across chunks when the runtime takes only text", () => {
    let text = "";
    const write = stdoutWriter({ stdout: (t: string) => (text += t) } as never);
    const bytes = enc.encode("héllo");
    write(bytes.subarray(0, 2));
    write(bytes.subarray(2));
    assert.equal(text, "héllo");
  });
});

describe("LineSplitter", () => {
  function split(chunks: string[]): string[] {
    const s = new LineSplitter();
    const lines: string[] = [];
    for (const c of chunks) for (const l of s.push(enc.encode(c))) lines.push(dec.decode(l));
    const last = s.end();
    if (last !== null) lines.push(dec.decode(last));
    return lines;
  }

  test("LineSplitter.push() splits at newlines and keeps empty lines and carriage returns", () => {
    assert.deepEqual(split(["a\nb\r\n\nc\n"]), ["a", "b\r", "", "c"]);
  });

  test("LineSplitter joins a line across chunks, even across many", () => {
    assert.deepEqual(split(["ab", "c", "d\ne", "f\n"]), ["abcd", "ef"]);
  });

  test("LineSplitter.end() returns a last line without a newline, and nothing for empty input", () => {
    assert.deepEqual(split(["x\ny"]), ["x", "y"]);
    assert.deepEqual(split([""]), []);
    assert.deepEqual(split(["\n"]), [""]);
  });
});

describe("indexOfBytes() and humanBytes()", () => {
  test("indexOfBytes() finds single- and multi-byte separators", () => {
    assert.equal(indexOfBytes(enc.encode("key:value"), enc.encode(":")), 3);
    assert.equal(indexOfBytes(enc.encode("a::b::c"), enc.encode("::")), 1);
    assert.equal(indexOfBytes(enc.encode("a:b"), enc.encode("::")), -1);
    assert.equal(indexOfBytes(enc.encode("ab:"), enc.encode(":")), 2);
    assert.equal(indexOfBytes(enc.encode("ab:"), enc.encode(":x")), -1);
  });

  test("humanBytes() uses decimal units", () => {
    assert.equal(humanBytes(512), "512 B");
    assert.equal(humanBytes(1500), "1.50 kB");
    assert.equal(humanBytes(17_500_000), "17.5 MB");
    assert.equal(humanBytes(2_000_000_000), "2.00 GB");
  });
});

describe("joinNegativeValues()", () => {
  test("joinNegativeValues() glues a negative number to the option before it", () => {
    assert.deepEqual(joinNegativeValues(["t", "--offset", "-10", "-n", "-2"], ["--offset", "-n"]), [
      "t",
      "--offset=-10",
      "-n=-2",
    ]);
  });

  test("joinNegativeValues() leaves other options and non-numbers alone", () => {
    assert.deepEqual(joinNegativeValues(["--offset", "-x", "--other", "-1"], ["--offset"]), [
      "--offset",
      "-x",
      "--other",
      "-1",
    ]);
  });
});
