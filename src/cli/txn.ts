/**
 * `kbin txn …`: list, describe and abort transactions, like Kafka's `kafka-transactions.sh`
 * (KIP-664). Speaks the Kafka protocol (src/client/transactions.ts), so it works against any
 * cluster that serves ListTransactions, DescribeTransactions, DescribeProducers and
 * WriteTxnMarkers.
 *
 * @module
 */

import type { KafkaClient } from "../client/client.ts";
import {
  abortTransaction,
  describeProducers,
  describeTransaction,
  listTransactions,
  partitionLeader,
  type ProducerDescription,
  type TransactionDescription,
  type TransactionListing,
} from "../client/transactions.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import { CLIENT_OPTIONS, CLIENT_OPTIONS_HELP, intOption, parseSubcommand } from "./args.ts";
import { check, withClient } from "./client_env.ts";
import { formatTable } from "./group.ts";
import { CliError, type CliIo } from "./io.ts";
import { TXN_STATES } from "../broker/txn/listing.ts";

const CONNECTION = `Connection options (every command):
${CLIENT_OPTIONS_HELP}  -h, --help                      Help for a command ("kbin txn abort --help")
`;

export const TXN_HELP = `Usage: kbin txn <command> [options]

Commands:
  list [--state S] [--producer-id N] [--duration-ms N] [--pattern REGEX]
                                          Transactional ids of every broker with producer id and state
  describe ID                             One transaction at its coordinator: state, timeout, partitions
  describe-producers --topic T --partition P
                                          The active producers of a partition and their open transactions
  abort --topic T --partition P (--start-offset O | --producer-id N --producer-epoch E --coordinator-epoch C)
                                          Write an ABORT marker for a hanging transaction
  find-hanging --broker-id N [--max-transaction-timeout MIN]
                                          Open transactions their coordinator no longer knows

${CONNECTION}`;

const HELP: Record<string, string> = {
  list: `Usage: kbin txn list [--state S]… [--producer-id N]… [--duration-ms N] [--pattern REGEX] [--json]

Lists the transactional ids every broker coordinates: id, coordinator, producer id and state.
  --state S          Only these states (Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit,
                     CompleteAbort, PrepareEpochFence); repeatable or comma-separated
  --producer-id N    Only these producer ids; repeatable
  --duration-ms N    Only transactions running longer than N ms (ListTransactions v1)
  --pattern REGEX    Only ids the regular expression matches as a whole (ListTransactions v2)
  --json             One JSON array of {transactionalId, coordinator, producerId, state}

${CONNECTION}`,
  describe: `Usage: kbin txn describe ID [--json]

Describes a transactional id at its coordinator (FindCoordinator, then DescribeTransactions): the
coordinator, producer id and epoch, state, timeout, when the ongoing transaction started, how long
it has run, and its partitions.
  --json   One JSON object with the same data

${CONNECTION}`,
  "describe-producers": `Usage: kbin txn describe-producers --topic T --partition P [--broker-id N] [--json]

The producers a partition's log knows (DescribeProducers at its leader, or at --broker-id): producer
id and epoch, the last coordinator epoch, last sequence and timestamp, and the first offset of the
producer's open transaction (-1 when none).
  --json   One JSON array with the same data

${CONNECTION}`,
  abort: `Usage: kbin txn abort --topic T --partition P --start-offset O
       kbin txn abort --topic T --partition P --producer-id N --producer-epoch E --coordinator-epoch C

Aborts a hanging transaction on one partition by writing an ABORT marker at the partition's leader
(WriteTxnMarkers), as kafka-transactions.sh abort does. With --start-offset, the producer whose open
transaction starts at that offset is looked up with DescribeProducers first.

${CONNECTION}`,
  "find-hanging":
    `Usage: kbin txn find-hanging --broker-id N [--topic T [--partition P]] [--max-transaction-timeout MIN] [--json]

Looks for hanging transactions on the partitions broker N leads: open transactions older than the
maximum transaction timeout (default 15 minutes) whose coordinator does not list them as ongoing
for that partition. Abort them with "kbin txn abort --start-offset".

${CONNECTION}`,
};

const OPTIONS = {
  ...CLIENT_OPTIONS,
  json: { type: "boolean" },
  state: { type: "string", multiple: true },
  "producer-id": { type: "string", multiple: true },
  "duration-ms": { type: "string" },
  pattern: { type: "string" },
  topic: { type: "string" },
  partition: { type: "string" },
  "broker-id": { type: "string" },
  "start-offset": { type: "string" },
  "producer-epoch": { type: "string" },
  "coordinator-epoch": { type: "string" },
  "max-transaction-timeout": { type: "string" },
} as const;

const OWN_OPTIONS: Record<string, string[]> = {
  list: ["json", "state", "producer-id", "duration-ms", "pattern"],
  describe: ["json"],
  "describe-producers": ["json", "topic", "partition", "broker-id"],
  abort: ["topic", "partition", "start-offset", "producer-id", "producer-epoch", "coordinator-epoch"],
  "find-hanging": ["json", "broker-id", "topic", "partition", "max-transaction-timeout"],
};

/** `--state` values, comma-separated, canonical spelling for known names (others pass through). */
export function parseTxnStates(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values.flatMap((x) => x.split(","))) {
    const s = v.trim();
    if (s === "") continue;
    const known = TXN_STATES.find((k) => k.toLowerCase() === s.toLowerCase()) ?? s;
    if (!out.includes(known)) out.push(known);
  }
  return out;
}

function whole(cmd: string, name: string, value: string | undefined, min: bigint): bigint | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value.trim())) throw new CliError(`${cmd}: --${name} must be a whole number, got "${value}"`, 2);
  const n = BigInt(value.trim());
  if (n < min) throw new CliError(`${cmd}: --${name} must be >= ${min}, got ${n}`, 2);
  return n;
}

function required<T>(cmd: string, name: string, v: T | undefined): T {
  if (v === undefined) throw new CliError(`${cmd}: --${name} is required (see "kbin ${cmd} --help")`, 2);
  return v;
}

/** The lines of `txn list` (nothing for no transactions). */
export function formatTxnList(txns: readonly TransactionListing[]): string {
  if (txns.length === 0) return "";
  return formatTable(
    ["TRANSACTIONAL-ID", "COORDINATOR", "PRODUCER-ID", "STATE"],
    txns.map((t) => [t.transactionalId, String(t.coordinatorId), String(t.producerId), t.state]),
  );
}

/** The text of `txn describe`, one field a line. */
export function formatTxnDescription(d: TransactionDescription, nowMs: number): string {
  const started = d.startTimeMs >= 0n;
  const fields: [string, string][] = [
    ["Transactional id", d.transactionalId],
    ["Coordinator", String(d.coordinatorId)],
    ["Producer id", String(d.producerId)],
    ["Producer epoch", String(d.producerEpoch)],
    ["State", d.state],
    ["Timeout ms", String(d.timeoutMs)],
    ["Start time", started ? `${new Date(Number(d.startTimeMs)).toISOString()} (${d.startTimeMs})` : "-"],
    ["Duration ms", started ? String(BigInt(Math.floor(nowMs)) - d.startTimeMs) : "-"],
    ["Partitions", d.partitions.length === 0 ? "-" : d.partitions.map((p) => `${p.topic}-${p.partition}`).join(", ")],
  ];
  return fields.map(([k, v]) => `${(k + ":").padEnd(18)}${v}`).join("\n") + "\n";
}

/** The table of `txn describe-producers`. */
export function formatProducers(producers: readonly ProducerDescription[]): string {
  if (producers.length === 0) return "No active producers.\n";
  return formatTable(
    ["PRODUCER-ID", "PRODUCER-EPOCH", "COORDINATOR-EPOCH", "LAST-SEQUENCE", "LAST-TIMESTAMP", "TXN-START-OFFSET"],
    producers.map((p) => [
      String(p.producerId),
      String(p.producerEpoch),
      String(p.coordinatorEpoch),
      String(p.lastSequence),
      String(p.lastTimestamp),
      String(p.currentTxnStartOffset),
    ]),
  );
}

function producerJson(p: ProducerDescription) {
  return {
    producerId: Number(p.producerId),
    producerEpoch: p.producerEpoch,
    coordinatorEpoch: p.coordinatorEpoch,
    lastSequence: p.lastSequence,
    lastTimestamp: Number(p.lastTimestamp),
    currentTransactionStartOffset: Number(p.currentTxnStartOffset),
  };
}

function partitionArgs(cmd: string, values: { topic?: string | undefined; partition?: string | undefined }) {
  const topic = required(cmd, "topic", values.topic);
  if (topic.trim() === "") throw new CliError(`${cmd}: --topic needs a topic name`, 2);
  const partition = Number(required(cmd, "partition", whole(cmd, "partition", values.partition, 0n)));
  return { topic, partition };
}

async function producersOf(client: KafkaClient, topic: string, partition: number, brokerId?: number) {
  const [r] = await describeProducers(client, [{ topic, partition }], brokerId === undefined ? {} : { brokerId });
  if (!r) {
    throw new CliError(`Cannot describe the producers of ${topic}-${partition}: the broker sent no answer for it`);
  }
  check(`Cannot describe the producers of ${topic}-${partition}`, r.errorCode);
  return r.producers;
}

/** Dispatches `kbin txn <command>`. */
export async function txnCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = parseSubcommand(args, io, {
    family: "txn",
    help: TXN_HELP,
    commands: HELP,
    options: OPTIONS,
    ownOptions: OWN_OPTIONS,
  });
  if (typeof parsed === "number") return parsed;
  const { sub, cmd, values, positionals } = parsed;
  if (sub !== "describe" && positionals.length > 0) {
    throw new CliError(`${cmd}: unexpected argument "${positionals[0]}"`, 2);
  }
  const out = (json: unknown, text: string) => io.stdout(values.json ? JSON.stringify(json, null, 2) + "\n" : text);
  switch (sub) {
    case "list": {
      const states = parseTxnStates(values.state ?? []);
      const producerIds = (values["producer-id"] ?? []).map((v) => whole(cmd, "producer-id", v, 0n)!);
      const durationMs = whole(cmd, "duration-ms", values["duration-ms"], 0n);
      const filters = {
        states,
        producerIds,
        ...(durationMs === undefined ? {} : { durationMs }),
        ...(values.pattern === undefined ? {} : { pattern: values.pattern }),
      };
      return await withClient(cmd, io, values, async (client) => {
        const { transactions, errors, unknownStates } = await listTransactions(client, filters);
        const first = errors[0];
        if (first) check(`Cannot list the transactions of broker ${first.nodeId}`, first.errorCode);
        if (unknownStates.length > 0) {
          io.stderr(
            `kbin: ${cmd}: the brokers do not know the states ${unknownStates.map((s) => `"${s}"`).join(", ")}\n`,
          );
        }
        out(
          transactions.map((t) => ({
            transactionalId: t.transactionalId,
            coordinator: t.coordinatorId,
            producerId: Number(t.producerId),
            state: t.state,
          })),
          formatTxnList(transactions),
        );
        return 0;
      });
    }
    case "describe": {
      if (positionals.length !== 1 || positionals[0] === "") {
        throw new CliError(`${cmd}: expected one transactional id (see "kbin ${cmd} --help")`, 2);
      }
      const id = positionals[0]!;
      return await withClient(cmd, io, values, async (client) => {
        const d = await describeTransaction(client, id);
        const action = `Cannot describe transactional id "${id}"`;
        if (d.errorCode === ErrorCode.TRANSACTIONAL_ID_NOT_FOUND) check(action, d.errorCode, "the id is not known");
        check(action, d.errorCode);
        const now = Date.now();
        out(
          {
            transactionalId: d.transactionalId,
            coordinator: d.coordinatorId,
            producerId: Number(d.producerId),
            producerEpoch: d.producerEpoch,
            state: d.state,
            timeoutMs: d.timeoutMs,
            startTimeMs: d.startTimeMs < 0n ? null : Number(d.startTimeMs),
            durationMs: d.startTimeMs < 0n ? null : now - Number(d.startTimeMs),
            partitions: d.partitions,
          },
          formatTxnDescription(d, now),
        );
        return 0;
      });
    }
    case "describe-producers": {
      const { topic, partition } = partitionArgs(cmd, values);
      const brokerId = whole(cmd, "broker-id", values["broker-id"], 0n);
      return await withClient(cmd, io, values, async (client) => {
        const producers = await producersOf(
          client,
          topic,
          partition,
          brokerId === undefined ? undefined : Number(brokerId),
        );
        out(producers.map(producerJson), formatProducers(producers));
        return 0;
      });
    }
    case "abort": {
      const { topic, partition } = partitionArgs(cmd, values);
      const startOffset = whole(cmd, "start-offset", values["start-offset"], 0n);
      const pid = whole(cmd, "producer-id", values["producer-id"]?.at(-1), 0n);
      const epoch = whole(cmd, "producer-epoch", values["producer-epoch"], 0n);
      const coordinatorEpoch = whole(cmd, "coordinator-epoch", values["coordinator-epoch"], 0n);
      const explicit = [pid, epoch, coordinatorEpoch].filter((v) => v !== undefined).length;
      if ((startOffset !== undefined) === (explicit > 0) || (explicit > 0 && explicit < 3)) {
        throw new CliError(
          `${cmd}: give --start-offset, or all of --producer-id, --producer-epoch and --coordinator-epoch (see "kbin ${cmd} --help")`,
          2,
        );
      }
      return await withClient(cmd, io, values, async (client) => {
        let spec = {
          topic,
          partition,
          producerId: pid ?? -1n,
          producerEpoch: Number(epoch ?? -1n),
          coordinatorEpoch: Number(coordinatorEpoch ?? -1n),
        };
        if (startOffset !== undefined) {
          const leader = await partitionLeader(client, topic, partition);
          const open = (await producersOf(client, topic, partition, leader)).find((p) =>
            p.currentTxnStartOffset === startOffset
          );
          if (!open) {
            throw new CliError(
              `Cannot abort: no open transaction of ${topic}-${partition} starts at offset ${startOffset}`,
            );
          }
          // As Kafka's tool: an unknown coordinator epoch (-1) is sent as 0.
          spec = {
            topic,
            partition,
            producerId: open.producerId,
            producerEpoch: open.producerEpoch,
            coordinatorEpoch: Math.max(open.coordinatorEpoch, 0),
          };
        }
        const errorCode = await abortTransaction(client, spec);
        check(`Cannot abort the transaction of producer ${spec.producerId} on ${topic}-${partition}`, errorCode);
        io.stdout(
          `Aborted the transaction of producer ${spec.producerId} (epoch ${spec.producerEpoch}) on ${topic}-${partition}\n`,
        );
        return 0;
      });
    }
    case "find-hanging":
      return await findHanging(cmd, io, values);
  }
  return 2;
}

/** `txn find-hanging`, as Kafka's FindHangingTransactionsCommand. */
async function findHanging(
  cmd: string,
  io: CliIo,
  values: {
    json?: boolean | undefined;
    "broker-id"?: string | undefined;
    topic?: string | undefined;
    partition?: string | undefined;
    "max-transaction-timeout"?: string | undefined;
  } & Parameters<typeof withClient>[2],
): Promise<number> {
  const brokerId = Number(required(cmd, "broker-id", whole(cmd, "broker-id", values["broker-id"], 0n)));
  const maxTimeoutMs = intOption(cmd, "max-transaction-timeout", values["max-transaction-timeout"], 15) * 60_000;
  if (values.partition !== undefined && values.topic === undefined) {
    throw new CliError(`${cmd}: --partition needs --topic`, 2);
  }
  const onlyPartition = whole(cmd, "partition", values.partition, 0n);
  return await withClient(cmd, io, values, async (client) => {
    const md = await client.metadata(values.topic === undefined ? null : [values.topic]);
    const partitions: { topic: string; partition: number }[] = [];
    for (const t of md.topics) {
      if (values.topic !== undefined) check(`Cannot find topic "${values.topic}"`, t.errorCode);
      if (t.name === null || t.errorCode !== ErrorCode.NONE) continue;
      for (const p of t.partitions) {
        if (p.leaderId !== brokerId) continue;
        if (onlyPartition !== undefined && BigInt(p.partitionIndex) !== onlyPartition) continue;
        partitions.push({ topic: t.name, partition: p.partitionIndex });
      }
    }
    const now = Date.now();
    const candidates: { topic: string; partition: number; producer: ProducerDescription }[] = [];
    if (partitions.length > 0) {
      for (const r of await describeProducers(client, partitions, { brokerId })) {
        check(`Cannot describe the producers of ${r.topic}-${r.partition}`, r.errorCode);
        for (const producer of r.producers) {
          if (producer.currentTxnStartOffset >= 0n && now - Number(producer.lastTimestamp) > maxTimeoutMs) {
            candidates.push({ topic: r.topic, partition: r.partition, producer });
          }
        }
      }
    }
    const hanging: typeof candidates = [];
    if (candidates.length > 0) {
      const listed = await listTransactions(client, {
        producerIds: [...new Set(candidates.map((c) => c.producer.producerId))],
      });
      const descriptions = new Map<string, TransactionDescription>();
      for (const t of listed.transactions) {
        descriptions.set(t.transactionalId, await describeTransaction(client, t.transactionalId));
      }
      for (const c of candidates) {
        const known = [...descriptions.values()].some((d) =>
          d.errorCode === ErrorCode.NONE && d.producerId === c.producer.producerId &&
          ["Ongoing", "PrepareCommit", "PrepareAbort", "PrepareEpochFence"].includes(d.state) &&
          d.partitions.some((p) => p.topic === c.topic && p.partition === c.partition)
        );
        if (!known) hanging.push(c);
      }
    }
    if (values.json) {
      io.stdout(
        JSON.stringify(
          hanging.map((h) => ({ topic: h.topic, partition: h.partition, ...producerJson(h.producer) })),
          null,
          2,
        ) + "\n",
      );
      return 0;
    }
    if (hanging.length === 0) {
      io.stdout("No hanging transactions found.\n");
      return 0;
    }
    io.stdout(formatTable(
      [
        "TOPIC",
        "PARTITION",
        "PRODUCER-ID",
        "PRODUCER-EPOCH",
        "COORDINATOR-EPOCH",
        "START-OFFSET",
        "LAST-TIMESTAMP",
        "DURATION-MIN",
      ],
      hanging.map((h) => [
        h.topic,
        String(h.partition),
        String(h.producer.producerId),
        String(h.producer.producerEpoch),
        String(h.producer.coordinatorEpoch),
        String(h.producer.currentTxnStartOffset),
        String(h.producer.lastTimestamp),
        String(Math.floor((now - Number(h.producer.lastTimestamp)) / 60_000)),
      ]),
    ));
    return 0;
  });
}
