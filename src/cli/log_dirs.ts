/**
 * `kbin log-dirs`: what each broker keeps where (DescribeLogDirs, as Kafka's
 * `kafka-log-dirs.sh --describe`): per broker and log dir, its total and usable bytes, then one
 * line per partition with its size and offset lag. Speaks the Kafka protocol, so it works against
 * any cluster.
 *
 * @module
 */

import { DESCRIBE_LOG_DIRS_API, type DescribeLogDirsResponse } from "../protocol/generated/35_describe_log_dirs.ts";
import type { KafkaClient } from "../client/client.ts";
import { CLIENT_OPTIONS, CLIENT_OPTIONS_HELP, intOption, parseCommandArgs } from "./args.ts";
import { check, withClient } from "./client_env.ts";
import { CliError, type CliIo } from "./io.ts";

export const LOG_DIRS_HELP = `Usage: kbin log-dirs [--topic NAME]... [--broker ID]... [--json]

Describes the log directories of every broker (or those given): each directory's total and
usable bytes, and every partition it holds with its size in bytes and offset lag.
  --topic NAME   Only these topics' partitions (repeatable; default: all)
  --broker ID    Only these brokers (repeatable; default: every broker in the metadata)
  --json         Print Kafka's kafka-log-dirs.sh JSON instead of text

Connection options:
${CLIENT_OPTIONS_HELP}`;

const OPTIONS = {
  ...CLIENT_OPTIONS,
  topic: { type: "string", multiple: true },
  broker: { type: "string", multiple: true },
  json: { type: "boolean" },
} as const;

/** Bytes as text: "-1" (unknown) stays, else the number with a binary unit. */
export function bytesText(n: bigint): string {
  if (n < 0n) return "unknown";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = Number(n);
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

async function describe(
  client: KafkaClient,
  broker: number,
  topics: string[] | null,
): Promise<DescribeLogDirsResponse> {
  let wanted: { topic: string; partitions: number[] }[] | null = null;
  if (topics !== null) {
    const md = await client.metadata(topics);
    wanted = md.topics.filter((t) => t.errorCode === 0 && t.name !== null).map((t) => ({
      topic: t.name!,
      partitions: t.partitions.map((p) => p.partitionIndex),
    }));
  }
  const { response } = await client.send(DESCRIBE_LOG_DIRS_API, () => ({ topics: wanted }), {
    to: await client.node(broker),
  });
  return response;
}

/** Runs `kbin log-dirs`. */
export async function logDirsCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs("log-dirs", args, OPTIONS);
  if (values.help) {
    io.stdout(LOG_DIRS_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new CliError(`log-dirs: unexpected argument "${positionals[0]}"`, 2);
  return await withClient("log-dirs", io, values, async (client) => {
    const md = await client.metadata([]);
    const known = md.brokers.map((b) => b.nodeId).sort((a, b) => a - b);
    const brokers = values.broker === undefined
      ? known
      : values.broker.map((b) => intOption("log-dirs", "broker", b, 0));
    for (const b of brokers) {
      if (!known.includes(b)) throw new CliError(`log-dirs: broker ${b} is not in the cluster metadata`, 2);
    }
    const json: { broker: number; logDirs: unknown[] }[] = [];
    for (const broker of brokers) {
      const r = await describe(client, broker, values.topic ?? null);
      check(`Cannot describe the log dirs of broker ${broker}`, r.errorCode);
      json.push({
        broker,
        logDirs: r.results.map((d) => ({
          logDir: d.logDir,
          error: d.errorCode === 0 ? null : d.errorCode,
          totalBytes: Number(d.totalBytes),
          usableBytes: Number(d.usableBytes),
          partitions: d.topics.flatMap((t) =>
            t.partitions.map((p) => ({
              partition: `${t.name}-${p.partitionIndex}`,
              size: Number(p.partitionSize),
              offsetLag: Number(p.offsetLag),
              isFuture: p.isFutureKey,
            }))
          ),
        })),
      });
      if (values.json) continue;
      for (const d of r.results) {
        const error = d.errorCode === 0 ? "" : `\tError: ${d.errorCode}`;
        io.stdout(
          `Broker: ${broker}\tLogDir: ${d.logDir}\tTotal: ${bytesText(d.totalBytes)}\tUsable: ${
            bytesText(d.usableBytes)
          }${error}\n`,
        );
        const lines = d.topics.flatMap((t) =>
          t.partitions.map((p) => ({ name: `${t.name}-${p.partitionIndex}`, t: t.name, i: p.partitionIndex, p }))
        ).sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : a.i - b.i));
        for (const { name, p } of lines) {
          io.stdout(`\t${name}\tSize: ${p.partitionSize}\tOffsetLag: ${p.offsetLag}\n`);
        }
      }
    }
    if (values.json) io.stdout(JSON.stringify({ version: 1, brokers: json }) + "\n");
    return 0;
  });
}
