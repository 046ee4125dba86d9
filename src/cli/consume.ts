/**
 * `kbin consume TOPIC`: prints records with a `--format` template, from the latest offset by
 * default, or from the beginning, an offset, or a time. Speaks the Kafka protocol through
 * {@link Fetcher}, so it works against any cluster.
 *
 * Partitions and start offsets are resolved first ({@link startPositions}), then fetched; a
 * consumer group (`--group`, later) replaces that first step with the coordinator's assignment
 * and committed offsets, and commits {@link Fetcher.positions} as it goes.
 *
 * @module
 */

import { Fetcher, OffsetSpec, type ResetPolicy } from "../client/fetcher.ts";
import { KafkaClientError } from "../client/errors.ts";
import { createCodecs } from "../protocol/compression/mod.ts";
import { CLIENT_OPTIONS, intOption, parseCommandArgs } from "./args.ts";
import { withClient } from "./client_env.ts";
import {
  type CommandIo,
  FORMAT_HELP,
  formatRecord,
  joinNegativeValues,
  noticePrinter,
  OutputBuffer,
  parseFormat,
  type RecordContext,
  records,
  stdoutWriter,
} from "./format.ts";
import { CliError, type CliIo } from "./io.ts";

export const CONSUME_HELP = `Usage: kbin consume TOPIC [options]

Prints the records of TOPIC on stdout, one per line by default (the value only). Starts at
the end of each partition, printing what arrives, until Ctrl-C or one of -n/--exit.

Where to start (pick one; default: the latest offset):
  --from-beginning          The earliest offset still in the log
  --offset N                Offset N in each partition; a negative N means N records before
                            the end (-10: the last 10 of each partition)
  --timestamp MS|ISO-8601   The first record at or after this time (ms since the epoch, or
                            e.g. 2024-05-01T12:00:00Z); the end when there is none

Options:
  --partition N             Only partition N (default: every partition)
  -n, --count COUNT         Exit after COUNT records
  -e, --exit                Exit once every partition has been read up to its high watermark
                            (checked as records arrive, like kcat -e)
  -f, --format FORMAT       How to print each record (default "%v\\n"):
${FORMAT_HELP}
  --isolation LEVEL         read_uncommitted (default) or read_committed
  -q, --quiet               No summary on stderr

Connection options:
  -b, --bootstrap HOST:PORT[,…]   Brokers to contact (default $KBIN_BOOTSTRAP or localhost:9092)
  --client-id ID                  Client id sent to the broker (default kbin-cli)
  --timeout-ms MS                 Request timeout (default 30000)
  --verbose                       Show offset resets and retries, and stacks on errors

When a start offset is no longer in the log (deleted by retention, or past the end), reading
restarts at the earliest offset with --from-beginning, at the nearest end with --offset or
--timestamp, else at the latest. Null keys and values print as nothing. Exit status: 0 (also
after Ctrl-C), 1 on errors, 2 for usage errors.

Examples:
  kbin consume orders --from-beginning --exit
  kbin consume orders -n 10 --offset -10 -f '%p:%o %k=%v\\n'
  kbin consume orders --timestamp 2024-05-01T00:00:00Z -f '%t %h %v\\n'
`;

const OPTIONS = {
  ...CLIENT_OPTIONS,
  "from-beginning": { type: "boolean" },
  offset: { type: "string" },
  timestamp: { type: "string" },
  partition: { type: "string" },
  count: { type: "string", short: "n" },
  exit: { type: "boolean", short: "e" },
  format: { type: "string", short: "f" },
  isolation: { type: "string" },
  quiet: { type: "boolean", short: "q" },
} as const;

const CMD = "consume";
const ENCODER = new TextEncoder();

/** Where to start reading. */
export type StartSpec =
  | { kind: "latest" }
  | { kind: "earliest" }
  | { kind: "offset"; offset: bigint }
  | { kind: "timestamp"; timestampMs: bigint };

function parseStart(values: { "from-beginning"?: boolean; offset?: string; timestamp?: string }): StartSpec {
  const given = [values["from-beginning"] === true, values.offset !== undefined, values.timestamp !== undefined];
  if (given.filter(Boolean).length > 1) {
    throw new CliError(`${CMD}: --from-beginning, --offset and --timestamp exclude each other`, 2);
  }
  if (values["from-beginning"]) return { kind: "earliest" };
  if (values.offset !== undefined) {
    if (!/^-?\d+$/.test(values.offset.trim())) {
      throw new CliError(`${CMD}: --offset must be a whole number, got "${values.offset}"`, 2);
    }
    return { kind: "offset", offset: BigInt(values.offset.trim()) };
  }
  if (values.timestamp !== undefined) {
    const text = values.timestamp.trim();
    const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
    if (!Number.isFinite(ms) || ms < 0) {
      throw new CliError(
        `${CMD}: --timestamp must be milliseconds since the epoch or an ISO-8601 time, got "${values.timestamp}"`,
        2,
      );
    }
    return { kind: "timestamp", timestampMs: BigInt(ms) };
  }
  return { kind: "latest" };
}

function parseIsolation(value: string | undefined): 0 | 1 {
  const v = (value ?? "read_uncommitted").trim().toLowerCase().replace("-", "_");
  if (v === "read_uncommitted") return 0;
  if (v === "read_committed") return 1;
  throw new CliError(`${CMD}: --isolation must be read_uncommitted or read_committed, got "${value}"`, 2);
}

/**
 * Resolves where each partition starts.
 * @returns the start offset by partition
 */
export async function startPositions(
  fetcher: Fetcher,
  partitions: readonly number[],
  start: StartSpec,
): Promise<Map<number, bigint>> {
  switch (start.kind) {
    case "earliest":
      return await fetcher.listOffsets(partitions, OffsetSpec.EARLIEST);
    case "latest":
      return await fetcher.listOffsets(partitions, OffsetSpec.LATEST);
    case "offset": {
      if (start.offset >= 0n) return new Map(partitions.map((p) => [p, start.offset]));
      const earliest = await fetcher.listOffsets(partitions, OffsetSpec.EARLIEST);
      const latest = await fetcher.listOffsets(partitions, OffsetSpec.LATEST);
      return new Map(partitions.map((p) => {
        const lo = earliest.get(p) ?? 0n;
        const at = (latest.get(p) ?? 0n) + start.offset;
        return [p, at < lo ? lo : at];
      }));
    }
    case "timestamp": {
      const found = await fetcher.listOffsets(partitions, start.timestampMs);
      const missing = partitions.filter((p) => (found.get(p) ?? -1n) < 0n);
      if (missing.length > 0) {
        const latest = await fetcher.listOffsets(missing, OffsetSpec.LATEST);
        for (const p of missing) found.set(p, latest.get(p) ?? 0n);
      }
      return found;
    }
  }
}

/** Runs `kbin consume`. */
export async function consumeCommand(args: string[], cliIo: CliIo): Promise<number> {
  const io = cliIo as CommandIo;
  const { values, positionals } = parseCommandArgs(
    CMD,
    joinNegativeValues(args, ["--offset", "--partition", "-n", "--count", "--timestamp"]),
    OPTIONS,
  );
  if (values.help) {
    io.stdout(CONSUME_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new CliError(`${CMD}: expected one topic name (see "kbin consume --help")`, 2);
  const topic = positionals[0]!;
  const start = parseStart(values);
  const format = parseFormat(values.format ?? "%v\\n");
  const isolationLevel = parseIsolation(values.isolation);
  const partition = values.partition === undefined ? undefined : intOption(CMD, "partition", values.partition, 0);
  if (partition !== undefined && partition < 0) {
    throw new CliError(`${CMD}: --partition must be >= 0, got ${partition}`, 2);
  }
  const count = values.count === undefined ? Infinity : intOption(CMD, "count", values.count, 0);
  if (count < 1) throw new CliError(`${CMD}: -n/--count must be at least 1, got ${count}`, 2);
  const exitAtEnd = values.exit ?? false;
  const quiet = values.quiet ?? false;
  const verbose = values.verbose ?? false;
  const resetPolicy: ResetPolicy = start.kind === "earliest"
    ? "earliest"
    : start.kind === "latest"
    ? "latest"
    : "nearest";
  const codecs = createCodecs(io.runtime.codecs);

  return await withClient(CMD, io, values, async (client) => {
    const fetcher = new Fetcher(client, topic, {
      decompress: (codec, data) => codecs.decompress(codec, data),
      isolationLevel,
      resetPolicy,
      onNotice: noticePrinter(io, CMD, verbose),
    });
    try {
      await fetcher.connect();
    } catch (err) {
      if (err instanceof KafkaClientError && err.kafkaName === "UNKNOWN_TOPIC_OR_PARTITION") {
        throw new CliError(`${CMD}: ${err.message} (see "kbin topic list")`);
      }
      throw err;
    }
    if (partition !== undefined && partition >= fetcher.partitionCount) {
      throw new CliError(
        `${CMD}: Cannot consume from "${topic}" partition ${partition}: UNKNOWN_TOPIC_OR_PARTITION ` +
          `(the topic has ${fetcher.partitionCount} partitions)`,
      );
    }
    const partitions = partition !== undefined
      ? [partition]
      : Array.from({ length: fetcher.partitionCount }, (_, i) => i);
    // A consumer group would take its assignment and committed offsets from the coordinator here.
    const positions = await startPositions(fetcher, partitions, start);
    if (verbose) {
      for (const [p, at] of positions) io.stderr(`kbin: ${CMD}: partition ${p} starts at offset ${at}\n`);
    }
    fetcher.assign(positions);
    if (exitAtEnd) {
      const ends = await fetcher.listOffsets(partitions, OffsetSpec.LATEST);
      for (const p of partitions) if (positions.get(p)! >= (ends.get(p) ?? 0n)) fetcher.unassign(p);
    }

    const controller = new AbortController();
    const removeSignal = io.onShutdownSignal(() => controller.abort());
    // A reader that went away (`| head`) ends the command quietly, as SIGPIPE would.
    let pipeClosed = false;
    const write = stdoutWriter(io);
    const out = new OutputBuffer((bytes) => {
      if (pipeClosed) return;
      const onError = (err: unknown) => {
        if ((err as { code?: unknown })?.code !== "EPIPE") throw err;
        pipeClosed = true;
        controller.abort();
      };
      try {
        const wait = write(bytes);
        if (wait instanceof Promise) return wait.catch(onError);
      } catch (err) {
        onError(err);
      }
    });
    const topicBytes = ENCODER.encode(topic);
    const ctx: RecordContext = { topic, topicBytes, partition: 0 };
    const startMs = Date.now();
    let printed = 0;
    try {
      if (fetcher.positions().size > 0) {
        outer: for await (const parts of fetcher.fetch(controller.signal)) {
          for (const p of parts) {
            ctx.partition = p.partition;
            for (const r of p.records) {
              formatRecord(format, r, ctx, out);
              const wait = out.maybeFlush();
              if (wait) await wait;
              if (++printed >= count || controller.signal.aborted) break outer;
            }
            if (exitAtEnd) {
              const end = isolationLevel === 1 && p.lastStableOffset >= 0n ? p.lastStableOffset : p.highWatermark;
              if (p.nextOffset >= end) fetcher.unassign(p.partition);
            }
          }
          // One write per response keeps a tail of the topic prompt without a write per record.
          await out.flush();
        }
      }
    } finally {
      removeSignal();
      await out.flush();
    }
    if (pipeClosed) return 0;
    if (!quiet) io.stderr(`Consumed ${records(printed)} from "${topic}" in ${Date.now() - startMs} ms\n`);
    return 0;
  });
}
