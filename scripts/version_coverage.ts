/**
 * Measures which API versions real clients use against kbin: runs the real-client and release
 * tests with `KBIN_VERSION_COVERAGE` set (every broker those tests start logs the versions it
 * served when it stops, and tests/support/broker_process.ts collects those lines per test file),
 * then prints, per API, the versions each client was served. With `--write`, replaces the
 * generated table in docs/compat.md between its coverage markers.
 *
 * Usage: bun scripts/version_coverage.ts [--write] [--verbose] [--keep FILE | --from FILE] [test paths…]
 *        (default paths: tests/compat tests/release; --verbose lists each test file's client ids;
 *        --keep saves the raw per-broker lines, --from aggregates saved lines without running tests)
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ALL_HANDLERS } from "../src/broker/handlers/mod.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const DOC = join(ROOT, "docs/compat.md");
const START = "<!-- coverage:start -->";
const END = "<!-- coverage:end -->";

/** Which client a test file drives. Files that drive kbin's own CLI or several clients are named so. */
const CLIENT_OF: [RegExp, string][] = [
  [/compat\/kcat\//, "kcat (librdkafka 2.0.2)"],
  [/compat\/confluent_kafka\//, "confluent-kafka-python (librdkafka 2.0.2)"],
  [/compat\/durability\//, "confluent-kafka-python (librdkafka 2.0.2)"],
  [/compat\/groups\/(librdkafka|admin|durability)_test/, "confluent-kafka-python (librdkafka 2.0.2)"],
  [/compat\/groups\/kafkajs_test/, "KafkaJS 2.2.4"],
  [/compat\/groups\/kafka_python_test/, "kafka-python 2.0"],
  [/compat\/kafka_python\//, "kafka-python 2.0"],
  [/compat\/kafkajs\//, "KafkaJS 2.2.4"],
  [/compat\/platformatic\//, "@platformatic/kafka 1.x"],
  [/compat\/sarama\//, "Sarama 1.22"],
  [/compat\/kafka_go\//, "kafka-go 0.2.1"],
  [/compat\/kip848\//, "librdkafka 2.12 (node-rdkafka)"],
  [/release\/runtimes_test/, "confluent-kafka-python (librdkafka 2.0.2)"],
];

function clientOf(testFile: string): string | null {
  for (const [re, name] of CLIENT_OF) if (re.test(testFile)) return name;
  return null; // kbin's own CLI, emulation runs (capped on purpose), mixed files
}

/**
 * The client a connection's client id names, where that is unambiguous; else the test file's
 * client. kbin's own CLI (set-up steps in many tests) is not a real client.
 */
function clientFor(clientId: string, fileClient: string | null): string | null {
  // "<client id> <software name>/<version>" when the client sent ApiVersions v3+ (KIP-511).
  if (/ kbin\//.test(clientId) || clientId === "kbin-cli") return null;
  if (/ confluent-kafka-python\//.test(clientId)) return "confluent-kafka-python (librdkafka 2.0.2)";
  if (/ librdkafka\/2\.12/.test(clientId)) return "librdkafka 2.12 (node-rdkafka)";
  if (/ librdkafka\/2\.0/.test(clientId)) return "kcat (librdkafka 2.0.2)";
  if (/ platformatic-kafka\//.test(clientId)) return "@platformatic/kafka 1.x";
  if (clientId.startsWith("kafka-python")) return "kafka-python 2.0";
  if (clientId === "kafkajs" || clientId.startsWith("kafkajs-")) return "KafkaJS 2.2.4";
  if (clientId.startsWith("sarama") || clientId.startsWith("kbin-compat-sarama")) return "Sarama 1.22";
  if (clientId.startsWith("kafka-go")) return "kafka-go 0.2.1";
  return fileClient;
}

const args = process.argv.slice(2);
const write = args.includes("--write");
const verbose = args.includes("--verbose");
const paths = args.filter((a, i) => !a.startsWith("--") && args[i - 1] !== "--from" && args[i - 1] !== "--keep");
const pairs = new Set<string>();
// --from FILE aggregates lines kept by an earlier --keep FILE run instead of running the tests.
const option = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const from = option("--from");
const keep = option("--keep");
let status = 0;
let lines: string[];
if (from !== undefined) {
  lines = readFileSync(from, "utf8").split("\n").filter((l) => l !== "");
} else {
  const dir = mkdtempSync(join(tmpdir(), "kbin-coverage-"));
  const file = join(dir, "coverage.jsonl");
  writeFileSync(file, "");
  const started = Date.now();
  const run = spawnSync(
    join(ROOT, "node_modules/.bin/bun"),
    ["test", "--timeout", "120000", ...(paths.length > 0 ? paths : ["tests/compat", "tests/release"])],
    { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, KBIN_VERSION_COVERAGE: file } },
  );
  status = run.status ?? 1;
  lines = readFileSync(file, "utf8").split("\n").filter((l) => l !== "");
  if (keep !== undefined) writeFileSync(keep, lines.join("\n") + "\n");
  rmSync(dir, { recursive: true, force: true });
  console.error(`version_coverage: ${lines.length} brokers measured in ${Math.round((Date.now() - started) / 1000)} s`);
}

/** api name → client → versions */
const seen = new Map<string, Map<string, Set<number>>>();
for (const line of lines) {
  const { testFile, versions } = JSON.parse(line) as { testFile: string; versions: string[] };
  const client = clientOf(testFile);
  for (const v of versions) {
    // clientId|Api:vN=count; kbin's own CLI (set-up steps in many tests) is not a real client.
    const m = /^([^|]*)\|(\w+):v(\d+)=/.exec(v);
    if (!m) continue;
    const clientId = decodeURIComponent(m[1]!);
    if (verbose) pairs.add(`${testFile} ${JSON.stringify(clientId)}`);
    const who = clientFor(clientId, client);
    if (who === null) continue;
    let byClient = seen.get(m[2]!);
    if (!byClient) seen.set(m[2]!, byClient = new Map());
    let set = byClient.get(who);
    if (!set) byClient.set(who, set = new Set());
    set.add(Number(m[3]));
  }
}

if (verbose) console.error([...pairs].sort().join("\n"));

/** "0–2, 4" for a set of versions. */
function ranges(set: Iterable<number>): string {
  const v = [...set].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < v.length;) {
    let j = i;
    while (j + 1 < v.length && v[j + 1] === v[j]! + 1) j++;
    out.push(i === j ? `${v[i]}` : `${v[i]}–${v[j]}`);
    i = j + 1;
  }
  return out.join(", ");
}

const rows = [
  "| key | API | served | used by real clients (versions) | used by no client here |",
  "| --- | --- | --- | --- | --- |",
];
for (const h of [...ALL_HANDLERS].sort((a, b) => a.api.apiKey - b.api.apiKey)) {
  const byClient = seen.get(h.api.name) ?? new Map<string, Set<number>>();
  const used = new Set<number>();
  for (const s of byClient.values()) for (const v of s) used.add(v);
  const clients = [...byClient.entries()].sort(([a], [b]) => a.localeCompare(b))
    .map(([c, s]) => `${c}: ${ranges(s)}`).join("; ");
  const unused: number[] = [];
  for (let v = h.minVersion; v <= h.maxVersion; v++) if (!used.has(v)) unused.push(v);
  rows.push(
    `| ${h.api.apiKey} | ${h.api.name} | ${h.minVersion}–${h.maxVersion} | ${clients || "—"} | ${
      unused.length > 0 ? ranges(unused) : "—"
    } |`,
  );
}
const table = rows.join("\n");
console.log(table);
if (write) {
  const doc = readFileSync(DOC, "utf8");
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error(`Cannot update ${DOC}: no ${START} … ${END} markers`);
  const stamp = `Measured ${new Date().toISOString().slice(0, 10)} with \`bun scripts/version_coverage.ts --write\` ` +
    `(${lines.length} brokers; test run exit status ${status}).`;
  writeFileSync(DOC, `${doc.slice(0, a + START.length)}\n\n${stamp}\n\n${table}\n\n${doc.slice(b)}`);
  // Keep the file as `deno fmt --check` (part of the test command) wants it.
  spawnSync(join(ROOT, "node_modules/.bin/deno"), ["fmt", DOC], { cwd: ROOT, stdio: "ignore" });
  console.error(`version_coverage: wrote ${DOC}`);
}
process.exit(status);
