/**
 * `kbin group …`: list, describe, delete consumer groups and reset their offsets, like Kafka's
 * `kafka-consumer-groups.sh`. Speaks the Kafka protocol (src/client/groups.ts), so it works
 * against any cluster. The formatting and parsing helpers are exported for the unit tests.
 *
 * @module
 */

import type { KafkaClient } from "../client/client.ts";
import {
  commitOffsets,
  type CommittedOffset,
  deleteGroup,
  describeGroup,
  fetchCommittedOffsets,
  type GroupDescription,
  type GroupListing,
  listGroups,
  listOffsets,
  OffsetSpec,
  type PartitionOffset,
} from "../client/groups.ts";
import { ErrorCode, errorName } from "../protocol/generated/errors.ts";
import { CLIENT_OPTIONS, CLIENT_OPTIONS_HELP, parseSubcommand } from "./args.ts";
import { check, withClient } from "./client_env.ts";
import { CliError, type CliIo } from "./io.ts";

export const GROUP_HELP = `Usage: kbin group <command> [options]

Commands:
  list [--state S[,S…]] [--type T]        List groups with their type, state and protocol type
  describe GROUP                          Members, assignments, committed offsets and lag
  delete GROUP [GROUP…]                   Delete groups without active members, with their offsets
  reset-offsets GROUP --topic T[:P,…] (--to-earliest | --to-latest | --to-offset N
                | --to-datetime TIME | --shift-by N) [--execute]
                                          Move a stopped group's committed offsets (dry run by default)

Connection options (every command):
${CLIENT_OPTIONS_HELP}  -h, --help                      Help for a command ("kbin group describe --help")
`;

const HELP: Record<string, string> = {
  list: `Usage: kbin group list [--state S[,S…]] [--type classic|consumer] [--json]

Lists the groups of every broker, sorted by id: group id, type (classic, or consumer for KIP-848
groups), state and protocol type ("consumer" for consumers, "" for groups that only hold offsets).
  --state S[,S…]   Only groups in these states (Stable, Empty, PreparingRebalance,
                   CompletingRebalance, Dead, Assigning, Reconciling); repeatable
  --type T         Only groups of this type: classic or consumer
  --json           One JSON array of {group, type, state, protocolType}

Examples:
  kbin group list
  kbin group list --state Stable,Empty
`,
  describe: `Usage: kbin group describe GROUP [--json]

Shows the group's type, state, protocol type, assignor and coordinator; each member with its
member id, instance id (static membership), client id, host and assigned partitions; then one
line per partition the group is assigned or has committed: the committed offset, the log end
offset, the lag (log end - committed, "-" without a commit) and the member that owns it.
  --json   One JSON object with the same data

Examples:
  kbin group describe orders-service
  kbin group describe orders-service --json | jq '.partitions[] | select(.lag > 0)'
`,
  delete: `Usage: kbin group delete GROUP [GROUP…] [--if-exists]

Deletes groups and their committed offsets. A group with active members cannot be deleted
(NON_EMPTY_GROUP): stop its consumers first.
  --if-exists   Succeed quietly when a group does not exist

Example:
  kbin group delete orders-service
`,
  "reset-offsets": `Usage: kbin group reset-offsets GROUP (--topic T[:P,P…]… | --all-topics) STRATEGY [--execute]

Computes new committed offsets for a group with no active members and prints, per partition,
the current and the new offset. Nothing changes without --execute (a dry run, as in Kafka's
kafka-consumer-groups --reset-offsets). New offsets are clamped to the partition's
[earliest, latest] range.

Partitions:
  --topic T          Every partition of topic T (repeatable)
  --topic T:0,2      Partitions 0 and 2 of topic T
  --all-topics       Every partition the group has committed offsets for
Strategy (exactly one):
  --to-earliest      The log start offset
  --to-latest        The log end offset (skip everything written so far)
  --to-offset N      Offset N
  --to-datetime TIME The first offset whose record timestamp is at or after TIME
                     (ISO 8601: 2024-05-01T12:00:00Z, 2024-05-01T14:00:00+02:00, 2024-05-01;
                     without a zone, local time, as in Kafka; or milliseconds since the epoch);
                     the log end when no record is that recent
  --shift-by N       The committed offset plus N (N may be negative)
Then:
  --execute          Commit the new offsets
  --dry-run          Only print them (the default)
  --json             One JSON object {group, executed, partitions: [...]}

Examples:
  kbin group reset-offsets orders-service --topic orders --to-earliest
  kbin group reset-offsets orders-service --topic orders:0,1 --shift-by -100 --execute
  kbin group reset-offsets orders-service --all-topics --to-datetime 2024-05-01T00:00:00Z --execute
`,
};

const OPTIONS = {
  ...CLIENT_OPTIONS,
  json: { type: "boolean" },
  state: { type: "string", multiple: true },
  type: { type: "string", multiple: true },
  "if-exists": { type: "boolean" },
  topic: { type: "string", multiple: true },
  "all-topics": { type: "boolean" },
  "to-earliest": { type: "boolean" },
  "to-latest": { type: "boolean" },
  "to-offset": { type: "string" },
  "to-datetime": { type: "string" },
  "shift-by": { type: "string" },
  execute: { type: "boolean" },
  "dry-run": { type: "boolean" },
} as const;

/** Which of {@link OPTIONS} each subcommand accepts besides the connection options. */
const OWN_OPTIONS: Record<string, string[]> = {
  list: ["json", "state", "type"],
  describe: ["json"],
  delete: ["if-exists"],
  "reset-offsets": [
    "topic",
    "all-topics",
    "to-earliest",
    "to-latest",
    "to-offset",
    "to-datetime",
    "shift-by",
    "execute",
    "dry-run",
    "json",
  ],
};

/** Group states as Kafka spells them (ListGroups filters compare them exactly on some brokers). */
export const GROUP_STATES = [
  "Stable",
  "Empty",
  "PreparingRebalance",
  "CompletingRebalance",
  "Dead",
  "Assigning",
  "Reconciling",
  "Unknown",
] as const;

/** Group types a filter may name. */
const GROUP_TYPES = ["classic", "consumer"] as const;

/** Options whose value may be a negative number ("--shift-by -5"), which parseArgs would refuse. */
const SIGNED_OPTIONS = new Set(["--shift-by", "--to-offset"]);

/** Joins `--shift-by -5` into `--shift-by=-5` so that parseArgs takes the negative number as the value. */
export function joinSignedValues(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    if (SIGNED_OPTIONS.has(a) && next !== undefined && /^-\d+$/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

/**
 * Lays rows out in columns separated by two spaces, with a header line; no trailing spaces.
 * @example
 * formatTable(["TOPIC", "PARTITION"], [["orders", "0"]]); // "TOPIC   PARTITION\norders  0\n"
 */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  return all.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ").trimEnd())
    .join("\n") + "\n";
}

/** Canonical spelling of the states in `--state` values (comma-separated, any case). */
export function parseStates(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values.flatMap((x) => x.split(","))) {
    const s = v.trim();
    if (s === "") continue;
    const state = GROUP_STATES.find((k) => k.toLowerCase() === s.toLowerCase());
    if (!state) {
      throw new CliError(`group list: unknown state "${s}" (expected one of ${GROUP_STATES.join(", ")})`, 2);
    }
    if (!out.includes(state)) out.push(state);
  }
  return out;
}

/** Canonical spelling of the types in `--type` values. */
export function parseTypes(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values.flatMap((x) => x.split(","))) {
    const s = v.trim().toLowerCase();
    if (s === "") continue;
    if (!(GROUP_TYPES as readonly string[]).includes(s)) {
      throw new CliError(`group list: unknown type "${v.trim()}" (expected classic or consumer)`, 2);
    }
    if (!out.includes(s)) out.push(s);
  }
  return out;
}

/** A `--topic` value: a topic and, optionally, some of its partitions. */
export interface TopicSpec {
  topic: string;
  /** null: every partition. */
  partitions: number[] | null;
}

/**
 * Parses `--topic` values: `T` or `T:P,P…` (Kafka topic names cannot contain ":").
 * @throws CliError (usage, exit 2) on an empty name or a bad partition number
 */
export function parseTopicSpec(text: string): TopicSpec {
  const i = text.lastIndexOf(":");
  const topic = (i < 0 ? text : text.slice(0, i)).trim();
  if (topic === "") throw new CliError(`group reset-offsets: --topic needs a topic name, got "${text}"`, 2);
  if (i < 0) return { topic, partitions: null };
  const partitions: number[] = [];
  for (const p of text.slice(i + 1).split(",")) {
    if (!/^\d+$/.test(p.trim())) {
      throw new CliError(`group reset-offsets: --topic expects T or T:P,P…, got "${text}"`, 2);
    }
    const n = Number(p.trim());
    if (!partitions.includes(n)) partitions.push(n);
  }
  return { topic, partitions: partitions.sort((a, b) => a - b) };
}

/**
 * Parses a `--to-datetime` value into ms since the epoch: ISO 8601 date, date-time with optional
 * seconds and fraction, `Z` or `±HH:MM` (a missing zone means local time, as in Kafka's tool), or a
 * whole number of milliseconds since the epoch.
 * @returns the time, or null when the text is not one of those forms or not a real date
 */
export function parseDateTime(text: string): number | null {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t);
  const m =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i
      .exec(t);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((x) => Number(x ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, "0"));
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return null;
  const zone = m[8];
  let time: number;
  if (zone === undefined) {
    const local = new Date(year, month - 1, day, hour, minute, second, ms);
    if (local.getDate() !== day) return null;
    time = local.getTime();
  } else {
    time = Date.UTC(year, month - 1, day, hour, minute, second, ms);
    if (new Date(time).getUTCDate() !== day) return null;
    if (zone.toUpperCase() !== "Z") {
      const z = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
      const offsetMin = Number(z[2]) * 60 + Number(z[3] ?? 0);
      time -= (z[1] === "-" ? -1 : 1) * offsetMin * 60_000;
    }
  }
  return time;
}

/** How `reset-offsets` picks new offsets. */
export type ResetStrategy =
  | { kind: "earliest" }
  | { kind: "latest" }
  | { kind: "offset"; offset: bigint }
  | { kind: "datetime"; timestampMs: number }
  | { kind: "shift"; by: bigint };

/** What is known about one partition when its new offset is computed. */
export interface PartitionOffsets {
  /** The committed offset, or null when there is none. */
  current: bigint | null;
  earliest: bigint;
  latest: bigint;
  /** For `datetime`: the ListOffsets answer for the timestamp (-1: no record that recent). */
  atTime?: bigint;
}

/**
 * The new offset of one partition, clamped to [earliest, latest] like Kafka's tool does.
 * @returns the offset, or an error text (shift-by without a committed offset)
 */
export function resetOffset(strategy: ResetStrategy, p: PartitionOffsets): { offset: bigint } | { error: string } {
  let target: bigint;
  switch (strategy.kind) {
    case "earliest":
      target = p.earliest;
      break;
    case "latest":
      target = p.latest;
      break;
    case "offset":
      target = strategy.offset;
      break;
    case "datetime":
      target = p.atTime === undefined || p.atTime < 0n ? p.latest : p.atTime;
      break;
    case "shift":
      if (p.current === null) return { error: "the group has no committed offset to shift" };
      target = p.current + strategy.by;
      break;
  }
  if (target < p.earliest) target = p.earliest;
  if (target > p.latest) target = p.latest;
  return { offset: target };
}

/** One partition line of `group describe`. */
export interface PartitionRow {
  topic: string;
  partition: number;
  committedOffset: bigint | null;
  logEndOffset: bigint | null;
  lag: bigint | null;
  memberId: string | null;
}

function comparePartitions(a: { topic: string; partition: number }, b: { topic: string; partition: number }): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;
}

/**
 * The partition lines of `group describe`: every partition a member is assigned or the group
 * has committed, sorted, with lag = log end − committed (null when either is unknown).
 */
export function partitionRows(
  group: Pick<GroupDescription, "members">,
  committed: readonly Pick<CommittedOffset, "topic" | "partition" | "offset">[],
  logEnds: readonly Pick<PartitionOffset, "topic" | "partition" | "offset" | "errorCode">[],
): PartitionRow[] {
  const rows = new Map<string, PartitionRow>();
  const row = (topic: string, partition: number): PartitionRow => {
    const key = `${topic}\0${partition}`;
    let r = rows.get(key);
    if (!r) {
      rows.set(key, r = { topic, partition, committedOffset: null, logEndOffset: null, lag: null, memberId: null });
    }
    return r;
  };
  for (const m of group.members) {
    for (const tp of m.assignment ?? []) for (const p of tp.partitions) row(tp.topic, p).memberId = m.memberId;
  }
  for (const c of committed) if (c.offset >= 0n) row(c.topic, c.partition).committedOffset = c.offset;
  for (const e of logEnds) {
    const r = rows.get(`${e.topic}\0${e.partition}`);
    if (r && e.errorCode === ErrorCode.NONE && e.offset >= 0n) r.logEndOffset = e.offset;
  }
  for (const r of rows.values()) {
    if (r.committedOffset !== null && r.logEndOffset !== null) r.lag = r.logEndOffset - r.committedOffset;
  }
  return [...rows.values()].sort(comparePartitions);
}

/** `topic:0,1 other:3` for an assignment; "-" when empty, "?" when it did not decode. */
export function formatAssignment(assignment: GroupDescription["members"][number]["assignment"]): string {
  if (assignment === null) return "?";
  const parts = assignment
    .filter((tp) => tp.partitions.length > 0)
    .map((tp) => `${tp.topic}:${[...tp.partitions].sort((a, b) => a - b).join(",")}`)
    .sort();
  return parts.length === 0 ? "-" : parts.join(" ");
}

function dash(v: string | bigint | number | null | undefined): string {
  return v === null || v === undefined || v === "" ? "-" : String(v);
}

/** The lines of `group list` (nothing at all for no groups, like `topic list`). */
export function formatGroupList(groups: readonly GroupListing[]): string {
  if (groups.length === 0) return "";
  return formatTable(
    ["GROUP", "TYPE", "STATE", "PROTOCOL-TYPE"],
    groups.map((g) => [g.groupId, g.type ?? "classic", dash(g.state), dash(g.protocolType)]),
  );
}

/** `group list --json`: the groups as plain objects. */
export function groupListJson(groups: readonly GroupListing[]): unknown[] {
  return groups.map((g) => ({
    group: g.groupId,
    type: g.type ?? "classic",
    state: g.state,
    protocolType: g.protocolType,
  }));
}

/** The text of `group describe`: a header, the members, then the partitions. */
export function formatGroupDescription(group: GroupDescription, rows: readonly PartitionRow[]): string {
  const c = group.coordinator;
  const totalLag = rows.reduce((sum, r) => sum + (r.lag ?? 0n), 0n);
  const header: [string, string][] = [
    ["Group", group.groupId],
    ["Type", group.type],
    ["State", group.state],
    ["Protocol type", dash(group.protocolType)],
    ["Assignor", dash(group.assignor)],
    ["Coordinator", `${c.nodeId} (${c.host}:${c.port})`],
    ["Members", String(group.members.length)],
    ["Total lag", String(totalLag)],
  ];
  let out = header.map(([k, v]) => `${(k + ":").padEnd(15)}${v}`).join("\n") + "\n\n";
  if (group.members.length === 0) {
    out += "No active members.\n\n";
  } else {
    const members = [...group.members].sort((a, b) => (a.memberId < b.memberId ? -1 : 1));
    const cells = members.map((m) => [m.memberId, dash(m.instanceId), dash(m.clientId), dash(m.host)]);
    out += formatTable(
      ["MEMBER-ID", "INSTANCE-ID", "CLIENT-ID", "HOST", "PARTITIONS"],
      cells.map((c, i) => [...c, formatAssignment(members[i]!.assignment)]),
    ) + "\n";
  }
  if (rows.length === 0) {
    out += "No assigned partitions and no committed offsets.\n";
  } else {
    out += formatTable(
      ["TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "MEMBER-ID"],
      rows.map((r) => [
        r.topic,
        String(r.partition),
        dash(r.committedOffset),
        dash(r.logEndOffset),
        dash(r.lag),
        dash(r.memberId),
      ]),
    );
  }
  return out;
}

function num(v: bigint | null): number | null {
  return v === null ? null : Number(v);
}

/** `group describe --json`: offsets as numbers, unknown values as null. */
export function groupDescriptionJson(group: GroupDescription, rows: readonly PartitionRow[]): unknown {
  return {
    group: group.groupId,
    type: group.type,
    state: group.state,
    protocolType: group.protocolType,
    assignor: group.assignor,
    coordinator: group.coordinator,
    members: group.members.map((m) => ({
      memberId: m.memberId,
      instanceId: m.instanceId,
      clientId: m.clientId,
      host: m.host,
      assignment: m.assignment,
    })),
    totalLag: Number(rows.reduce((sum, r) => sum + (r.lag ?? 0n), 0n)),
    partitions: rows.map((r) => ({
      topic: r.topic,
      partition: r.partition,
      committedOffset: num(r.committedOffset),
      logEndOffset: num(r.logEndOffset),
      lag: num(r.lag),
      memberId: r.memberId,
    })),
  };
}

/** One line of the `reset-offsets` plan. */
export interface ResetRow {
  topic: string;
  partition: number;
  currentOffset: bigint | null;
  newOffset: bigint;
}

/** The `reset-offsets` table. */
export function formatResetPlan(rows: readonly ResetRow[]): string {
  return formatTable(
    ["TOPIC", "PARTITION", "CURRENT-OFFSET", "NEW-OFFSET"],
    rows.map((r) => [r.topic, String(r.partition), dash(r.currentOffset), String(r.newOffset)]),
  );
}

/** Reads the strategy options of `reset-offsets`; exactly one must be given. */
export function parseResetStrategy(values: {
  "to-earliest"?: boolean | undefined;
  "to-latest"?: boolean | undefined;
  "to-offset"?: string | undefined;
  "to-datetime"?: string | undefined;
  "shift-by"?: string | undefined;
}): ResetStrategy {
  const cmd = "group reset-offsets";
  const given: ResetStrategy[] = [];
  const whole = (name: string, v: string): bigint => {
    if (!/^[+-]?\d+$/.test(v.trim())) throw new CliError(`${cmd}: --${name} must be a whole number, got "${v}"`, 2);
    return BigInt(v.trim());
  };
  if (values["to-earliest"]) given.push({ kind: "earliest" });
  if (values["to-latest"]) given.push({ kind: "latest" });
  if (values["to-offset"] !== undefined) {
    given.push({ kind: "offset", offset: whole("to-offset", values["to-offset"]) });
  }
  if (values["shift-by"] !== undefined) given.push({ kind: "shift", by: whole("shift-by", values["shift-by"]) });
  if (values["to-datetime"] !== undefined) {
    const t = parseDateTime(values["to-datetime"]);
    if (t === null) {
      throw new CliError(
        `${cmd}: --to-datetime expects an ISO 8601 time such as 2024-05-01T12:00:00Z, got "${values["to-datetime"]}"`,
        2,
      );
    }
    given.push({ kind: "datetime", timestampMs: t });
  }
  if (given.length !== 1) {
    throw new CliError(
      `${cmd}: give exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by (see "kbin ${cmd} --help")`,
      2,
    );
  }
  return given[0]!;
}

function oneGroup(sub: string, positionals: string[]): string {
  if (positionals.length !== 1 || positionals[0] === "") {
    throw new CliError(`group ${sub}: expected one group id (see "kbin group ${sub} --help")`, 2);
  }
  return positionals[0]!;
}

/** Dispatches `kbin group <command>`. */
export async function groupCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = parseSubcommand(args, io, {
    family: "group",
    help: GROUP_HELP,
    commands: HELP,
    options: OPTIONS,
    ownOptions: OWN_OPTIONS,
    prepare: joinSignedValues,
  });
  if (typeof parsed === "number") return parsed;
  const { sub, cmd, values, positionals } = parsed;
  switch (sub) {
    case "list": {
      if (positionals.length > 0) throw new CliError(`${cmd}: unexpected argument "${positionals[0]}"`, 2);
      const states = parseStates(values.state ?? []);
      const types = parseTypes(values.type ?? []);
      return await withClient(cmd, io, values, async (client) => {
        const { groups, errors } = await listGroups(client, { states, types });
        const first = errors[0];
        if (first) check(`Cannot list the groups of broker ${first.nodeId}`, first.errorCode);
        io.stdout(values.json ? JSON.stringify(groupListJson(groups), null, 2) + "\n" : formatGroupList(groups));
        return 0;
      });
    }
    case "describe": {
      const groupId = oneGroup(sub, positionals);
      return await withClient(cmd, io, values, async (client) => {
        const { group, rows } = await describeWithOffsets(client, groupId);
        io.stdout(
          values.json
            ? JSON.stringify(groupDescriptionJson(group, rows), null, 2) + "\n"
            : formatGroupDescription(group, rows),
        );
        return 0;
      });
    }
    case "delete": {
      if (positionals.length === 0 || positionals.includes("")) {
        throw new CliError(`${cmd}: expected one or more group ids (see "kbin ${cmd} --help")`, 2);
      }
      return await withClient(cmd, io, values, async (client) => {
        const failures: string[] = [];
        for (const groupId of positionals) {
          const { errorCode } = await deleteGroup(client, groupId);
          if (errorCode === ErrorCode.GROUP_ID_NOT_FOUND && values["if-exists"]) continue;
          if (errorCode === ErrorCode.NONE) {
            io.stdout(`Deleted group "${groupId}"\n`);
            continue;
          }
          const hint = errorCode === ErrorCode.NON_EMPTY_GROUP
            ? ": the group has active members; stop its consumers first"
            : errorCode === ErrorCode.GROUP_ID_NOT_FOUND
            ? ": the group does not exist"
            : "";
          failures.push(`Cannot delete group "${groupId}": ${errorName(errorCode)}${hint}`);
        }
        if (failures.length > 0) {
          const more = failures.length > 1 ? ` (and ${failures.length - 1} more)` : "";
          throw new CliError(failures[0]! + more);
        }
        return 0;
      });
    }
    case "reset-offsets": {
      const groupId = oneGroup(sub, positionals);
      const strategy = parseResetStrategy(values);
      const specs = (values.topic ?? []).map(parseTopicSpec);
      if ((specs.length > 0) === (values["all-topics"] === true)) {
        throw new CliError(`${cmd}: give --topic T[:P,…] (repeatable) or --all-topics (see "kbin ${cmd} --help")`, 2);
      }
      if (values.execute && values["dry-run"]) {
        throw new CliError(`${cmd}: --execute and --dry-run exclude each other`, 2);
      }
      return await withClient(cmd, io, values, async (client) => {
        const rows = await planReset(client, groupId, specs, strategy);
        const execute = values.execute === true;
        if (execute) {
          const results = await commitOffsets(
            client,
            groupId,
            rows.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.newOffset })),
          );
          const failed = results.find((r) => r.errorCode !== ErrorCode.NONE);
          if (failed) {
            const active = [ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.ILLEGAL_GENERATION, ErrorCode.REBALANCE_IN_PROGRESS]
              .includes(failed.errorCode as never);
            check(
              `Cannot commit offsets for group "${groupId}" (${failed.topic}:${failed.partition})`,
              failed.errorCode,
              active ? "the group is not empty; stop its consumers first" : null,
            );
          }
        }
        if (values.json) {
          io.stdout(
            JSON.stringify(
              {
                group: groupId,
                executed: execute,
                partitions: rows.map((r) => ({
                  topic: r.topic,
                  partition: r.partition,
                  currentOffset: num(r.currentOffset),
                  newOffset: Number(r.newOffset),
                })),
              },
              null,
              2,
            ) + "\n",
          );
          return 0;
        }
        io.stdout(formatResetPlan(rows));
        io.stdout(
          execute
            ? `\nCommitted new offsets for ${rows.length} partition(s) of group "${groupId}"\n`
            : `\nDry run: nothing committed (add --execute to commit these offsets)\n`,
        );
        return 0;
      });
    }
  }
  return 2;
}

/** DescribeGroups (or ConsumerGroupDescribe), OffsetFetch and ListOffsets for `group describe`. */
async function describeWithOffsets(
  client: KafkaClient,
  groupId: string,
): Promise<{ group: GroupDescription; rows: PartitionRow[] }> {
  const action = `Cannot describe group "${groupId}"`;
  const group = await describeGroup(client, groupId);
  if (group.errorCode === ErrorCode.GROUP_ID_NOT_FOUND) check(action, group.errorCode, "the group does not exist");
  check(action, group.errorCode, group.errorMessage);
  const committed = await fetchCommittedOffsets(client, groupId, null);
  check(action, committed.errorCode);
  const offsets = committed.offsets.filter((o) => o.offset >= 0n);
  if (group.state === "Dead" && group.members.length === 0 && offsets.length === 0) {
    check(action, ErrorCode.GROUP_ID_NOT_FOUND, "the group does not exist");
  }
  const wanted = partitionRows(group, offsets, []);
  const logEnds = await listOffsets(
    client,
    wanted.map((r) => ({ topic: r.topic, partition: r.partition, timestamp: OffsetSpec.LATEST })),
  );
  return { group, rows: partitionRows(group, offsets, logEnds) };
}

/** Works out the new offsets of `reset-offsets`, refusing groups that have active members. */
async function planReset(
  client: KafkaClient,
  groupId: string,
  specs: readonly TopicSpec[],
  strategy: ResetStrategy,
): Promise<ResetRow[]> {
  const action = `Cannot reset offsets of group "${groupId}"`;
  const group = await describeGroup(client, groupId);
  // An unknown group is fine: the commit creates it, as with Kafka's tool.
  if (group.errorCode !== ErrorCode.GROUP_ID_NOT_FOUND) check(action, group.errorCode, group.errorMessage);
  if (group.errorCode === ErrorCode.NONE && group.state !== "Empty" && group.state !== "Dead") {
    const n = group.members.length;
    throw new CliError(
      `${action}: the group is not empty (state ${group.state}, ${n} member${
        n === 1 ? "" : "s"
      }); stop its consumers first`,
    );
  }
  const committed = await fetchCommittedOffsets(client, groupId, null);
  check(action, committed.errorCode);
  const current = new Map<string, bigint>();
  for (const o of committed.offsets) if (o.offset >= 0n) current.set(`${o.topic}\0${o.partition}`, o.offset);

  let targets: { topic: string; partition: number }[] = [];
  if (specs.length === 0) {
    targets = committed.offsets.filter((o) => o.offset >= 0n).map((o) => ({ topic: o.topic, partition: o.partition }));
    if (targets.length === 0) {
      throw new CliError(`${action}: the group has no committed offsets; name the topics with --topic`);
    }
  } else {
    const topics = [...new Set(specs.map((s) => s.topic))];
    const md = await client.metadata(topics);
    for (const spec of specs) {
      const t = md.topics.find((x) => x.name === spec.topic);
      if (!t) throw new CliError(`${action}: the broker sent no metadata for topic "${spec.topic}"`);
      check(`${action}: topic "${spec.topic}"`, t.errorCode);
      const all = t.partitions.map((p) => p.partitionIndex).sort((a, b) => a - b);
      for (const p of spec.partitions ?? all) {
        if (!all.includes(p)) {
          throw new CliError(
            `${action}: topic "${spec.topic}" has no partition ${p} (it has ${all.length} partition${
              all.length === 1 ? "" : "s"
            })`,
          );
        }
        if (!targets.some((x) => x.topic === spec.topic && x.partition === p)) {
          targets.push({ topic: spec.topic, partition: p });
        }
      }
    }
  }
  targets.sort(comparePartitions);

  const ask = (timestamp: bigint) => listOffsets(client, targets.map((t) => ({ ...t, timestamp })));
  const [earliest, latest, atTime] = await Promise.all([
    ask(OffsetSpec.EARLIEST),
    ask(OffsetSpec.LATEST),
    strategy.kind === "datetime" ? ask(BigInt(strategy.timestampMs)) : Promise.resolve(null),
  ]);
  return targets.map((t, i) => {
    const where = `${action}: ${t.topic}:${t.partition}`;
    for (const answer of [earliest[i]!, latest[i]!, atTime?.[i]]) if (answer) check(where, answer.errorCode);
    const cur = current.get(`${t.topic}\0${t.partition}`) ?? null;
    const known: PartitionOffsets = { current: cur, earliest: earliest[i]!.offset, latest: latest[i]!.offset };
    if (atTime) known.atTime = atTime[i]!.offset;
    const r = resetOffset(strategy, known);
    if ("error" in r) throw new CliError(`${where}: ${r.error}`);
    return { ...t, currentOffset: cur, newOffset: r.offset };
  });
}
