/**
 * Codec benchmark: compress and decompress MB/s, records/s and p99 per call for each of Kafka's
 * codecs, pure TypeScript against the runtime's native implementations, on 1 MiB of JSON-ish
 * records (about the size of a full producer batch). Not a test.
 *
 * Usage: `bun scripts/bench/codecs.ts [MiB] [secondsPerCase] [codec,...]`
 *        `deno run -A scripts/bench/codecs.ts [MiB] [secondsPerCase] [codec,...]`
 * (defaults: 1 MiB, 1 s, gzip,snappy,lz4,zstd). The pure zstd encoder only stores blocks, so
 * its decoder (fzstd) is timed on the native encoder's frames.
 *
 * @module
 */

import * as zlib from "node:zlib";
import { type CodecImpl, codecName, pureCodecs } from "../../src/protocol/compression/mod.ts";

const g = globalThis as { Bun?: unknown; Deno?: { args: string[] } };
const runtime = g.Bun !== undefined ? "bun" : "deno";
const args = g.Deno?.args ?? (globalThis as unknown as { process: { argv: string[] } }).process.argv.slice(2);
const mib = Number(args[0] ?? 1);
const seconds = Number(args[1] ?? 1);
const only = (args[2] ?? "gzip,snappy,lz4,zstd").split(",");
const adapter = (await import(`../../src/runtime/${runtime}/codecs.ts`)) as {
  nativeCodecs: Partial<Record<number, CodecImpl>>;
};

/** Alternatives to what the adapter picked, measured to justify its choice. */
function variants(): Record<string, Partial<Record<number, CodecImpl>>> {
  const zstdLevel = (level: number) => ({ params: { [zlib.constants.ZSTD_c_compressionLevel]: level } });
  const out: Record<string, Partial<Record<number, CodecImpl>>> = {
    "node:zlib": {
      1: { compress: (d) => zlib.gzipSync(d, { level: 6 }), decompress: (d) => zlib.gunzipSync(d) },
      4: { compress: (d) => zlib.zstdCompressSync(d, zstdLevel(3)), decompress: (d) => zlib.zstdDecompressSync(d) },
    },
  };
  const bun = (globalThis as any).Bun;
  if (bun) {
    // Bun.gunzipSync returns only the first member of multi-member input (Bun 1.4.5): not usable.
    out["Bun.* zlib"] = {
      1: { compress: (d) => bun.gzipSync(d, { level: 6 }), decompress: (d) => bun.gunzipSync(d) },
      4: { compress: (d) => bun.zstdCompressSync(d, { level: 3 }), decompress: (d) => bun.zstdDecompressSync(d) },
    };
    out["Bun.* libdeflate"] = {
      1: {
        compress: (d) => bun.gzipSync(d, { level: 6, library: "libdeflate" }),
        decompress: (d) => bun.gunzipSync(d, { library: "libdeflate" }),
      },
    };
  }
  return out;
}

/** Deterministic records shaped like typical Kafka payloads: JSON events, one per line. */
function makeRecords(bytes: number): { data: Uint8Array; records: number } {
  let seed = 42;
  const rand = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 0x100000000;
  };
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join("");
  const actions = ["page_view", "click", "add_to_cart", "checkout", "search", "login", "logout"];
  const countries = ["US", "DE", "FR", "JP", "BR", "IN", "GB", "CA"];
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = JSON.stringify({
      eventId: `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`,
      ts: 1_700_000_000_000 + i * 37 + Math.floor(rand() * 30),
      userId: `user-${Math.floor(rand() * 5000)}`,
      action: actions[Math.floor(rand() * actions.length)],
      country: countries[Math.floor(rand() * countries.length)],
      amountCents: Math.floor(rand() * 100000),
      session: { id: hex(16), seq: Math.floor(rand() * 200), mobile: rand() < 0.4 },
      url: `/products/${Math.floor(rand() * 10000)}?ref=${hex(6)}`,
    });
    lines.push(line);
    size += line.length + 1;
  }
  return { data: new TextEncoder().encode(lines.join("\n")).subarray(0, bytes), records: lines.length };
}

function measure(fn: () => void): { perSecond: number; p99Ms: number } {
  for (let i = 0; i < 3; i++) fn();
  const times: number[] = [];
  const start = performance.now();
  while (performance.now() - start < seconds * 1000 || times.length < 5) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  const total = times.reduce((a, b) => a + b, 0);
  times.sort((a, b) => a - b);
  return {
    perSecond: (times.length * 1000) / total,
    p99Ms: times[Math.min(times.length - 1, Math.floor(times.length * 0.99))]!,
  };
}

const { data, records } = makeRecords(mib * 1024 * 1024);
const impls: [string, Partial<Record<number, CodecImpl>>][] = [
  ["pure", pureCodecs],
  ["native", adapter.nativeCodecs],
  ...Object.entries(variants()),
];
console.log(`# ${runtime}: ${data.length} bytes, ${records} records, ${seconds}s per case`);
console.log("| codec | impl | ratio | compress MB/s | records/s | p99 ms | decompress MB/s | records/s | p99 ms |");
console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const codec of [1, 2, 3, 4].filter((c) => only.includes(codecName(c)))) {
  for (const [label, table] of impls) {
    const impl = table[codec];
    if (!impl) continue;
    // The pure zstd encoder only stores blocks: time its decoder on real (native) frames.
    const packer = label === "pure" && codec === 4 && adapter.nativeCodecs[4] ? adapter.nativeCodecs[4] : impl;
    const packed = packer.compress(data);
    const back = impl.decompress(packed);
    if (back.length !== data.length || !back.every((b, i) => b === data[i])) {
      throw new Error(`${label} ${codec} round trip`);
    }
    const c = measure(() => impl.compress(data));
    const d = measure(() => impl.decompress(packed));
    const mb = data.length / 1e6;
    console.log(
      `| ${codecName(codec)} | ${label} | ${(data.length / impl.compress(data).length).toFixed(2)} | ${
        (c.perSecond * mb).toFixed(0)
      } | ${(c.perSecond * records).toFixed(0)} | ${c.p99Ms.toFixed(2)} | ${(d.perSecond * mb).toFixed(0)} | ${
        (d.perSecond * records).toFixed(0)
      } | ${d.p99Ms.toFixed(2)} |`,
    );
  }
}
