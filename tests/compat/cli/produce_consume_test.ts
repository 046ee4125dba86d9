/**
 * `kbin produce` and `kbin consume` as processes against `kbin serve`: keyed lines with headers
 * in every codec back byte-exact and in order per partition; start positions, -n and --exit;
 * interop with kcat (librdkafka) both ways, including its murmur2 partitioner; one-line errors;
 * Ctrl-C. Covered and knowingly skipped: ALLOWLIST.md; gaps: FINDINGS.md.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrokerProcess, BUN, MAIN, run, startBrokerProcess } from "../../support/broker_process.ts";
import { partitionForKey } from "../../../src/client/partitioner.ts";
import { kcatMissing } from "../shared/kbin.ts";

type Result = { code: number | null; stdout: string; stderr: string };

const KCAT = "kcat";
const NO_KCAT = kcatMissing();
const enc = new TextEncoder();

function show(r: Result): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

function oneLineError(r: Result, exitCode: number, pattern: RegExp): void {
  assert.equal(r.code, exitCode, show(r));
  assert.equal(r.stdout, "", show(r));
  assert.ok(r.stderr.endsWith("\n") && r.stderr.split("\n").length === 2, `not one line:\n${show(r)}`);
  assert.match(r.stderr, pattern);
}

function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** 1000 keyed lines "key-N:value N …" with a few non-ASCII ones. */
const LINES = Array.from(
  { length: 1000 },
  (_, i) => `key-${i % 37}:value ${i} ${i % 50 === 0 ? "ünïcødé ✓" : "x".repeat(i % 13)}`,
);

/** What each partition should hold, in order, for keyed lines split at ":". */
function expectedByPartition(lines: string[], partitions: number): string[][] {
  const out: string[][] = Array.from({ length: partitions }, () => []);
  for (const line of lines) {
    const key = line.slice(0, line.indexOf(":"));
    out[partitionForKey(enc.encode(key), partitions)]!.push(line);
  }
  return out;
}

/** Splits "P\tREST" lines by partition, keeping their order. */
function byPartition(stdout: string, partitions: number): string[][] {
  const out: string[][] = Array.from({ length: partitions }, () => []);
  for (const line of stdout.split("\n")) {
    if (line === "") continue;
    const tab = line.indexOf("\t");
    out[Number(line.slice(0, tab))]!.push(line.slice(tab + 1));
  }
  return out;
}

describe("kbin produce and kbin consume against kbin serve", () => {
  let broker: BrokerProcess;
  let b: string[];
  let dir: string;
  let seq = 0;

  before(async () => {
    broker = await startBrokerProcess({ args: ["--set", "num.partitions=3"] });
    b = ["-b", broker.bootstrap];
    dir = await mkdtemp(join(tmpdir(), "kbin-pc-"));
  });
  after(async () => {
    await broker?.[Symbol.asyncDispose]();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  let inputs = 0;
  /** Runs `kbin ARGS`, with `input` (if any) on stdin through a shell pipe, as `… | kbin produce` gets it. */
  async function kbin(args: string[], input?: string): Promise<Result> {
    if (input === undefined) return run(BUN, [MAIN, ...args], { timeoutMs: 30_000 });
    const file = join(dir, `input-${++inputs}.txt`);
    await writeFile(file, input);
    return run("sh", ["-c", 'f=$1; shift; cat "$f" | "$@"', "sh", file, BUN, MAIN, ...args], { timeoutMs: 30_000 });
  }

  async function topic(partitions = 3): Promise<string> {
    const name = `pc-${++seq}`;
    const r = await kbin(["topic", "create", name, "-p", String(partitions), ...b]);
    assert.equal(r.code, 0, show(r));
    return name;
  }

  for (const codec of ["none", "gzip", "snappy", "lz4", "zstd"]) {
    test(`1000 keyed lines with headers, compression ${codec}, come back byte-exact and in order per partition`, async () => {
      const name = await topic(3);
      const p = await kbin(
        [
          "produce",
          name,
          "--key-separator",
          ":",
          "-H",
          "source=e2e",
          "-H",
          "codec=" + codec,
          "--compression",
          codec,
          ...b,
        ],
        LINES.join("\n") + "\n",
      );
      assert.equal(p.code, 0, show(p));
      assert.equal(p.stdout, "");
      assert.match(p.stderr, new RegExp(`^Produced 1000 records to "${name}" in \\d+ ms`));
      const c = await kbin(["consume", name, "--from-beginning", "--exit", "-q", "-f", "%p\\t%k:%v\\t%h\\n", ...b]);
      assert.equal(c.code, 0, show(c));
      const got = byPartition(c.stdout, 3);
      const want = expectedByPartition(LINES, 3).map((lines) => lines.map((l) => `${l}\tsource=e2e,codec=${codec}`));
      assert.deepEqual(got, want);
    });
  }

  test("--file, --partition, --offset, --timestamp, -n and --exit select what is produced and read", async () => {
    const name = await topic(2);
    const path = join(dir, "ten.txt");
    await writeFile(path, Array.from({ length: 10 }, (_, i) => `r${i}`).join("\n") + "\n");
    const before = Date.now();
    assert.equal((await kbin(["produce", name, "--file", path, "--partition", "1", "-q", ...b])).code, 0);
    const all = await kbin(["consume", name, "--partition", "1", "--from-beginning", "-e", "-q", "-f", "%o=%v ", ...b]);
    assert.equal(all.stdout, Array.from({ length: 10 }, (_, i) => `${i}=r${i} `).join(""));
    const fromOffset = await kbin(["consume", name, "--partition", "1", "--offset", "7", "-e", "-q", ...b]);
    assert.equal(fromOffset.stdout, "r7\nr8\nr9\n");
    const last = await kbin(["consume", name, "--offset", "-2", "-e", "-q", ...b]);
    assert.equal(last.stdout, "r8\nr9\n");
    const two = await kbin(["consume", name, "--from-beginning", "-n", "2", "-q", ...b]);
    assert.equal(two.stdout, "r0\nr1\n");
    const byTime = await kbin(["consume", name, "--timestamp", String(before - 60_000), "-e", "-q", ...b]);
    assert.equal(byTime.stdout.split("\n").length - 1, 10);
    const future = await kbin(["consume", name, "--timestamp", String(Date.now() + 3_600_000), "-e", "-q", ...b]);
    assert.equal(future.stdout, "");
    const empty = await kbin(["consume", name, "--partition", "0", "--from-beginning", "-e", "-q", ...b]);
    assert.equal(empty.stdout, "");
  });

  test("kbin produce streams stdin: records go out while stdin is still open", async () => {
    const name = await topic(1);
    const child = spawn(BUN, [MAIN, "produce", name, ...b], { stdio: ["pipe", "pipe", "pipe"] });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    child.stdin.write("first\nsecond\n");
    const deadline = Date.now() + 10_000;
    let seen = "";
    while (seen !== "first\nsecond\n" && child.exitCode === null) {
      assert.ok(Date.now() < deadline, `records not produced while stdin is open:\n${err}`);
      seen = (await kbin(["consume", name, "--from-beginning", "-e", "-q", ...b])).stdout;
    }
    assert.equal(child.exitCode, null, `kbin produce exited early:\n${err}`);
    child.stdin.end("third\n");
    assert.equal(await exited, 0, err);
    assert.match(err, new RegExp(`Produced 3 records to "${name}"`));
  });

  test("kbin consume exits 0 on SIGINT after printing what it read", async () => {
    const name = await topic(1);
    assert.equal((await kbin(["produce", name, "-q", ...b], "one\ntwo\n")).code, 0);
    const child = spawn(BUN, [MAIN, "consume", name, "--from-beginning", ...b], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    await new Promise<void>((resolve) => {
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("two\n")) resolve();
      });
    });
    child.kill("SIGINT");
    const code = await exited;
    if (typeof (globalThis as { Bun?: unknown }).Bun !== "undefined") assert.equal(code, 0, err);
    assert.equal(out, "one\ntwo\n");
    assert.match(err, /Consumed 2 records/);
  });

  test("kbin produce and kbin consume of a missing topic fail with one line naming UNKNOWN_TOPIC_OR_PARTITION", async () => {
    oneLineError(
      await kbin(["produce", "nope", ...b], "x\n"),
      1,
      /^kbin: produce: Cannot produce to topic "nope": UNKNOWN_TOPIC_OR_PARTITION/,
    );
    oneLineError(
      await kbin(["consume", "nope", "-e", ...b]),
      1,
      /^kbin: consume: Cannot consume from topic "nope": UNKNOWN_TOPIC_OR_PARTITION/,
    );
  });

  test("kbin produce and kbin consume against an unreachable broker fail with one line", async () => {
    const dead = `127.0.0.1:${await closedPort()}`;
    oneLineError(
      await kbin(["produce", "t", "-b", dead], "x\n"),
      1,
      /^kbin: produce: Cannot reach any bootstrap broker/,
    );
    oneLineError(await kbin(["consume", "t", "-b", dead]), 1, /^kbin: consume: Cannot reach any bootstrap broker/);
  });

  describe("with kcat", { skip: NO_KCAT }, () => {
    async function kcat(args: string[], input = ""): Promise<string> {
      const r = await run(KCAT, ["-b", broker.bootstrap, ...args], { input, timeoutMs: 30_000 });
      assert.equal(r.code, 0, `kcat ${args.join(" ")}\n${show(r)}`);
      return r.stdout;
    }

    test("records from kbin produce read back the same with kcat -C -e: partitions, keys, values, headers", async () => {
      const name = await topic(3);
      const p = await kbin(
        ["produce", name, "--key-separator", ":", "-H", "h1=v1", "--compression", "lz4", "-q", ...b],
        LINES.join("\n") + "\n",
      );
      assert.equal(p.code, 0, show(p));
      const out = await kcat(["-C", "-t", name, "-e", "-q", "-f", "%p\t%k:%s\t%h\n"]);
      assert.deepEqual(byPartition(out, 3), expectedByPartition(LINES, 3).map((l) => l.map((x) => `${x}\th1=v1`)));
    });

    test("records from kcat -P read back the same with kbin consume, compressed or not", async () => {
      for (const codec of ["none", "snappy", "zstd"]) {
        const name = await topic(3);
        // librdkafka's murmur2 partitioner is Kafka's default one, so partitions must match ours.
        await kcat(
          ["-P", "-t", name, "-K", ":", "-H", "from=kcat", "-z", codec, "-X", "partitioner=murmur2"],
          LINES.join("\n") + "\n",
        );
        const c = await kbin(["consume", name, "--from-beginning", "-e", "-q", "-f", "%p\\t%k:%v\\t%h\\n", ...b]);
        assert.equal(c.code, 0, show(c));
        assert.deepEqual(
          byPartition(c.stdout, 3),
          expectedByPartition(LINES, 3).map((l) => l.map((x) => `${x}\tfrom=kcat`)),
          codec,
        );
      }
    });
  });
});
