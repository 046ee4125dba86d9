/**
 * Helpers shared by the consumer-group compat suites: group members run as child processes that
 * print one JSON event per line (rdkafka_member.py, kafka_python_member.py, kafkajs_member.ts),
 * a numbered-record producer, and checks on what the members saw.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import assert from "node:assert/strict";
import { followJsonLines } from "../shared/kbin.ts";
import { Kafka, logLevel, Partitioners } from "kafkajs";

/** One line a member printed. `t` is its wall clock in ms. */
export interface MemberEvent {
  ev: string;
  t: number;
  parts?: number[];
  owned?: number[];
  p?: number;
  o?: number;
  v?: string;
  name?: string;
  str?: string;
  [key: string]: unknown;
}

/** A group member running in a child process. */
export interface Member {
  readonly name: string;
  readonly child: ChildProcess;
  readonly events: MemberEvent[];
  /** Everything the process wrote to stderr. */
  stderr(): string;
  /** Resolves with the first event (from index `from`) that matches, or rejects after `timeoutMs`. */
  waitFor(
    what: string,
    match: (e: MemberEvent) => boolean,
    options?: { timeoutMs?: number; from?: number },
  ): Promise<MemberEvent>;
  /** The partitions the member owns after its last assign/revoke/lost event. */
  owned(): number[];
  /** Sends a signal and resolves when the process has exited. */
  stop(signal: NodeJS.Signals): Promise<void>;
}

/** Spawns a member and parses its stdout as JSON lines. */
export function spawnMember(name: string, cmd: string, args: string[]): Member {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  const events: MemberEvent[] = [];
  let stderr = "";
  const waiters = new Set<() => void>();
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  exited.then(() => waiters.forEach((w) => w()));
  followJsonLines<MemberEvent>(child.stdout!, (e) => events.push(e), () => waiters.forEach((w) => w()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const member: Member = {
    name,
    child,
    events,
    stderr: () => stderr,
    waitFor(what, match, options = {}) {
      const timeoutMs = options.timeoutMs ?? 20_000;
      let index = options.from ?? 0;
      return new Promise((resolve, reject) => {
        const check = () => {
          for (; index < events.length; index++) {
            if (match(events[index]!)) {
              waiters.delete(check);
              clearTimeout(timer);
              resolve(events[index]!);
              return;
            }
          }
          if (child.exitCode !== null || child.signalCode !== null) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(new Error(`${name} exited before ${what}\n${describe(member)}`));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${name}: no ${what} within ${timeoutMs} ms\n${describe(member)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    owned() {
      const last = events.findLast((e) => e.owned !== undefined);
      return last?.owned ?? [];
    },
    async stop(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
  return member;
}

/** The last events and stderr of a member, for assertion messages. */
export function describe(m: Member, n = 15): string {
  const tail = m.events.filter((e) => e.ev !== "msg" && e.ev !== "commit").slice(-n);
  return `${m.name} events (no msg/commit):\n${tail.map((e) => JSON.stringify(e)).join("\n")}\n${m.name} stderr:\n${
    m.stderr().slice(-2000)
  }`;
}

/** Waits until `member` owns exactly `parts`. */
export function waitOwned(m: Member, parts: number[], timeoutMs = 20_000): Promise<MemberEvent> {
  const want = JSON.stringify([...parts].sort((a, b) => a - b));
  return m.waitFor(`ownership of [${parts}]`, () => JSON.stringify(m.owned()) === want, { timeoutMs });
}

/** Waits until the members own disjoint sets that together are exactly 0..n-1, each non-empty. */
export async function waitSplit(members: Member[], n: number, timeoutMs = 20_000): Promise<number[][]> {
  const deadline = Date.now() + timeoutMs;
  const split = () => {
    const sets = members.map((m) => m.owned());
    const all = sets.flat().sort((a, b) => a - b);
    const ok = sets.every((s) => s.length > 0) && JSON.stringify(all) === JSON.stringify([...Array(n).keys()]);
    return ok ? sets : null;
  };
  for (;;) {
    const sets = split();
    if (sets) return sets;
    if (Date.now() > deadline) {
      throw new Error(`members never split ${n} partitions\n${members.map((m) => describe(m)).join("\n")}`);
    }
    // Wake on the next event of any member (or poll every 50 ms).
    await Promise.race([
      ...members.map((m) =>
        m.waitFor("an event", () => true, { from: m.events.length, timeoutMs: 50 }).catch(() => {})
      ),
    ]);
  }
}

/** Waits until the members together have committed up to `ends` (partition → next offset). */
export async function waitCommitted(members: Member[], ends: Map<number, number>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = committedBy(members);
    if ([...ends].every(([p, end]) => (got.get(p) ?? 0) >= end)) return;
    if (Date.now() > deadline) {
      throw new Error(
        `commits never reached ${JSON.stringify([...ends])}: got ${JSON.stringify([...got])}\n${
          members.map((m) => describe(m)).join("\n")
        }`,
      );
    }
    await Promise.race(
      members.map((m) => m.waitFor("an event", () => true, { from: m.events.length, timeoutMs: 50 }).catch(() => {})),
    );
  }
}

/** The highest acknowledged commit per partition over `members`. */
export function committedBy(members: Member[], beforeMs = Infinity): Map<number, number> {
  const out = new Map<number, number>();
  for (const m of members) {
    for (const e of m.events) {
      if (e.ev === "commit" && e.t <= beforeMs) out.set(e.p!, Math.max(out.get(e.p!) ?? 0, e.o!));
    }
  }
  return out;
}

/** The offset of the first record `m` received for each partition at or after event index `from`. */
export function firstOffsets(m: Member, from = 0): Map<number, number> {
  const out = new Map<number, number>();
  for (const e of m.events.slice(from)) if (e.ev === "msg" && !out.has(e.p!)) out.set(e.p!, e.o!);
  return out;
}

/** Asserts every value 0..total-1 was received, and each exactly once over all members. */
export function assertExactlyOnce(members: Member[], total: number): void {
  const seen = new Map<string, string[]>();
  for (const m of members) {
    for (const e of m.events) {
      if (e.ev !== "msg") continue;
      seen.set(e.v!, [...(seen.get(e.v!) ?? []), `${m.name}@${e.p}:${e.o}`]);
    }
  }
  const twice = [...seen].filter(([, where]) => where.length > 1);
  assert.deepEqual(twice, [], "records delivered more than once");
  const missing = [...Array(total).keys()].map(String).filter((v) => !seen.has(v));
  assert.deepEqual(missing, [], "records never delivered");
}

/** Errors the members reported, except the ones a test expects. */
export function errorsOf(members: Member[], allowed: RegExp = /^$/): MemberEvent[] {
  return members.flatMap((m) => m.events.filter((e) => e.ev === "error" && !allowed.test(`${e.name} ${e.str}`)));
}

/** Creates `topic` with `partitions` partitions through KafkaJS admin. */
export async function createTopic(bootstrap: string, topic: string, partitions: number): Promise<void> {
  const admin = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const created = await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
    assert.ok(created, `topic ${topic} was not created`);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Produces records valued `from`..`to - 1` (as decimal strings) round-robin over `partitions`
 * partitions: value i goes to partition i % partitions. Returns the next offset of each partition
 * assuming the topic held only this function's records.
 */
export async function produceNumbered(
  bootstrap: string,
  topic: string,
  range: { from: number; to: number; partitions: number },
): Promise<void> {
  const producer = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING }).producer({
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  try {
    const messages = [];
    for (let i = range.from; i < range.to; i++) messages.push({ partition: i % range.partitions, value: String(i) });
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

/** Next offset of each partition after `count` records produced with {@link produceNumbered} from 0. */
export function endsAfter(count: number, partitions: number): Map<number, number> {
  const ends = new Map<number, number>();
  for (let p = 0; p < partitions; p++) ends.set(p, Math.floor(count / partitions) + (p < count % partitions ? 1 : 0));
  return ends;
}

/** Timing of the members a {@link failover} drives. */
export interface FailoverTiming {
  sessionMs: number;
  heartbeatMs: number;
}

/**
 * The fail-over scenario every client runs. Members A then B join one group and split a new
 * 4-partition topic; 100 numbered records are produced and committed; A is SIGKILLed and 100 more
 * produced. B must take every partition once A's session expires (not before) and resume A's
 * partitions exactly at A's commits. B then leaves (SIGTERM), 100 more are produced, and a new
 * member C must resume every partition exactly at B's commits. Records are produced only while
 * the group is stable, so every record must be delivered exactly once.
 */
export async function failover(
  bootstrap: string,
  topic: string,
  spawnOne: (name: string) => Member,
  timing: FailoverTiming,
): Promise<{ a: Member; b: Member; c: Member }> {
  const n = 4;
  const all = [0, 1, 2, 3];
  await createTopic(bootstrap, topic, n);
  const a = spawnOne(`${topic}/A`);
  await a.waitFor("a first assignment", (e) => e.ev === "assign" && e.owned!.length > 0);
  const b = spawnOne(`${topic}/B`);
  const [ownedA] = await waitSplit([a, b], n);
  await produceNumbered(bootstrap, topic, { from: 0, to: 100, partitions: n });
  await waitCommitted([a, b], endsAfter(100, n));
  const committedA = committedBy([a, b]);

  const killedAt = Date.now();
  await a.stop("SIGKILL");
  await produceNumbered(bootstrap, topic, { from: 100, to: 200, partitions: n });
  const takeover = await waitOwned(b, all, timing.sessionMs + 10_000);
  const tookMs = takeover.t - killedAt;
  assert.ok(
    tookMs >= timing.sessionMs - timing.heartbeatMs - 250,
    `B took A's partitions ${tookMs} ms after the crash, before A's ${timing.sessionMs} ms session could expire`,
  );
  const fromTakeover = b.events.indexOf(takeover);
  await waitCommitted([b], endsAfter(200, n));
  const resumedB = firstOffsets(b, fromTakeover);
  for (const p of ownedA!) {
    assert.equal(resumedB.get(p), committedA.get(p) ?? 0, `B resumed partition ${p} away from A's commit`);
  }

  await b.stop("SIGTERM");
  assert.ok(b.events.some((e) => e.ev === "closed"), describe(b));
  const committedB = committedBy([a, b]);
  await produceNumbered(bootstrap, topic, { from: 200, to: 300, partitions: n });
  const c = spawnOne(`${topic}/C`);
  await waitOwned(c, all);
  await waitCommitted([c], endsAfter(300, n));
  const resumedC = firstOffsets(c);
  for (const p of all) {
    assert.equal(resumedC.get(p), committedB.get(p), `C resumed partition ${p} away from B's commit`);
  }
  await c.stop("SIGTERM");

  assertExactlyOnce([a, b, c], 300);
  return { a, b, c };
}
