/**
 * `kbin produce TOPIC`: one record per input line, from stdin or `--file`. Speaks the Kafka
 * protocol through {@link Producer}, so it works against any cluster.
 *
 * stdout stays empty; stderr gets a progress line (on a terminal, with `--file`), one line per
 * failed batch, and a summary. The exit status is non-zero when any record was not written.
 *
 * @module
 */

import { KafkaClientError } from "../client/errors.ts";
import { type DeliveryFailure, Producer, type ProducerRecord } from "../client/producer.ts";
import { codecFromName, createCodecs } from "../protocol/compression/mod.ts";
import type { RecordHeader } from "../protocol/records/mod.ts";
import { CLIENT_OPTIONS, CLIENT_OPTIONS_HELP, intOption, keyValues, parseCommandArgs } from "./args.ts";
import { withClient } from "./client_env.ts";
import { humanBytes, indexOfBytes, joinNegativeValues, LineSplitter, noticePrinter, records } from "./format.ts";
import { CliError, type CliIo } from "./io.ts";

export const PRODUCE_HELP = `Usage: kbin produce TOPIC [options]

Sends one record per line of stdin (or --file) to TOPIC. Lines end at "\\n"; every other byte,
"\\r" included, is part of the record. Keys are hashed with Kafka's murmur2 partitioner, so a
key lands on the same partition as with any Kafka client; lines without a key fill one
partition's batch, then the next.

Options:
  --file PATH               Read lines from PATH instead of stdin ("-" is stdin)
  --key-separator SEP       Split each line at the first SEP into key and value
                            (a line without SEP gets a null key)
  -H, --header NAME=VALUE   Add a header to every record (repeatable)
  --null-value MARKER       Send a null value (a tombstone) for lines whose value is MARKER
  --partition N             Send every record to partition N
  --acks all|-1|1|0         Acknowledgement to wait for (default all)
  --compression CODEC       none, gzip, snappy, lz4 or zstd (default none)
  --batch-size BYTES        Send a partition's batch once it holds this much (default 262144)
  --linger-ms MS            Wait this long for a batch to fill (default 5)
  --idempotent              Require idempotence: a producer id and sequence numbers, so
                            retries never duplicate or reorder records (needs --acks all)
  --no-idempotent           Turn idempotence off. By default it is on with --acks all, and
                            quietly off when the cluster refuses it
  -q, --quiet               No progress or summary on stderr (failures are still reported)

Connection options:
${CLIENT_OPTIONS_HELP}  --verbose                       Show retries, producer ids, and stacks on errors

The topic must exist ("kbin topic create"). Exit status: 0 when every record was written,
1 when any was not (each failed batch is reported with its line numbers), 2 for usage errors.

Examples:
  echo "hello" | kbin produce greetings
  kbin produce orders --key-separator : < orders.txt        # "id42:{...}" → key id42
  kbin produce events --file events.jsonl --compression zstd -H source=import
`;

const OPTIONS = {
  ...CLIENT_OPTIONS,
  file: { type: "string" },
  "key-separator": { type: "string" },
  header: { type: "string", short: "H", multiple: true },
  "null-value": { type: "string" },
  partition: { type: "string" },
  acks: { type: "string" },
  compression: { type: "string" },
  "batch-size": { type: "string" },
  "linger-ms": { type: "string" },
  idempotent: { type: "boolean" },
  "no-idempotent": { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
} as const;

const CMD = "produce";
const CHUNK_BYTES = 1 << 20;
const MAX_FAILURE_LINES = 10;
const PROGRESS_INTERVAL_MS = 250;
const ENCODER = new TextEncoder();

/** A source of input chunks that can be abandoned on Ctrl-C. */
interface Input {
  /** The next chunk, or null at the end. */
  read(): Promise<Uint8Array | null>;
  /** Total bytes when known (a file), for progress. */
  readonly sizeBytes: number | null;
  close(): Promise<void>;
}

function errorCode(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "code" in err ? String((err as { code: unknown }).code) : undefined;
}

async function openFile(io: CliIo, path: string): Promise<Input> {
  const fail = (err: unknown): never => {
    const code = errorCode(err);
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : (err as Error).message;
    throw new CliError(`${CMD}: Cannot read file "${path}": ${why}`);
  };
  let handle;
  try {
    handle = await io.runtime.fs.open(path);
  } catch (err) {
    const code = errorCode(err);
    if (code !== "EACCES" && code !== "EPERM" && code !== "EROFS") fail(err);
    // The FileSystem port opens read-write; a read-only file is read whole instead.
    let data: Uint8Array | null = null;
    try {
      data = await io.runtime.fs.readFile(path);
    } catch (err2) {
      fail(err2);
    }
    if (data === null) fail(Object.assign(new Error("no such file"), { code: "ENOENT" }));
    return wholeInput(data!);
  }
  const h = handle;
  const sizeBytes = await h.size();
  let position = 0;
  let whole: Input | null = null;
  let closed = false;
  return {
    sizeBytes,
    async read() {
      if (whole !== null) return await whole.read();
      let chunk: Uint8Array;
      try {
        chunk = await h.read(position, CHUNK_BYTES);
      } catch (err) {
        // A pipe or FIFO (--file /dev/stdin, <(…)) has no positions: read it whole instead.
        if (errorCode(err) !== "ESPIPE" || position > 0) throw err;
        // Our read-write handle counts as a writer: close it, or the pipe never ends.
        await h.close();
        closed = true;
        const data = await io.runtime.fs.readFile(path);
        whole = wholeInput(data ?? new Uint8Array(0));
        return await whole.read();
      }
      position += chunk.length;
      return chunk.length === 0 ? null : chunk;
    },
    close: () => (closed ? Promise.resolve() : h.close()),
  };
}

function wholeInput(data: Uint8Array): Input {
  let done = false;
  return {
    sizeBytes: data.length,
    read() {
      if (done || data.length === 0) return Promise.resolve(null);
      done = true;
      return Promise.resolve(data);
    },
    close: () => Promise.resolve(),
  };
}

async function openStdin(io: CliIo): Promise<Input> {
  if (io.stdin) {
    const reader = io.stdin().getReader();
    return {
      sizeBytes: null,
      async read() {
        const { value, done } = await reader.read();
        return done ? null : value;
      },
      async close() {
        await reader.cancel().catch(() => {});
      },
    };
  }
  // Without a stdin stream from the runtime, read it whole (fine for pipes and files).
  const data = await io.runtime.fs.readFile("/dev/stdin");
  if (data === null) throw new CliError(`${CMD}: Cannot read stdin`);
  return wholeInput(data);
}

function parseAcks(value: string | undefined): -1 | 0 | 1 {
  switch ((value ?? "all").trim().toLowerCase()) {
    case "all":
    case "-1":
      return -1;
    case "1":
      return 1;
    case "0":
      return 0;
  }
  throw new CliError(`${CMD}: --acks must be all, -1, 1 or 0, got "${value}"`, 2);
}

/** Turns a line into a record: key split, null-value marker, shared headers. */
function recordMaker(options: {
  separator: Uint8Array | null;
  nullValue: Uint8Array | null;
  headers: RecordHeader[];
  partition: number | undefined;
}): (line: Uint8Array) => ProducerRecord {
  const { separator, nullValue, headers, partition } = options;
  const isNull = (v: Uint8Array) => {
    if (nullValue === null || v.length !== nullValue.length) return false;
    for (let i = 0; i < v.length; i++) if (v[i] !== nullValue[i]) return false;
    return true;
  };
  return (line) => {
    let key: Uint8Array | null = null;
    let value: Uint8Array = line;
    if (separator !== null) {
      const i = indexOfBytes(line, separator);
      if (i >= 0) {
        key = line.subarray(0, i);
        value = line.subarray(i + separator.length);
      }
    }
    const record: ProducerRecord = { key, value: isNull(value) ? null : value };
    if (headers.length > 0) record.headers = headers;
    if (partition !== undefined) record.partition = partition;
    return record;
  };
}

/** A rate line redrawn in place on a terminal. */
class Progress {
  readonly #io: CliIo;
  readonly #totalBytes: number | null;
  readonly #startMs: number;
  #lastMs = 0;
  #shown = false;

  constructor(io: CliIo, totalBytes: number | null, startMs: number) {
    this.#io = io;
    this.#totalBytes = totalBytes;
    this.#startMs = startMs;
  }

  update(records: number, bytes: number, force = false): void {
    const now = Date.now();
    if (!force && now - this.#lastMs < PROGRESS_INTERVAL_MS) return;
    this.#lastMs = now;
    const secs = Math.max(0.001, (now - this.#startMs) / 1000);
    const pct = this.#totalBytes ? `  ${Math.floor((bytes / this.#totalBytes) * 100)}%` : "";
    this.#io.stderr(
      `\r${records.toLocaleString("en-US")} records  ${humanBytes(bytes)}  ` +
        `${Math.round(records / secs).toLocaleString("en-US")} records/s  ${humanBytes(bytes / secs)}/s${pct}\x1b[K`,
    );
    this.#shown = true;
  }

  clear(): void {
    if (this.#shown) this.#io.stderr("\r\x1b[K");
    this.#shown = false;
  }
}

/** Summarises which lines a failed batch held: "line 7", "lines 3, 5, 9 and 12 more". */
function linesText(tags: readonly number[]): string {
  if (tags.length === 1) return `line ${tags[0]}`;
  const shown = tags.slice(0, 5).join(", ");
  return tags.length > 5 ? `lines ${shown} and ${tags.length - 5} more` : `lines ${shown}`;
}

/** Runs `kbin produce`. */
export async function produceCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(CMD, joinNegativeValues(args, ["--partition"]), OPTIONS);
  if (values.help) {
    io.stdout(PRODUCE_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new CliError(`${CMD}: expected one topic name (see "kbin produce --help")`, 2);
  const topic = positionals[0]!;
  const acks = parseAcks(values.acks);
  if (values.idempotent && values["no-idempotent"]) {
    throw new CliError(`${CMD}: --idempotent and --no-idempotent contradict each other`, 2);
  }
  if (values.idempotent && acks !== -1) {
    throw new CliError(`${CMD}: --idempotent needs --acks all, got --acks ${values.acks}`, 2);
  }
  const idempotence = values.idempotent ? true : values["no-idempotent"] ? false : "auto";
  const codec = codecFromName(values.compression ?? "none");
  if (codec === null) {
    throw new CliError(`${CMD}: --compression must be none, gzip, snappy, lz4 or zstd, got "${values.compression}"`, 2);
  }
  const codecs = createCodecs(io.runtime.codecs);
  if (codec !== 0 && !codecs.available(codec)) {
    throw new CliError(`${CMD}: --compression ${values.compression} is not available in this runtime`, 2);
  }
  const batchSizeBytes = intOption(CMD, "batch-size", values["batch-size"], 256 * 1024);
  if (batchSizeBytes < 1) throw new CliError(`${CMD}: --batch-size must be at least 1, got ${batchSizeBytes}`, 2);
  const lingerMs = intOption(CMD, "linger-ms", values["linger-ms"], 5);
  if (lingerMs < 0) throw new CliError(`${CMD}: --linger-ms must be >= 0, got ${lingerMs}`, 2);
  const partition = values.partition === undefined ? undefined : intOption(CMD, "partition", values.partition, 0);
  if (partition !== undefined && partition < 0) {
    throw new CliError(`${CMD}: --partition must be >= 0, got ${partition}`, 2);
  }
  if (values["key-separator"] === "") throw new CliError(`${CMD}: --key-separator must not be empty`, 2);
  const headers: RecordHeader[] = keyValues(CMD, "--header", values.header).map(([k, v]) => ({
    key: k,
    value: ENCODER.encode(v),
  }));
  const makeRecord = recordMaker({
    separator: values["key-separator"] === undefined ? null : ENCODER.encode(values["key-separator"]),
    nullValue: values["null-value"] === undefined ? null : ENCODER.encode(values["null-value"]),
    headers,
    partition,
  });
  const quiet = values.quiet ?? false;
  const verbose = values.verbose ?? false;
  const file = values.file === undefined || values.file === "-" ? null : values.file;

  return await withClient(CMD, io, values, async (client) => {
    let failed = 0;
    let failureLines = 0;
    let firstError: string | null = null;
    let unknownLoss = false;
    const onFailed = (f: DeliveryFailure) => {
      failed += f.tags.length;
      firstError ??= f.message;
      if (f.tags.length === 0) unknownLoss = true;
      if (failureLines < MAX_FAILURE_LINES) {
        const where = f.partition >= 0 ? ` partition ${f.partition}` : "";
        const what = f.tags.length === 0 ? "" : `${records(f.tags.length)} (${linesText(f.tags)}) `;
        io.stderr(`kbin: ${CMD}: Failed to produce ${what}to "${topic}"${where}: ${f.message}\n`);
      } else if (failureLines === MAX_FAILURE_LINES) {
        io.stderr(`kbin: ${CMD}: further failures are not shown\n`);
      }
      failureLines++;
    };
    let delivered = 0;
    const producer = new Producer(client, topic, {
      acks,
      idempotence,
      compression: codec,
      compress: (c, data) => codecs.compress(c, data),
      batchSizeBytes,
      lingerMs,
      onDelivered: (r) => (delivered += r.tags.length),
      onFailed,
      onNotice: noticePrinter(io, CMD, verbose),
    });
    try {
      await connectProducer(producer, topic);
      if (partition !== undefined && partition >= producer.partitionCount) {
        throw new CliError(
          `${CMD}: Cannot produce to "${topic}" partition ${partition}: UNKNOWN_TOPIC_OR_PARTITION ` +
            `(the topic has ${producer.partitionCount} partitions)`,
        );
      }
      const input = file === null ? await openStdin(io) : await openFile(io, file);
      const startMs = Date.now();
      const progress = file !== null && !quiet && (io.isTerminal?.("stderr") ?? false)
        ? new Progress(io, input.sizeBytes, startMs)
        : null;

      // Ctrl-C: stop reading and deliver what was read. A second one gives up at once.
      let interrupts = 0;
      let stop = () => {};
      let giveUp = () => {};
      const stopped = new Promise<null>((resolve) => (stop = () => resolve(null)));
      const gaveUp = new Promise<"gave-up">((resolve) => (giveUp = () => resolve("gave-up")));
      const removeSignal = io.onShutdownSignal(() => {
        if (++interrupts === 1) stop();
        else giveUp();
      });

      let lines = 0;
      let bytes = 0;
      let outcome: "done" | "gave-up";
      try {
        try {
          const splitter = new LineSplitter();
          read: for (;;) {
            const chunk = await Promise.race([input.read(), stopped]);
            if (chunk === null) break;
            bytes += chunk.length;
            for (const line of splitter.push(chunk)) {
              const wait = producer.send(makeRecord(line), ++lines);
              if (wait) await Promise.race([wait, stopped]);
              if (interrupts > 0) break read;
            }
            progress?.update(lines, bytes);
          }
          const last = interrupts > 0 ? null : splitter.end();
          if (last !== null) producer.send(makeRecord(last), ++lines);
        } finally {
          await input.close().catch(() => {});
        }
        outcome = await Promise.race([producer.flush().then(() => "done" as const), gaveUp]);
      } finally {
        removeSignal();
      }
      progress?.update(lines, bytes, true);
      progress?.clear();
      if (outcome === "gave-up") {
        io.stderr(`kbin: ${CMD}: interrupted; ${records(lines - delivered - failed)} may not have been written\n`);
        return 130;
      }
      const elapsedMs = Date.now() - startMs;
      if (!quiet) {
        // Rates of runs shorter than a second say more about start-up than about throughput.
        const rate = elapsedMs >= 1000 && delivered > 0
          ? ` (${Math.round((delivered * 1000) / elapsedMs).toLocaleString("en-US")} records/s, ${
            humanBytes((bytes * 1000) / elapsedMs)
          }/s)`
          : "";
        io.stderr(`Produced ${records(delivered)} to "${topic}" in ${elapsedMs} ms${rate}\n`);
      }
      if (failed > 0 || unknownLoss) {
        const count = unknownLoss && failed === 0 ? "some records" : `${failed} of ${records(lines)}`;
        throw new CliError(`${CMD}: ${count} were not written to "${topic}" (first error: ${firstError})`);
      }
      return 0;
    } finally {
      producer.close();
    }
  });
}

/** Connects, turning a missing topic into a hint. */
async function connectProducer(producer: Producer, topic: string): Promise<void> {
  try {
    await producer.connect();
  } catch (err) {
    if (err instanceof KafkaClientError && err.kafkaName === "UNKNOWN_TOPIC_OR_PARTITION") {
      throw new CliError(`${CMD}: ${err.message} (create it with "kbin topic create ${topic}")`);
    }
    throw err;
  }
}
