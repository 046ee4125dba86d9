/**
 * Tests for src/broker/kafka_releases.ts: the table of what each Kafka release advertised, held
 * against the two spec sets beside the checkout and against facts known independently of both.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  KAFKA_RELEASES,
  parseKafkaRelease,
  type ReleaseApi,
  releaseApiVersions,
} from "../../../src/broker/kafka_releases.ts";

/** Apache Kafka 4.3.1's specs. */
const SPEC_DIR = new URL("../../../../shared/kafka-protocol-4.3/", import.meta.url);
/** Kafka trunk of 2024-10-25 (4.0.0-SNAPSHOT): still defines every version 3.9 served. */
const OLD_SPEC_DIR = new URL("../../../../shared/kafka-protocol/", import.meta.url);

interface ApiEntry {
  apiKey: number;
  name: string;
  minVersion: number;
  maxVersion: number;
  listeners: string[];
  latestVersionUnstable?: boolean;
  requestFile: string;
}

function readApis(dir: URL): ApiEntry[] {
  return JSON.parse(readFileSync(new URL("apis.json", dir), "utf8"));
}

type Ranges = Map<number, { minVersion: number; maxVersion: number }>;

/** A table's entries without `refusedVersions`, for comparing with what a spec set implies. */
function ranges(release: string): Ranges {
  const out: Ranges = new Map();
  for (const [key, api] of releaseApiVersions(release)) {
    out.set(key, { minVersion: api.minVersion, maxVersion: api.maxVersion });
  }
  return out;
}

/** The telemetry APIs, listed only when a client-telemetry reporter is configured. */
const TELEMETRY_KEYS = new Set([71, 72]);

/**
 * What a 4.x broker listener advertises for a spec entry with versions `min`–`max`: the top
 * version is held back while unstable, and Produce is listed from v0 (KAFKA-18659).
 */
function advertised(key: number, min: number, max: number, unstable: boolean) {
  const maxVersion = unstable ? max - 1 : max;
  if (maxVersion < min) return undefined;
  return { minVersion: key === 0 ? 0 : min, maxVersion };
}

test("KAFKA_RELEASES lists every release from 0.10.0 to 4.3 in order", () => {
  assert.deepEqual(KAFKA_RELEASES, [
    "0.10.0",
    "0.10.1",
    "0.10.2",
    "0.11.0",
    "1.0",
    "1.1",
    ...[0, 1, 2, 3, 4, 5, 6, 7, 8].map((minor) => `2.${minor}`),
    ...[0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((minor) => `3.${minor}`),
    "4.0",
    "4.1",
    "4.2",
    "4.3",
  ]);
});

test("parseKafkaRelease() accepts releases with or without a patch number or a leading v", () => {
  const cases: [string, string][] = [
    ["2.8", "2.8"],
    ["2.8.0", "2.8"],
    ["2.8.1", "2.8"],
    ["v2.8", "2.8"],
    ["0.10.0", "0.10.0"],
    ["0.10.0.1", "0.10.0"],
    ["0.10.2.2", "0.10.2"],
    ["v0.11.0.3", "0.11.0"],
    ["1.0.2", "1.0"],
    ["3.9.1", "3.9"],
    ["4.0", "4.0"],
    ["4.3.1", "4.3"],
  ];
  for (const [text, release] of cases) assert.equal(parseKafkaRelease(text), release, text);
  for (const release of KAFKA_RELEASES) assert.equal(parseKafkaRelease(release), release);
});

test("parseKafkaRelease() rejects unknown releases with a RangeError that lists the accepted ones", () => {
  const rejected = ["0.9", "0.9.0.1", "0.8.2", "0.10", "5.0", "4.4", "1.2", "abc", "", "2", "2.8.1.1", " 2.8", "V2.8"];
  for (const text of rejected) {
    assert.throws(() => parseKafkaRelease(text), (error: unknown) => {
      assert.ok(error instanceof RangeError, text);
      assert.match(error.message, /^Cannot use Kafka release "/);
      assert.ok(error.message.includes(`"${text}"`), error.message);
      assert.ok(error.message.includes("0.10.0, 0.10.1, 0.10.2, 0.11.0, 1.0, 1.1, 2.0"), error.message);
      assert.ok(error.message.includes("3.9, 4.0, 4.1, 4.2, 4.3"), error.message);
      assert.ok(!error.message.endsWith("."), error.message);
      return true;
    });
  }
});

test("releaseApiVersions() accepts any text parseKafkaRelease() accepts and rejects the rest", () => {
  assert.equal(releaseApiVersions("2.8.1"), releaseApiVersions("2.8"));
  assert.equal(releaseApiVersions("v0.10.2.2"), releaseApiVersions("0.10.2"));
  assert.throws(() => releaseApiVersions("0.9.0"), RangeError);
  assert.throws(() => releaseApiVersions("5.0"), RangeError);
});

test("releaseApiVersions() returns frozen entries in key order", () => {
  for (const release of KAFKA_RELEASES) {
    const keys = [...releaseApiVersions(release).keys()];
    assert.deepEqual(keys, [...keys].sort((a, b) => a - b), release);
    for (const api of releaseApiVersions(release).values()) {
      assert.ok(Object.isFrozen(api), release);
      assert.ok(api.minVersion <= api.maxVersion, release);
    }
  }
});

test("releaseApiVersions() for 4.3 equals what Kafka 4.3.1's specs advertise", () => {
  const expected: Ranges = new Map();
  for (const api of readApis(SPEC_DIR)) {
    // Keys 4–7 have no listeners; controller-only APIs lack "broker".
    if (!api.listeners.includes("broker") || TELEMETRY_KEYS.has(api.apiKey)) continue;
    const range = advertised(api.apiKey, api.minVersion, api.maxVersion, api.latestVersionUnstable === true);
    if (range) expected.set(api.apiKey, range);
  }
  assert.equal(expected.size, 75);
  assert.deepEqual(ranges("4.3"), expected);
  assert.equal(releaseApiVersions("4.3").get(22)?.maxVersion, 5, "InitProducerId v6 is unstable");
});

test("releaseApiVersions() for 4.0, 4.1 and 4.2 matches the per-release columns of the 4.3.1 README", () => {
  // The README's table of changed keys gives validVersions at 4.0.0, 4.1.0 and 4.2.0, with " U"
  // where the top version was unstable; keys missing from that table kept the 4.3.1 range.
  const readme = readFileSync(new URL("README.md", SPEC_DIR), "utf8");
  const start = readme.indexOf("**API keys whose definition changed");
  const end = readme.indexOf("**API keys with identical version ranges");
  assert.ok(start > 0 && end > start, "README sections not found");
  const columns = new Map<number, string[]>();
  for (const line of readme.slice(start, end).split("\n")) {
    const cells = line.split("|").map((cell) => cell.trim());
    if (!/^\d+$/.test(cells[1] ?? "")) continue;
    columns.set(Number(cells[1]), [cells[4]!, cells[5]!, cells[6]!]);
  }
  assert.equal(columns.size, 56);
  const apis = readApis(SPEC_DIR);
  ["4.0", "4.1", "4.2"].forEach((release, column) => {
    const expected: Ranges = new Map();
    for (const api of apis) {
      if (!api.listeners.includes("broker") || TELEMETRY_KEYS.has(api.apiKey)) continue;
      const cell = columns.get(api.apiKey)?.[column];
      let range;
      if (cell === undefined) {
        range = advertised(api.apiKey, api.minVersion, api.maxVersion, api.latestVersionUnstable === true);
      } else if (cell !== "—" && cell !== "none") {
        const m = /^(\d+)(?:-(\d+))?( U)?$/.exec(cell);
        assert.ok(m, `cannot read README cell "${cell}" for key ${api.apiKey}`);
        range = advertised(api.apiKey, Number(m[1]), Number(m[2] ?? m[1]), m[3] !== undefined);
      }
      if (range) expected.set(api.apiKey, range);
    }
    assert.deepEqual(ranges(release), expected, release);
  });
});

test("releaseApiVersions() lists Produce v0–2 as refused in every 4.x release and nothing else as refused", () => {
  for (const release of KAFKA_RELEASES) {
    for (const [key, api] of releaseApiVersions(release)) {
      if (release.startsWith("4.") && key === 0) {
        assert.equal(api.minVersion, 0, release);
        assert.deepEqual(api.refusedVersions, [0, 2], release);
      } else {
        assert.equal(api.refusedVersions, undefined, `${release} key ${key}`);
      }
    }
  }
});

test("releaseApiVersions() never lists the telemetry APIs 71 and 72", () => {
  for (const release of KAFKA_RELEASES) {
    for (const key of TELEMETRY_KEYS) assert.ok(!releaseApiVersions(release).has(key), `${release} key ${key}`);
  }
});

test("releaseApiVersions() for 0.10.0 to 3.9 stays within the 2024-10-25 specs' versions", () => {
  const specs = new Map(readApis(OLD_SPEC_DIR).map((api) => [api.apiKey, api]));
  for (const release of KAFKA_RELEASES.filter((r) => !r.startsWith("4."))) {
    for (const [key, api] of releaseApiVersions(release)) {
      const spec = specs.get(key);
      assert.ok(spec, `${release}: key ${key} is not in the 2024-10-25 specs`);
      assert.ok(spec.listeners.includes("zkBroker"), `${release}: ${spec.name} is not a ZooKeeper-broker API`);
      assert.ok(
        api.minVersion >= spec.minVersion && api.maxVersion <= spec.maxVersion,
        `${release}: ${spec.name} ${api.minVersion}–${api.maxVersion} outside ${spec.minVersion}–${spec.maxVersion}`,
      );
    }
  }
});

test("releaseApiVersions() for 3.9 has the 2024-10-25 specs' ZooKeeper-broker keys and maxima", () => {
  // Bumps the snapshot already had but 3.9 did not ship. Their version-history comments name
  // KIPs of 4.0; the two unstable ones (EndTxn v5, ConsumerGroupHeartbeat v1) are held back by
  // the unstable rule already.
  const after39 = new Map([
    [2, "Version 10 enables async remote list offsets support (KIP-1075)"],
    [57, "Version 2 changes the response to not return feature level results"],
  ]);
  const expected: Ranges = new Map();
  for (const spec of readApis(OLD_SPEC_DIR)) {
    if (!spec.listeners.includes("zkBroker")) continue;
    const unstable = spec.latestVersionUnstable === true;
    let maxVersion = unstable ? spec.maxVersion - 1 : spec.maxVersion;
    const comment = after39.get(spec.apiKey);
    if (comment !== undefined) {
      const text = readFileSync(new URL(spec.requestFile, OLD_SPEC_DIR), "utf8");
      assert.ok(text.includes(comment), `${spec.name}: ${comment}`);
      maxVersion -= 1;
    }
    expected.set(spec.apiKey, { minVersion: spec.minVersion, maxVersion });
  }
  assert.deepEqual(ranges("3.9"), expected);
});

test("releaseApiVersions() only grows from one release to the next, apart from listed exceptions", () => {
  // ZooKeeper's controller APIs left with ZooKeeper in 4.0; AlterPartition, Envelope and
  // AllocateProducerIds became controller-only.
  const removedIn40 = new Set([4, 5, 6, 7, 56, 58, 67]);
  // Kafka 4.0 removed old versions (KIP-896). Produce stayed listed from v0 (KAFKA-18659).
  const raisedMinIn40 = new Map([
    [1, 4],
    [2, 1],
    [8, 2],
    [9, 1],
    [11, 2],
    [19, 2],
    [20, 1],
    [23, 2],
    [27, 1],
    [29, 1],
    [30, 1],
    [31, 1],
    [32, 1],
    [34, 1],
    [35, 1],
    [38, 1],
    [39, 1],
    [40, 1],
    [41, 1],
  ]);
  // Lowered minima: ControlledShutdown v0 listed from 1.0 on (KAFKA-2507), JoinGroup v0–1 put
  // back in 4.1 (KAFKA-19444).
  const loweredMin = new Map([["1.0", new Map([[7, 0]])], ["4.1", new Map([[11, 0]])]]);
  const seenMinChanges: string[] = [];
  for (let i = 1; i < KAFKA_RELEASES.length; i++) {
    const before = KAFKA_RELEASES[i - 1]!;
    const release = KAFKA_RELEASES[i]!;
    const prev = releaseApiVersions(before);
    const next = releaseApiVersions(release);
    for (const [key, old] of prev) {
      const now: ReleaseApi | undefined = next.get(key);
      if (!now) {
        assert.ok(release === "4.0" && removedIn40.has(key), `${release} dropped key ${key}`);
        continue;
      }
      assert.ok(now.maxVersion >= old.maxVersion, `${release} lowered the max of key ${key}`);
      if (now.minVersion === old.minVersion) continue;
      seenMinChanges.push(`${release}:${key}`);
      const expected = release === "4.0" ? raisedMinIn40.get(key) : loweredMin.get(release)?.get(key);
      assert.equal(now.minVersion, expected, `${release} moved the min of key ${key} from ${old.minVersion}`);
    }
  }
  assert.equal(seenMinChanges.length, raisedMinIn40.size + 2);
  for (const key of removedIn40) assert.ok(!releaseApiVersions("4.0").has(key));
});

test("releaseApiVersions() agrees with facts known independently of the spec files", () => {
  const facts: [string, number, number, number][] = [
    // release, key, min, max
    ["0.10.0", 18, 0, 0], // ApiVersions v0 (KIP-35)
    ["0.10.0", 0, 0, 2], // Produce v2
    ["0.10.0", 1, 0, 2], // Fetch v2
    ["0.10.0", 7, 1, 1], // ControlledShutdown v1 only
    ["0.10.1", 19, 0, 0], // CreateTopics appears
    ["0.10.2", 9, 0, 2], // OffsetFetch v2 (KIP-88)
    ["0.11.0", 0, 0, 3], // Produce v3, message format v2
    ["0.11.0", 22, 0, 0], // InitProducerId appears
    ["1.0", 0, 0, 5],
    ["1.1", 1, 0, 7], // incremental fetch (KIP-227)
    ["2.0", 0, 0, 6], // Produce
    ["2.0", 1, 0, 8], // Fetch
    ["2.0", 3, 0, 6], // Metadata
    ["2.0", 18, 0, 2], // ApiVersions
    ["2.1", 0, 0, 7], // zstd
    ["2.1", 1, 0, 10],
    ["2.4", 18, 0, 3], // flexible ApiVersions
    ["2.8", 4, 0, 5], // LeaderAndIsr still listed by ZooKeeper brokers
    ["3.0", 3, 0, 11],
    ["3.9", 8, 0, 9], // OffsetCommit
    ["3.9", 1, 0, 17], // Fetch
    ["3.9", 18, 0, 4],
    ["4.0", 8, 2, 9], // OffsetCommit min 2 (KIP-896)
    ["4.0", 11, 2, 9], // JoinGroup in 4.0.0
    ["4.1", 11, 0, 9],
    ["4.0", 0, 0, 12],
    ["4.1", 0, 0, 13],
    ["4.1", 76, 1, 1], // ShareGroupHeartbeat starts at v1
    ["4.3", 35, 1, 5], // DescribeLogDirs
  ];
  for (const [release, key, minVersion, maxVersion] of facts) {
    const api = releaseApiVersions(release).get(key);
    assert.ok(api, `${release} key ${key} missing`);
    assert.deepEqual(
      { minVersion: api.minVersion, maxVersion: api.maxVersion },
      { minVersion, maxVersion },
      `${release} key ${key}`,
    );
  }
  const absent: [string, number][] = [
    ["0.10.0", 19], // CreateTopics came in 0.10.1
    ["0.11.0", 34], // AlterReplicaLogDirs came in 1.0
    ["2.7", 52], // Vote was in ApiKeys but disabled
    ["3.9", 55], // DescribeQuorum: KRaft only
    ["3.9", 75], // DescribeTopicPartitions: KRaft only
    ["4.0", 4], // LeaderAndIsr gone with ZooKeeper
    ["4.0", 76], // share groups unstable in 4.0
    ["4.1", 88], // streams groups unstable in 4.1
  ];
  for (const [release, key] of absent) assert.ok(!releaseApiVersions(release).has(key), `${release} key ${key}`);
  assert.equal(releaseApiVersions("0.10.0").size, 19);
  assert.equal(releaseApiVersions("3.9").size, 62);
});
