/**
 * TLS through real clients against `kbin serve` with three listeners: PLAINTEXT (tools), SSL with
 * `ssl.client.auth=required` (mTLS, principal from the certificate subject through
 * `ssl.principal.mapping.rules`) and SASL_SSL with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 (kcat and
 * confluent-kafka); certificates made by openssl
 * (tests/support/certs.ts). kcat with a certificate from the trusted CA is served and mapped to
 * `User:alice`; without a certificate, or with one from another CA, it is refused; confluent-kafka
 * produces and consumes over SASL_SSL; a renewed server certificate is picked up without a restart.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrokerProcess, BUN, MAIN, startBrokerProcess } from "../../support/broker_process.ts";
import { makeTestCerts, type TestCerts } from "../../support/certs.ts";
import { kcatMissing, PYTHON, pythonMissing, run, runJsonDriver, waitFor } from "../shared/kbin.ts";

const CLIENT = fileURLToPath(new URL("./sasl_client.py", import.meta.url));
const MISSING = pythonMissing("confluent_kafka") || kcatMissing();

describe("TLS listeners through real clients", { skip: MISSING }, () => {
  let dataDir: string;
  let certs: TestCerts;
  let broker: BrokerProcess;
  let ssl = "";
  let saslSsl = "";
  let keystore = "";

  const f = (name: string) => join(certs.dir, name);
  const kcat = (args: string[], input?: string) => spawnSync("kcat", args, { input: input ?? "", timeout: 30_000 });

  before(async () => {
    certs = makeTestCerts();
    dataDir = await mkdtemp(join(tmpdir(), "kbin-tls-"));
    keystore = f("broker-keystore.pem");
    writeFileSync(keystore, certs.server.key + certs.server.cert);
    const local = await run(BUN, [MAIN, "user", "add", "alice", "--local", "--data-dir", dataDir, "--password-stdin"], {
      input: "alice-pw\n",
    });
    assert.equal(local.code, 0, local.stderr);
    broker = await startBrokerProcess({
      dataDir,
      args: [
        "--log-level",
        "debug",
        ...[
          "listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SASL_SSL://127.0.0.1:0",
          "ssl.keystore.type=PEM",
          `ssl.keystore.location=${keystore}`,
          "ssl.truststore.type=PEM",
          `ssl.truststore.location=${f("ca.pem")}`,
          "listener.name.ssl.ssl.client.auth=required",
          "ssl.principal.mapping.rules=RULE:^CN=([^,]*),O=Acme$/$1/L,DEFAULT",
          "listener.name.sasl_ssl.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
          "kbin.ssl.reload.check.ms=200",
        ].flatMap((s) => ["--set", s]),
      ],
    });
    const log = await waitFor("the TLS listeners' ports", () => /Listening listeners=(.*)/.exec(broker.log())?.[1]);
    ssl = `127.0.0.1:${/SSL=SSL:\/\/127\.0\.0\.1:(\d+)/.exec(log)![1]}`;
    saslSsl = `127.0.0.1:${/SASL_SSL=SASL_SSL:\/\/127\.0\.0\.1:(\d+)/.exec(log)![1]}`;
  });
  after(async () => {
    await broker?.[Symbol.asyncDispose]();
    await rm(dataDir, { recursive: true, force: true });
    certs?.remove();
  });

  test("mTLS: kcat with a certificate of the trusted CA produces and consumes, as the principal its subject maps to", async () => {
    const tls = ["-X", "security.protocol=SSL", "-X", `ssl.ca.location=${f("ca.pem")}`];
    const mine = ["-X", `ssl.certificate.location=${f("alice.pem")}`, "-X", `ssl.key.location=${f("alice.key")}`];
    const p = kcat(["-b", ssl, ...tls, ...mine, "-P", "-t", "tls-topic"], "secure-1\nsecure-2\n");
    assert.equal(p.status, 0, p.stderr.toString());
    const c = kcat(["-b", ssl, ...tls, ...mine, "-C", "-t", "tls-topic", "-e", "-q"]);
    assert.equal(c.status, 0, c.stderr.toString());
    assert.deepEqual(c.stdout.toString().trim().split("\n"), ["secure-1", "secure-2"]);
    await waitFor(
      "the broker's log of alice's certificate",
      () =>
        /TLS client authenticated by its certificate .*subject="?CN=alice,O=Acme"? principal=User:alice/.test(
          broker.log(),
        ) ||
        undefined,
    );
  });

  test("kbin's own commands speak mTLS with --command-config", async () => {
    const props = f("client.properties");
    writeFileSync(
      props,
      `security.protocol=SSL\nssl.truststore.location=${f("ca.pem")}\nssl.certificate.location=${
        f("alice.pem")
      }\nssl.key.location=${f("alice.key")}\n`,
    );
    const r = await run(BUN, [MAIN, "topic", "list", "-b", ssl, "--command-config", props], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /tls-topic/);
  });

  test("mTLS with ssl.client.auth=required refuses a client without a certificate and one from another CA", async () => {
    const tls = ["-X", "security.protocol=SSL", "-X", `ssl.ca.location=${f("ca.pem")}`];
    const none = kcat(["-b", ssl, ...tls, "-L", "-m", "2"]);
    assert.notEqual(none.status, 0, "no certificate: refused");
    const other = kcat([
      "-b",
      ssl,
      ...tls,
      "-X",
      `ssl.certificate.location=${f("mallory.pem")}`,
      "-X",
      `ssl.key.location=${f("mallory.key")}`,
      "-L",
      "-m",
      "2",
    ]);
    assert.notEqual(other.status, 0, "another CA's certificate: refused");
    assert.doesNotMatch(broker.log(), /principal=User:mallory/);
    await waitFor(
      "both refusals in the broker's log",
      () => (broker.log().match(/Failed TLS authentication/g) ?? []).length >= 2 || undefined,
    );
  });

  for (const mechanism of ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]) {
    test(`SASL_SSL with ${mechanism}: kcat produces and consumes; a wrong password is refused`, () => {
      const auth = (password: string) => [
        "-X",
        "security.protocol=SASL_SSL",
        "-X",
        `ssl.ca.location=${f("ca.pem")}`,
        "-X",
        `sasl.mechanisms=${mechanism}`,
        "-X",
        "sasl.username=alice",
        "-X",
        `sasl.password=${password}`,
      ];
      const topic = `kcat-sasl-ssl-${mechanism.toLowerCase()}`;
      const p = kcat(["-b", saslSsl, ...auth("alice-pw"), "-P", "-t", topic], "x1\nx2\n");
      assert.equal(p.status, 0, p.stderr.toString());
      const c = kcat(["-b", saslSsl, ...auth("alice-pw"), "-C", "-t", topic, "-e", "-q"]);
      assert.equal(c.status, 0, c.stderr.toString());
      assert.deepEqual(c.stdout.toString().trim().split("\n"), ["x1", "x2"]);
      const started = Date.now();
      const bad = kcat(["-b", saslSsl, ...auth("wrong"), "-L", "-m", "2"]);
      assert.notEqual(bad.status, 0, "a wrong password is refused");
      assert.match(bad.stderr.toString(), /Authentication failed|SASL authentication error/);
      assert.ok(Date.now() - started < 10_000, "and fails fast");
    });
  }

  for (const mechanism of ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]) {
    test(`SASL_SSL with ${mechanism}: confluent-kafka produces and consumes; a wrong password fails fast`, async () => {
      const base = { bootstrap: saslSsl, protocol: "SASL_SSL", ca: f("ca.pem"), mechanism, username: "alice" };
      const r = await runJsonDriver<{ results: { values?: string[]; error?: string | null; seconds?: number }[] }>(
        PYTHON,
        [CLIENT],
        {
          bootstrap: saslSsl,
          ops: [
            { op: "roundtrip", ...base, password: "alice-pw", topic: `sasl-ssl-${mechanism}`, values: ["p", "q"] },
            { op: "badlogin", ...base, password: "wrong" },
          ],
        },
        { broker, timeoutMs: 90_000 },
      );
      assert.deepEqual(r.results[0], { values: ["p", "q"] });
      assert.match(String(r.results[1]!.error), /SASL authentication error/);
      assert.ok(r.results[1]!.seconds! < 10);
    });
  }

  test("a renewed server certificate is picked up without a restart", async () => {
    const verifies = (ca: string) =>
      kcat([
        "-b",
        saslSsl,
        "-X",
        "security.protocol=SASL_SSL",
        "-X",
        `ssl.ca.location=${f(ca)}`,
        "-X",
        "sasl.mechanisms=SCRAM-SHA-512",
        "-X",
        "sasl.username=alice",
        "-X",
        "sasl.password=alice-pw",
        "-L",
        "-m",
        "2",
      ]).status === 0;
    assert.equal(verifies("ca.pem"), true);
    assert.equal(verifies("other_ca.pem"), false);
    writeFileSync(keystore, certs.serverOther.key + certs.serverOther.cert);
    await waitFor("the reload", () => /Reloaded a listener's TLS key and certificates/.test(broker.log()) || undefined);
    assert.equal(verifies("other_ca.pem"), true, "new connections get the new certificate");
    assert.equal(verifies("ca.pem"), false);
  });
});
