/**
 * `kbin consume TOPIC`: prints records with a `--format` template, from the latest offset by
 * default, or from the beginning, an offset, or a time. Speaks the Kafka protocol through
 * {@link Fetcher}, so it works against any cluster.
 *
 * Without a group, partitions and start offsets are resolved first ({@link startPositions}),
 * then fetched. With `--group`, a {@link GroupMember} (classic protocol) takes part in the group:
 * the coordinator's assignment says which partitions to read, committed offsets where to start,
 * and the consumed positions are committed every `--commit-interval-ms`, when partitions are
 * revoked, and on exit ({@link GroupSession}). The fetch loop is the same in both cases.
 *
 * @module
 */

import { ASSIGNORS, DEFAULT_ASSIGNORS, type TopicPartition } from "../client/assignors.ts";
import type { KafkaClient } from "../client/client.ts";
import { Fetcher, type NoticeLevel, OffsetSpec, type ResetPolicy } from "../client/fetcher.ts";
import { KafkaClientError } from "../client/errors.ts";
import { GroupMember } from "../client/group_member.ts";
import { ErrorCode, errorName } from "../protocol/generated/errors.ts";
import { createCodecs } from "../protocol/compression/mod.ts";
import { CLIENT_OPTIONS, CLIENT_OPTIONS_HELP, intOption, parseCommandArgs } from "./args.ts";
import { withClient } from "./client_env.ts";
import {
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

Consumer group (classic protocol, shares the partitions with the group's other members):
  -g, --group GROUP         Join GROUP: read the partitions it assigns, from its committed
                            offsets (else the latest, or the earliest with --from-beginning),
                            and commit what was printed; Ctrl-C commits and leaves the group
  --group-instance-id ID    Static membership: a restart within the session timeout gets the
                            same partitions back without a rebalance (does not leave on exit)
  --assignor LIST           Assignors in preference order, from range, roundrobin and
                            cooperative-sticky (default range,cooperative-sticky)
  --commit-interval-ms MS   How often to commit (default 5000); also on revoke and on exit

Options:
  --partition N             Only partition N (default: every partition; not with --group)
  -n, --count COUNT         Exit after COUNT records
  -e, --exit                Exit once every partition (with --group: every assigned one) has
                            been read up to its high watermark (checked as records arrive,
                            like kcat -e)
  -f, --format FORMAT       How to print each record (default "%v\\n"):
${FORMAT_HELP}
  --isolation LEVEL         read_uncommitted (default) or read_committed
  -q, --quiet               No summary on stderr

Connection options:
${CLIENT_OPTIONS_HELP}  --verbose                       Show offset resets and retries, and stacks on errors

When a start offset is no longer in the log (deleted by retention, or past the end), reading
restarts at the earliest offset with --from-beginning, at the nearest end with --offset or
--timestamp, else at the latest. Null keys and values print as nothing. Exit status: 0 (also
after Ctrl-C), 1 on errors, 2 for usage errors.

With --group, --offset and --timestamp are refused: the group's committed offsets decide.

Examples:
  kbin consume orders --from-beginning --exit
  kbin consume orders --group billing --from-beginning
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
  group: { type: "string", short: "g" },
  "group-instance-id": { type: "string" },
  assignor: { type: "string" },
  "commit-interval-ms": { type: "string" },
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

function parseAssignors(value: string | undefined): string[] {
  if (value === undefined) return [...DEFAULT_ASSIGNORS];
  const names = value.split(",").map((s) => s.trim().toLowerCase()).filter((s) => s !== "");
  if (names.length === 0) throw new CliError(`${CMD}: --assignor needs at least one name`, 2);
  for (const name of names) {
    if (!ASSIGNORS.has(name)) {
      throw new CliError(
        `${CMD}: unknown assignor "${name}" (choose from ${[...ASSIGNORS.keys()].join(", ")})`,
        2,
      );
    }
  }
  return [...new Set(names)];
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Options for {@link GroupSession}. */
interface GroupSessionOptions {
  groupId: string;
  groupInstanceId: string | null;
  assignors: string[];
  commitIntervalMs: number;
  /** Where partitions without a committed offset start (auto.offset.reset). */
  reset: "earliest" | "latest";
  /** Whether `--exit` needs each partition's end offset. */
  exitAtEnd: boolean;
  /** Writes what was printed, before a commit covers it. */
  flush: () => Promise<void>;
  onNotice: (message: string, level: NoticeLevel) => void;
}

/**
 * One `kbin consume --group` member: keeps the fetcher's partitions in line with the group's
 * assignment, tracks the consumed position of each owned partition (Kafka's position: the next
 * offset to deliver), and commits positions that moved, every `commitIntervalMs`, when
 * partitions are revoked, and on close. Partitions lost with the membership are not committed.
 */
export class GroupSession {
  readonly member: GroupMember;
  readonly #fetcher: Fetcher;
  readonly #options: GroupSessionOptions;
  readonly #owned = new Set<number>();
  readonly #positions = new Map<number, { offset: bigint; leaderEpoch: number }>();
  /** The last offset committed (or found committed) per owned partition. */
  readonly #committed = new Map<number, bigint>();
  readonly #atEnd = new Set<number>();
  /** False between a revocation and the next assignment. */
  #settled = false;
  #wake: (() => void) | null = null;
  #commitsStopped = new AbortController();
  #commitLoop: Promise<void> | null = null;
  /** Set when committing must stop (stdout went away: what was "printed" may be lost). */
  noCommit = false;

  constructor(client: KafkaClient, fetcher: Fetcher, options: GroupSessionOptions) {
    this.#fetcher = fetcher;
    this.#options = options;
    this.member = new GroupMember(client, {
      groupId: options.groupId,
      topics: [fetcher.topic],
      groupInstanceId: options.groupInstanceId,
      assignors: options.assignors,
      onNotice: options.onNotice,
    });
    this.member.on("assigned", (list) => this.#assigned(this.#mine(list)));
    this.member.on("revoked", (list) => this.#revoked(this.#mine(list), true));
    this.member.on("lost", (list) => this.#revoked(this.#mine(list), false));
    this.member.on("error", () => this.#wakeUp());
  }

  #mine(list: readonly TopicPartition[]): number[] {
    return list.filter((tp) => tp.topic === this.#fetcher.topic).map((tp) => tp.partition);
  }

  /** Joins the group; resolves after the first assignment, or when `signal` aborts first. */
  async start(signal: AbortSignal): Promise<void> {
    const aborted = new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
    await Promise.race([this.member.start(), aborted]);
    this.#commitLoop = this.#commitEvery(this.#options.commitIntervalMs);
  }

  /** Whether this member owns `partition` now. */
  owns(partition: number): boolean {
    return this.#owned.has(partition);
  }

  /** Records how far `partition` was consumed: `offset` is the next one to deliver. */
  consumed(partition: number, offset: bigint, leaderEpoch: number): void {
    if (this.#owned.has(partition)) this.#positions.set(partition, { offset, leaderEpoch });
  }

  /** Marks a partition read up to its end (`--exit`) and stops fetching it. */
  reachedEnd(partition: number): void {
    this.#atEnd.add(partition);
    this.#fetcher.unassign(partition);
  }

  /** True once every owned partition is at its end, outside a rebalance (vacuously with none). */
  allAtEnd(): boolean {
    return this.#settled && [...this.#owned].every((p) => this.#atEnd.has(p));
  }

  /** Resolves at the next assignment, a failure, or when `signal` aborts. */
  changed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        signal.removeEventListener("abort", done);
        if (this.#wake === done) this.#wake = null;
        resolve();
      };
      this.#wake = done;
      signal.addEventListener("abort", done, { once: true });
    });
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  async #assigned(added: number[]): Promise<void> {
    if (added.length > 0) {
      const fetcher = this.#fetcher;
      // The leader may assign partitions added since this fetcher read the metadata.
      if (added.some((p) => p >= fetcher.partitionCount)) await fetcher.connect();
      const committed = await this.member.committed(added.map((partition) => ({ topic: fetcher.topic, partition })));
      const fresh = committed.filter((c) => c.offset < 0n).map((c) => c.partition);
      const spec = this.#options.reset === "earliest" ? OffsetSpec.EARLIEST : OffsetSpec.LATEST;
      const reset = fresh.length > 0 ? await fetcher.listOffsets(fresh, spec) : new Map<number, bigint>();
      const ends = this.#options.exitAtEnd ? await fetcher.listOffsets(added, OffsetSpec.LATEST) : null;
      const fetchFrom = new Map(fetcher.positions());
      for (const c of committed) {
        const p = c.partition;
        const from = c.offset >= 0n ? c.offset : reset.get(p) ?? 0n;
        this.#owned.add(p);
        this.#atEnd.delete(p);
        this.#positions.set(p, { offset: from, leaderEpoch: c.leaderEpoch });
        if (c.offset >= 0n) this.#committed.set(p, c.offset);
        else this.#committed.delete(p);
        this.#options.onNotice(
          `partition ${p} starts at offset ${from} (${c.offset >= 0n ? "committed" : this.#options.reset})`,
          "info",
        );
        if (ends !== null && from >= (ends.get(p) ?? 0n)) this.#atEnd.add(p);
        else fetchFrom.set(p, from);
      }
      fetcher.assign(fetchFrom);
    }
    this.#settled = true;
    this.#wakeUp();
  }

  async #revoked(partitions: number[], commit: boolean): Promise<void> {
    this.#settled = false;
    for (const p of partitions) {
      this.#owned.delete(p);
      this.#fetcher.unassign(p);
    }
    if (commit) await this.#commit(partitions);
    else if (partitions.length > 0 && this.member.failure === null) {
      this.#options.onNotice(`partitions ${partitions.join(", ")} were lost with the membership`, "warning");
    }
    for (const p of partitions) {
      this.#positions.delete(p);
      this.#committed.delete(p);
      this.#atEnd.delete(p);
    }
  }

  /** Commits the positions of these partitions that moved since their last commit. */
  async #commit(partitions: readonly number[]): Promise<void> {
    if (this.noCommit) return;
    const topic = this.#fetcher.topic;
    const offsets = partitions.flatMap((p) => {
      const at = this.#positions.get(p);
      if (at === undefined || this.#committed.get(p) === at.offset) return [];
      return [{ topic, partition: p, offset: at.offset, leaderEpoch: at.leaderEpoch }];
    });
    if (offsets.length === 0) return;
    await this.#options.flush();
    try {
      const results = await this.member.commit(offsets);
      // A fenced member reports that itself, once.
      if (this.member.failure !== null) return;
      results.forEach((r, i) => {
        if (r.errorCode === 0) this.#committed.set(r.partition, offsets[i]!.offset);
        else {
          // In a rebalance the next commit (at the revoke at the latest) covers it.
          this.#options.onNotice(
            `Cannot commit offset ${offsets[i]!.offset} of partition ${r.partition}: ${errorName(r.errorCode)}`,
            r.errorCode === ErrorCode.REBALANCE_IN_PROGRESS ? "info" : "warning",
          );
        }
      });
      this.#options.onNotice(
        `committed ${offsets.map((o) => `${o.partition}:${o.offset}`).join(", ")} for group "${this.member.groupId}"`,
        "info",
      );
    } catch (err) {
      this.#options.onNotice(`Cannot commit offsets: ${(err as Error).message}`, "warning");
    }
  }

  async #commitEvery(intervalMs: number): Promise<void> {
    const signal = this.#commitsStopped.signal;
    while (!signal.aborted) {
      await sleep(intervalMs, signal);
      if (signal.aborted) break;
      await this.#commit([...this.#owned]);
    }
  }

  /** Stops the periodic commits, then leaves (committing what the owned partitions consumed). */
  async close(): Promise<void> {
    this.#commitsStopped.abort();
    await this.#commitLoop;
    await this.member.close();
  }
}

/** Runs `kbin consume`. */
export async function consumeCommand(args: string[], io: CliIo): Promise<number> {
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
  const groupId = values.group;
  if (groupId === undefined) {
    for (const flag of ["group-instance-id", "assignor", "commit-interval-ms"] as const) {
      if (values[flag] !== undefined) throw new CliError(`${CMD}: --${flag} needs --group`, 2);
    }
  } else {
    if (groupId.trim() === "") throw new CliError(`${CMD}: --group must not be empty`, 2);
    if (partition !== undefined) {
      throw new CliError(`${CMD}: --partition cannot be used with --group (the group assigns partitions)`, 2);
    }
    if (start.kind === "offset" || start.kind === "timestamp") {
      throw new CliError(
        `${CMD}: --offset and --timestamp cannot be used with --group (the group's committed offsets decide; ` +
          `--from-beginning sets where partitions without one start)`,
        2,
      );
    }
    if (values["group-instance-id"] !== undefined && values["group-instance-id"].trim() === "") {
      throw new CliError(`${CMD}: --group-instance-id must not be empty`, 2);
    }
  }
  const assignors = parseAssignors(values.assignor);
  const commitIntervalMs = intOption(CMD, "commit-interval-ms", values["commit-interval-ms"], 5000);
  if (commitIntervalMs < 1) {
    throw new CliError(`${CMD}: --commit-interval-ms must be at least 1, got ${commitIntervalMs}`, 2);
  }
  const exitAtEnd = values.exit ?? false;
  const quiet = values.quiet ?? false;
  const verbose = values.verbose ?? false;
  const resetPolicy: ResetPolicy = start.kind === "earliest"
    ? "earliest"
    : start.kind === "latest"
    ? "latest"
    : "nearest";
  const codecs = createCodecs(io.runtime.codecs);
  const notice = noticePrinter(io, CMD, verbose);

  return await withClient(CMD, io, values, async (client) => {
    const fetcher = new Fetcher(client, topic, {
      decompress: (codec, data) => codecs.decompress(codec, data),
      isolationLevel,
      resetPolicy,
      onNotice: notice,
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

    const controller = new AbortController();
    const removeSignal = io.onShutdownSignal(() => controller.abort());
    let session: GroupSession | null = null;
    // A reader that went away (`| head`) ends the command quietly, as SIGPIPE would.
    let pipeClosed = false;
    const write = stdoutWriter(io);
    const out = new OutputBuffer((bytes) => {
      if (pipeClosed) return;
      const onError = (err: unknown) => {
        if ((err as { code?: unknown })?.code !== "EPIPE") throw err;
        pipeClosed = true;
        if (session) session.noCommit = true;
        controller.abort();
      };
      try {
        const wait = write(bytes);
        if (wait instanceof Promise) return wait.catch(onError);
      } catch (err) {
        onError(err);
      }
    });

    const startMs = Date.now();
    let printed = 0;
    try {
      if (groupId !== undefined) {
        session = new GroupSession(client, fetcher, {
          groupId,
          groupInstanceId: values["group-instance-id"] ?? null,
          assignors,
          commitIntervalMs,
          reset: start.kind === "earliest" ? "earliest" : "latest",
          exitAtEnd,
          flush: async () => await out.flush(),
          onNotice: notice,
        });
        session.member.on("error", () => controller.abort());
        await session.start(controller.signal);
      } else {
        const partitions = partition !== undefined
          ? [partition]
          : Array.from({ length: fetcher.partitionCount }, (_, i) => i);
        const positions = await startPositions(fetcher, partitions, start);
        if (verbose) {
          for (const [p, at] of positions) io.stderr(`kbin: ${CMD}: partition ${p} starts at offset ${at}\n`);
        }
        fetcher.assign(positions);
        if (exitAtEnd) {
          const ends = await fetcher.listOffsets(partitions, OffsetSpec.LATEST);
          for (const p of partitions) if (positions.get(p)! >= (ends.get(p) ?? 0n)) fetcher.unassign(p);
        }
      }
      printed = await consumeLoop({
        fetcher,
        session,
        format,
        out,
        count,
        exitAtEnd,
        isolationLevel,
        signal: controller.signal,
      });
    } finally {
      removeSignal();
      await out.flush();
      await session?.close();
    }
    const failure = session?.member.failure;
    if (failure) throw failure;
    if (pipeClosed) return 0;
    if (!quiet) io.stderr(`Consumed ${records(printed)} from "${topic}" in ${Date.now() - startMs} ms\n`);
    return 0;
  });
}

/**
 * Fetches and prints until the signal aborts, `count` records are printed, or (`exitAtEnd`)
 * every partition is read up to its end. In a group, only owned partitions print, their
 * positions are recorded before every await (a revocation may commit them there), and an empty
 * assignment waits for the next one.
 * @returns how many records were printed
 */
async function consumeLoop(
  ctx: {
    fetcher: Fetcher;
    session: GroupSession | null;
    format: ReturnType<typeof parseFormat>;
    out: OutputBuffer;
    count: number;
    exitAtEnd: boolean;
    isolationLevel: 0 | 1;
    signal: AbortSignal;
  },
): Promise<number> {
  const { fetcher, session, format, out, count, exitAtEnd, signal } = ctx;
  const rc: RecordContext = { topic: fetcher.topic, topicBytes: ENCODER.encode(fetcher.topic), partition: 0 };
  let printed = 0;
  outer: while (!signal.aborted) {
    if (session !== null) {
      if (session.member.failure !== null || (exitAtEnd && session.allAtEnd())) break;
      if (fetcher.positions().size === 0) {
        await session.changed(signal);
        continue;
      }
    } else if (fetcher.positions().size === 0) break;
    for await (const parts of fetcher.fetch(signal)) {
      for (const p of parts) {
        const pn = p.partition;
        if (session !== null && !session.owns(pn)) continue;
        rc.partition = pn;
        let revoked = false;
        for (const r of p.records) {
          if (session !== null && !session.owns(pn)) {
            revoked = true;
            break;
          }
          formatRecord(format, r, rc, out);
          if (++printed >= count || signal.aborted) {
            session?.consumed(pn, r.offset + 1n, p.leaderEpoch);
            break outer;
          }
          const wait = out.maybeFlush();
          if (wait) {
            session?.consumed(pn, r.offset + 1n, p.leaderEpoch);
            await wait;
          }
        }
        if (session !== null && !revoked) session.consumed(pn, p.nextOffset, p.leaderEpoch);
        if (exitAtEnd && !revoked) {
          const end = ctx.isolationLevel === 1 && p.lastStableOffset >= 0n ? p.lastStableOffset : p.highWatermark;
          if (p.nextOffset >= end) {
            if (session !== null) session.reachedEnd(pn);
            else fetcher.unassign(pn);
          }
        }
      }
      // One write per response keeps a tail of the topic prompt without a write per record.
      await out.flush();
      if (session !== null && exitAtEnd && session.allAtEnd()) break outer;
    }
  }
  return printed;
}
