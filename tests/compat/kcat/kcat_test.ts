/**
 * kcat (librdkafka) against `kbin serve`: metadata listing, topic auto-creation and the
 * ApiVersions handshake. What is covered and knowingly skipped: ALLOWLIST.md; gaps: FINDINGS.md.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type BrokerProcess, BUN, MAIN, run, startBrokerProcess } from "../../support/broker_process.ts";
import { kcatMissing } from "../shared/kbin.ts";

const KCAT = "kcat";
const MISSING = kcatMissing();

/** `kcat -J` metadata output. */
interface KcatMetadata {
  originating_broker: { id: number; name: string };
  controllerid: number;
  brokers: { id: number; name: string }[];
  topics: {
    topic: string;
    error?: string;
    partitions: { partition: number; leader: number; replicas: { id: number }[]; isrs: { id: number }[] }[];
  }[];
}

async function kcat(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const r = await run(KCAT, args, { timeoutMs: 30_000 });
  assert.equal(r.code, 0, `kcat ${args.join(" ")} exited with ${r.code}:\n${r.stderr}`);
  return r;
}

async function kcatMetadata(broker: BrokerProcess, ...args: string[]): Promise<KcatMetadata> {
  const { stdout } = await kcat(["-L", "-J", "-m", "10", "-b", broker.bootstrap, ...args]);
  return JSON.parse(stdout) as KcatMetadata;
}

async function kbin(broker: BrokerProcess, ...args: string[]): Promise<string> {
  const r = await run(BUN, [MAIN, ...args, "-b", broker.bootstrap]);
  assert.equal(r.code, 0, `kbin ${args.join(" ")} exited with ${r.code}:\n${r.stderr}`);
  return r.stdout;
}

function partitionCounts(md: KcatMetadata): Record<string, number> {
  return Object.fromEntries(md.topics.map((t) => [t.topic, t.partitions.length]));
}

describe("kcat against a broker with num.partitions=3", { skip: MISSING }, () => {
  let broker: BrokerProcess;
  before(async () => {
    broker = await startBrokerProcess({ args: ["--set", "num.partitions=3"] });
  });
  after(async () => {
    await broker?.[Symbol.asyncDispose]();
  });

  test("kcat -L -J lists the broker's node id, host and port, and it as controller", async () => {
    const md = await kcatMetadata(broker);
    assert.deepEqual(md.brokers, [{ id: 1, name: `${broker.host}:${broker.port}` }]);
    assert.equal(md.controllerid, 1);
    assert.equal(md.originating_broker.id, 1);
  });

  test("kcat -L -J lists topics created by kbin topic create with their partition counts", async () => {
    await kbin(broker, "topic", "create", "kcat-orders", "-p", "2");
    await kbin(broker, "topic", "create", "kcat-payments", "-p", "5");
    const md = await kcatMetadata(broker);
    const counts = partitionCounts(md);
    assert.equal(counts["kcat-orders"], 2, JSON.stringify(md));
    assert.equal(counts["kcat-payments"], 5, JSON.stringify(md));
    for (const t of md.topics) {
      assert.equal(t.error, undefined, `topic ${t.topic} has an error: ${t.error}`);
      assert.deepEqual(
        t.partitions.map((p) => p.partition).sort((a, b) => a - b),
        [...t.partitions.keys()],
        `partition ids of ${t.topic} are not 0..n-1`,
      );
      for (const p of t.partitions) {
        assert.equal(p.leader, 1, `${t.topic}/${p.partition} leader`);
        assert.deepEqual(p.replicas, [{ id: 1 }], `${t.topic}/${p.partition} replicas`);
        assert.deepEqual(p.isrs, [{ id: 1 }], `${t.topic}/${p.partition} isrs`);
      }
    }
  });

  test("kcat -L -t auto-creates a missing topic with num.partitions partitions", async () => {
    const md = await kcatMetadata(broker, "-t", "kcat-auto");
    assert.equal(md.topics.length, 1, JSON.stringify(md));
    assert.equal(md.topics[0]!.topic, "kcat-auto");
    assert.equal(md.topics[0]!.error, undefined, JSON.stringify(md));
    assert.equal(md.topics[0]!.partitions.length, 3, JSON.stringify(md));
    const listed = (await kbin(broker, "topic", "list")).split("\n");
    assert.ok(listed.includes("kcat-auto"), `kbin topic list does not show kcat-auto:\n${listed.join("\n")}`);
  });

  test("kcat -X api.version.request=true negotiates ApiVersions without an error or a disconnect", async () => {
    const { stderr } = await kcat([
      "-L",
      "-m",
      "10",
      "-b",
      broker.bootstrap,
      "-X",
      "api.version.request=true",
      "-d",
      "protocol,feature,broker",
    ]);
    assert.match(stderr, /Sent ApiVersionRequest \(v\d+/);
    assert.match(stderr, /Received ApiVersionResponse \(v\d+/);
    assert.match(stderr, /ApiKey Metadata \(3\) Versions 0\.\.\d+/);
    assert.match(stderr, /Enabling feature ApiVersion\b/);
    assert.match(stderr, /Received MetadataResponse \(v\d+/);
    const bad = stderr.split("\n").filter((line) =>
      /UNSUPPORTED|Disconnected|ApiVersionRequest failed|Retrying ApiVersionRequest|Connection refused|timed out/i
        .test(line)
    );
    assert.deepEqual(bad, [], "librdkafka logged a failed negotiation");
  });
});

describe("kcat against a broker with auto.create.topics.enable=false", { skip: MISSING }, () => {
  let broker: BrokerProcess;
  before(async () => {
    broker = await startBrokerProcess({ args: ["--set", "auto.create.topics.enable=false"] });
  });
  after(async () => {
    await broker?.[Symbol.asyncDispose]();
  });

  test("kcat -L -t reports a missing topic as unknown and does not create it", async () => {
    const md = await kcatMetadata(broker, "-t", "kcat-never");
    assert.equal(md.topics.length, 1, JSON.stringify(md));
    assert.equal(md.topics[0]!.error, "Broker: Unknown topic or partition", JSON.stringify(md));
    assert.deepEqual(md.topics[0]!.partitions, []);
    const all = await kcatMetadata(broker);
    assert.deepEqual(all.topics, [], "the broker created the topic anyway");
  });
});
