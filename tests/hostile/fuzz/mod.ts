/**
 * kbin's decoder fuzzer: every target, and the running runtime's native codecs. Used by
 * `tests/hostile/decoder_fuzz_test.ts` (fixed seeds, a budget that fits the suite) and
 * `scripts/fuzz.ts` (random seeds, as long as asked).
 *
 * @module
 */

import { Codec, type CodecImpl, createCodecs, pureCodecs } from "../../../src/protocol/compression/mod.ts";
import type { Target } from "./engine.ts";
import { dataTargets, headerTargets, type MessageBudget, messageTargets } from "./messages.ts";
import {
  CodecTarget,
  FrameSplitterTarget,
  FUZZ_MAX_OUTPUT_BYTES,
  MessageSetTarget,
  RecordBatchTarget,
} from "./records.ts";

export * from "./engine.ts";
export { decodeRequestFrame, generateMessage, isServed, SERVED } from "./messages.ts";
export { FUZZ_MAX_OUTPUT_BYTES } from "./records.ts";

/** "bun" under Bun, "deno" under Deno. */
export const runtimeName: "bun" | "deno" = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined"
  ? "bun"
  : "deno";

/** The running runtime's native codecs (what the broker uses), loaded from its adapter. */
export async function loadNativeCodecs(): Promise<Partial<Record<number, CodecImpl>>> {
  // A computed specifier keeps each runtime from resolving (or type-checking) the other's adapter.
  const adapter = (await import(`../../../src/runtime/${runtimeName}/codecs.ts`)) as {
    nativeCodecs: Partial<Record<number, CodecImpl>>;
  };
  return adapter.nativeCodecs;
}

/** Options of {@link allTargets}. */
export interface AllTargetsOptions {
  /** The runtime's native codecs, as the broker gets them. */
  native: Partial<Record<number, CodecImpl>>;
  /** Also fuzz every response decoder (the kbin client reads them). Default true. */
  responses?: boolean;
  /** Per-round budget of the message targets. */
  budget?: Partial<MessageBudget>;
}

/** Every fuzz target: messages, header, data schemas, records, message sets, codecs, frames. */
export function allTargets(options: AllTargetsOptions): Target[] {
  const codecs = createCodecs(options.native, { maxOutputBytes: FUZZ_MAX_OUTPUT_BYTES });
  const codecTargets: Target[] = [];
  for (const codec of [Codec.GZIP, Codec.SNAPPY, Codec.LZ4, Codec.ZSTD]) {
    const native = options.native[codec];
    const packer = native ?? pureCodecs[codec]!;
    codecTargets.push(new CodecTarget({ label: "pure", codec, impl: pureCodecs[codec]!, packer }));
    if (native) codecTargets.push(new CodecTarget({ label: `native ${runtimeName}`, codec, impl: native, packer }));
  }
  return [
    ...headerTargets(),
    ...messageTargets({
      ...(options.responses === undefined ? {} : { responses: options.responses }),
      ...(options.budget ? { budget: options.budget } : {}),
    }),
    ...dataTargets(),
    new RecordBatchTarget(codecs),
    new MessageSetTarget(codecs),
    ...codecTargets,
    new FrameSplitterTarget(),
  ];
}
