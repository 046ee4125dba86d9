/**
 * Produce throughput over SASL_SSL (SCRAM-SHA-512, TLS) as a ratio to PLAINTEXT, measured in one
 * run against one kbin with both listeners, and SASL_SSL handshakes per second (TCP + TLS +
 * ApiVersions + SCRAM, with kbin's own client) beside PLAINTEXT connections per second.
 * librdkafka's `rdkafka_bench` produces (1 KiB, acks=all, one producer); the sides alternate,
 * REPEATS runs of SECONDS each, and each SASL_SSL run is divided by the PLAINTEXT run before it.
 *
 * Usage: bash scripts/bench/run.sh security [SECONDS] [REPEATS]
 * Environment: KBIN_BIN (the kbin executable), KBIN_BENCH_TOOL (rdkafka_bench), set by run.sh.
 *
 * @module
 */

import { writeFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KafkaConnection } from "../../src/client/connection.ts";
import { connect } from "../../src/runtime/bun/net.ts";
import { makeTestCerts } from "../../tests/support/certs.ts";
import { BenchLogs } from "./proc.ts";

const SECONDS = Number(process.argv[2] ?? 5);
const REPEATS = Number(process.argv[3] ?? 3);
const HANDSHAKE_SECONDS = 3;
const ROOT = new URL("../..", import.meta.url).pathname;
const TOOL = process.env["KBIN_BENCH_TOOL"] ?? join(ROOT, ".cache/bench/rdkafka_bench");
const kbin = process.env["KBIN_BIN"] ? [process.env["KBIN_BIN"]] : ["bun", join(ROOT, "src/runtime/bun/main.ts")];
const log = (s: string) => process.stderr.write(`security: ${s}\n`);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const certs = makeTestCerts();
const cache = join(ROOT, ".cache/bench/logs");
await mkdir(cache, { recursive: true });
const logs = new BenchLogs(await mkdtemp(join(cache, "security-")));
const dataDir = await mkdtemp(join(process.env["TMPDIR"] ?? tmpdir(), "kbin-bench-sec-"));
const keystore = join(certs.dir, "broker.pem");
writeFileSync(keystore, certs.server.key + certs.server.cert);
const [plainPort, securePort] = [await freePort(), await freePort()];
const password = "bench-password";
const add = Bun.spawn([...kbin, "user", "add", "bench", "--local", "--data-dir", dataDir, "--password-stdin"], {
  stdin: new TextEncoder().encode(`${password}\n`),
});
if ((await add.exited) !== 0) throw new Error("Cannot create the bench user");
const server = await logs.startServer(
  [
    ...kbin,
    "serve",
    "--data-dir",
    dataDir,
    "--log-level",
    "warn",
    ...[
      `listeners=PLAINTEXT://127.0.0.1:${plainPort},SASL_SSL://127.0.0.1:${securePort}`,
      "advertised.listeners=" + `PLAINTEXT://127.0.0.1:${plainPort},SASL_SSL://127.0.0.1:${securePort}`,
      "ssl.keystore.type=PEM",
      `ssl.keystore.location=${keystore}`,
      "sasl.enabled.mechanisms=SCRAM-SHA-512",
    ].flatMap((s) => ["--set", s]),
  ],
  "kbin",
);
const secure = [
  "-X",
  "security.protocol=SASL_SSL",
  "-X",
  "sasl.mechanisms=SCRAM-SHA-512",
  "-X",
  "sasl.username=bench",
  "-X",
  `sasl.password=${password}`,
  "-X",
  `ssl.ca.location=${join(certs.dir, "ca.pem")}`,
];
type Produced = { mb_per_s: number; records_per_s: number; p50_ms: number; p99_ms: number };
const results: { side: "PLAINTEXT" | "SASL_SSL"; r: Produced }[] = [];
let handshakes = { plain: 0, secure: 0 };
try {
  for (let i = 0; i < REPEATS; i++) {
    for (const side of ["PLAINTEXT", "SASL_SSL"] as const) {
      const port = side === "PLAINTEXT" ? plainPort : securePort;
      const args = [
        "produce",
        "-b",
        `127.0.0.1:${port}`,
        "-t",
        `bench-${side}-${i}`,
        "-d",
        String(SECONDS),
        "-a",
        "all",
        "-s",
        "1024",
        "-q",
        ...(side === "SASL_SSL" ? secure : []),
      ];
      const { code, stdout } = await logs.run([TOOL, ...args], `produce-${side}`, SECONDS + 60);
      const line = stdout.trim().split("\n").findLast((l) => l.startsWith("{"));
      if (code !== 0 || !line) throw new Error(`rdkafka_bench failed on ${side} (exit ${code}; logs in ${logs.dir})`);
      const r = JSON.parse(line) as Produced;
      log(`${side} run ${i + 1}: ${r.mb_per_s.toFixed(1)} MB/s`);
      results.push({ side, r });
    }
  }
  // Connections per second: a full SASL_SSL login each (TLS, ApiVersions, SCRAM) against PLAINTEXT's ApiVersions.
  const count = async (secureSide: boolean) => {
    let n = 0;
    const end = performance.now() + HANDSHAKE_SECONDS * 1000;
    while (performance.now() < end) {
      const c = await KafkaConnection.open("127.0.0.1", secureSide ? securePort : plainPort, {
        connect,
        ...(secureSide
          ? {
            tls: { ca: certs.ca.cert },
            sasl: { mechanism: "SCRAM-SHA-512" as const, username: "bench", password },
          }
          : {}),
      });
      c.close();
      n++;
    }
    return n / HANDSHAKE_SECONDS;
  };
  handshakes = { plain: await count(false), secure: await count(true) };
} finally {
  await server.stop();
  await rm(dataDir, { recursive: true, force: true });
  certs.remove();
}

const of = (side: string) => results.filter((x) => x.side === side).map((x) => x.r);
const plain = of("PLAINTEXT");
const sec = of("SASL_SSL");
const ratios = sec.map((s, i) => s.mb_per_s / plain[i]!.mb_per_s);
const row = (name: string, rs: Produced[]) =>
  `| ${name} | ${median(rs.map((r) => r.mb_per_s)).toFixed(1)} (runs: ${
    rs.map((r) => r.mb_per_s.toFixed(1)).join(", ")
  }) | ${median(rs.map((r) => r.records_per_s)).toFixed(0)} | ${median(rs.map((r) => r.p50_ms)).toFixed(2)} | ${
    median(rs.map((r) => r.p99_ms)).toFixed(2)
  } |`;
console.log(
  [
    `Produce over SASL_SSL (SCRAM-SHA-512, TLS) and PLAINTEXT: librdkafka rdkafka_bench, 1 KiB, acks=all, one producer, ${REPEATS} × ${SECONDS} s per side, alternating`,
    "",
    "| listener | MB/s | records/s | p50 ms | p99 ms |",
    "| -------- | ---- | --------- | ------ | ------ |",
    row("PLAINTEXT", plain),
    row("SASL_SSL", sec),
    "",
    `Ratio SASL_SSL / PLAINTEXT (each run over the PLAINTEXT run before it): ${median(ratios).toFixed(2)} (runs: ${
      ratios.map((r) => r.toFixed(2)).join(", ")
    })`,
    `Connections per second with kbin's client: SASL_SSL (TCP + TLS + ApiVersions + SCRAM-SHA-512) ${
      handshakes.secure.toFixed(0)
    }/s, PLAINTEXT (TCP + ApiVersions) ${handshakes.plain.toFixed(0)}/s`,
  ].join("\n"),
);
