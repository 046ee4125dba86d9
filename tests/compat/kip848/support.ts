/**
 * Helpers for the KIP-848 suite: group members and producers run as child processes
 * (member.cjs, producer.cjs, classic_member.py) that print one JSON event per line; these
 * helpers collect the events, wait on conditions with a deadline and check what the members saw.
 * Partitions are named "topic:partition" throughout.
 *
 * @module
 */

import assert from "node:assert/strict";
import { followJsonLines } from "../shared/kbin.ts";
import { type ChildProcess, spawn } from "node:child_process";

/** One line a process printed; `t` is its wall clock in ms. */
export interface ProcEvent {
  ev: string;
  t: number;
  /** assign/revoke: the partitions the callback got, and what the member owns after it. */
  parts?: string[];
  owned?: string[];
  topic?: string;
  p?: number;
  o?: number;
  v?: string;
  name?: string;
  str?: string;
}

/** A child process printing JSON events. */
export interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly events: ProcEvent[];
  /** When the process exited (test's clock), or null while it runs. */
  exitedAt(): number | null;
  stderr(): string;
  /** Resolves with the first event from index `from` matching `match`; rejects on timeout or exit. */
  waitFor(what: string, match: (e: ProcEvent) => boolean, options?: { timeoutMs?: number; from?: number }): Promise<
    ProcEvent
  >;
  /** What the member owns after its last assign/revoke event. */
  owned(): string[];
  /**
   * Sends `signal` (if still running) and resolves once the process has exited; SIGKILLs it when
   * it has not exited after `timeoutMs` (the caller's checks of its last events then fail).
   */
  stop(signal: NodeJS.Signals, timeoutMs?: number): Promise<void>;
}

/** Spawns `cmd args` and parses its stdout as JSON lines. */
export function spawnProc(name: string, cmd: string, args: string[]): Proc {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  const events: ProcEvent[] = [];
  let stderr = "";
  let exitedAt: number | null = null;
  const exited = new Promise<void>((resolve) =>
    child.on("exit", () => {
      exitedAt = Date.now();
      resolve();
    })
  );
  followJsonLines<ProcEvent>(child.stdout!, (e) => events.push(e));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const proc: Proc = {
    name,
    child,
    events,
    exitedAt: () => exitedAt,
    stderr: () => stderr,
    async waitFor(what, match, options = {}) {
      let index = options.from ?? 0;
      return await until(`${name}: ${what}`, () => {
        for (; index < events.length; index++) if (match(events[index]!)) return events[index]!;
        if (exitedAt !== null) assert.fail(`${name} exited before ${what}\n${dump(proc)}`);
        return undefined;
      }, { timeoutMs: options.timeoutMs ?? 20_000, procs: [proc] });
    },
    owned() {
      return events.findLast((e) => e.owned !== undefined)?.owned ?? [];
    },
    async stop(signal, timeoutMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
  return proc;
}

/** The last events (without msg/commit/sent) and stderr of a process, for assertion messages. */
export function dump(p: Proc, n = 20): string {
  const tail = p.events.filter((e) => !["msg", "commit", "sent"].includes(e.ev)).slice(-n);
  return `--- ${p.name} events (no msg/commit/sent):\n${
    tail.map((e) => JSON.stringify(e)).join("\n")
  }\n--- ${p.name} stderr:\n${p.stderr().slice(-1500)}`;
}

/**
 * Polls `check` every 25 ms until it returns something other than undefined; fails after
 * `timeoutMs` with the state of `procs`.
 */
export async function until<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  options: { timeoutMs?: number; procs?: Proc[] } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) {
      assert.fail(`no ${what} within ${timeoutMs} ms\n${(options.procs ?? []).map((p) => dump(p)).join("\n")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** `topic:0` … `topic:n-1`. */
export function partitionsOf(topic: string, n: number): string[] {
  return [...Array(n).keys()].map((p) => `${topic}:${p}`).sort();
}

/**
 * Waits until `procs` own disjoint sets that together are exactly `all`, with the given sizes
 * (in any order) when `sizes` is set, else each non-empty. Resolves with the sets and the time.
 */
export async function waitSplit(
  procs: Proc[],
  all: string[],
  options: { sizes?: number[]; timeoutMs?: number } = {},
): Promise<{ sets: string[][]; at: number }> {
  const want = JSON.stringify([...all].sort());
  const sizes = options.sizes ? JSON.stringify([...options.sizes].sort()) : null;
  return await until(`split of ${all.length} partitions over ${procs.map((p) => p.name)}`, () => {
    const sets = procs.map((p) => p.owned());
    if (JSON.stringify(sets.flat().sort()) !== want) return undefined;
    const sized = sizes === null
      ? sets.every((s) => s.length > 0)
      : JSON.stringify(sets.map((s) => s.length).sort()) === sizes;
    return sized ? { sets, at: Date.now() } : undefined;
  }, { timeoutMs: options.timeoutMs ?? 20_000, procs });
}

/**
 * Asserts that no partition was owned by two members at the same moment. A member owns what its
 * last assign/revoke event says until it exits; events of all members are merged by time.
 */
export function assertNoOverlap(procs: Proc[]): void {
  const times = new Set<number>();
  for (const p of procs) {
    for (const e of p.events) if (e.owned !== undefined) times.add(e.t);
  }
  const ownedAt = (p: Proc, t: number): string[] => {
    const exited = p.exitedAt();
    if (exited !== null && exited <= t) return [];
    return p.events.findLast((e) => e.owned !== undefined && e.t <= t)?.owned ?? [];
  };
  for (const t of [...times].sort((a, b) => a - b)) {
    const owner = new Map<string, string>();
    for (const p of procs) {
      for (const tp of ownedAt(p, t)) {
        assert.ok(
          !owner.has(tp),
          `${tp} owned by ${owner.get(tp)} and ${p.name} at ${t}\n${procs.map((x) => dump(x)).join("\n")}`,
        );
        owner.set(tp, p.name);
      }
    }
  }
}

/** The highest acknowledged commit per partition over `procs`. */
export function committedBy(procs: Proc[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of procs) {
    for (const e of p.events) {
      if (e.ev !== "commit") continue;
      const key = `${e.topic}:${e.p}`;
      out.set(key, Math.max(out.get(key) ?? 0, e.o!));
    }
  }
  return out;
}

/** Waits until the commits of `procs` reach `ends` (partition → next offset) everywhere. */
export async function waitCommitted(procs: Proc[], ends: Map<string, number>, timeoutMs = 20_000): Promise<void> {
  await until(`commits up to ${JSON.stringify([...ends])}`, () => {
    const got = committedBy(procs);
    return [...ends].every(([tp, end]) => (got.get(tp) ?? 0) >= end) ? true : undefined;
  }, { timeoutMs, procs });
}

/** The offset of the first record `p` received on each partition at or after event index `from`. */
export function firstOffsets(p: Proc, from = 0): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of p.events.slice(from)) {
    if (e.ev === "msg" && !out.has(`${e.topic}:${e.p}`)) out.set(`${e.topic}:${e.p}`, e.o!);
  }
  return out;
}

/** The values of the records `procs` received, in order. */
export function received(procs: Proc[]): string[] {
  return procs.flatMap((p) => p.events.filter((e) => e.ev === "msg").map((e) => e.v!));
}

/** What a producer acknowledged: values and the next offset of each partition. */
export function acknowledged(producer: Proc, topic: string): { values: string[]; ends: Map<string, number> } {
  const sent = producer.events.filter((e) => e.ev === "sent");
  const ends = new Map<string, number>();
  for (const e of sent) ends.set(`${topic}:${e.p}`, Math.max(ends.get(`${topic}:${e.p}`) ?? 0, e.o! + 1));
  return { values: sent.map((e) => e.v!), ends };
}

/**
 * Errors the processes reported (with `who`), except those matching `allowed` (tested against
 * "name str") and commits refused with STALE_MEMBER_EPOCH within `staleCommitWindowMs` of an
 * assign, revoke or exit of any of `procs`: Kafka 4.0 requires the exact member epoch, so an
 * asynchronous commit sent just before the member learns its new epoch is refused (KIP-1251 relaxes
 * this in later Kafka versions).
 */
export function errorsOf(
  procs: Proc[],
  options: { allowed?: RegExp; staleCommitWindowMs?: number } = {},
): (ProcEvent & { who: string })[] {
  const changes = procs.flatMap((p) => [
    ...p.events.filter((e) => e.owned !== undefined).map((e) => e.t),
    ...(p.exitedAt() === null ? [] : [p.exitedAt()!]),
  ]);
  const window = options.staleCommitWindowMs ?? -1;
  const expected = (e: ProcEvent) =>
    (options.allowed?.test(`${e.name} ${e.str}`) ?? false) ||
    (e.name === "commit" && /member epoch is stale/.test(e.str ?? "") &&
      changes.some((t) => Math.abs(t - e.t) <= window));
  return procs.flatMap((p) =>
    p.events.filter((e) => e.ev === "error" && !expected(e)).map((e) => ({ ...e, who: p.name }))
  );
}
