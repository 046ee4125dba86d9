/**
 * SASL/OAUTHBEARER through librdkafka (confluent-kafka-python): librdkafka's own unsecured JWT
 * against a broker without a JWKS (development mode), and an RS256 token signed by the test,
 * handed over by `oauth_cb`, against a broker that validates with a JWKS file, issuer and
 * audience; a token signed by another key, an expired one and one for another audience fail fast.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrokerProcess, startBrokerProcess } from "../../support/broker_process.ts";
import { PYTHON, pythonMissing, runJsonDriver, waitFor } from "../shared/kbin.ts";

const CLIENT = fileURLToPath(new URL("./sasl_client.py", import.meta.url));
const MISSING = pythonMissing("confluent_kafka");

const b64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replaceAll("=", "");
const json64 = (v: unknown) => b64url(new TextEncoder().encode(JSON.stringify(v)));

async function signer(kid: string) {
  const pair = await crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  );
  const jwk = { ...(await crypto.subtle.exportKey("jwk", pair.publicKey)), kid, alg: "RS256", use: "sig" };
  const sign = async (claims: Record<string, unknown>) => {
    const input = `${json64({ alg: "RS256", typ: "JWT", kid })}.${json64(claims)}`;
    const sig = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", pair.privateKey, new TextEncoder().encode(input));
    return `${input}.${b64url(new Uint8Array(sig))}`;
  };
  return { jwk, sign };
}

async function saslPort(broker: BrokerProcess): Promise<string> {
  const log = await waitFor(
    "the SASL listener",
    () => /SASL_PLAINTEXT=SASL_PLAINTEXT:\/\/127\.0\.0\.1:(\d+)/.exec(broker.log()) ?? undefined,
  );
  return `127.0.0.1:${log[1]}`;
}

type Result = { values?: string[]; error?: string | null; seconds?: number };

describe("SASL/OAUTHBEARER through librdkafka", { skip: MISSING }, () => {
  let dir: string;
  let unsecured: BrokerProcess;
  let signed: BrokerProcess;
  const listeners = [
    "--set",
    "listeners=PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
    "--set",
    "sasl.enabled.mechanisms=OAUTHBEARER",
  ];
  let good: Awaited<ReturnType<typeof signer>>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "kbin-oauth-"));
    good = await signer("key-1");
    writeFileSync(join(dir, "jwks.json"), JSON.stringify({ keys: [good.jwk] }));
    unsecured = await startBrokerProcess({ dataDir: join(dir, "a"), args: listeners });
    signed = await startBrokerProcess({
      dataDir: join(dir, "b"),
      args: [
        ...listeners,
        "--set",
        `sasl.oauthbearer.jwks.endpoint.url=file://${join(dir, "jwks.json")}`,
        "--set",
        "sasl.oauthbearer.expected.issuer=https://issuer.test",
        "--set",
        "sasl.oauthbearer.expected.audience=kbin",
      ],
    });
  });
  after(async () => {
    await unsecured?.[Symbol.asyncDispose]();
    await signed?.[Symbol.asyncDispose]();
    await rm(dir, { recursive: true, force: true });
  });

  test("librdkafka's unsecured JWT is accepted by a broker without a JWKS (and the broker warns about it)", async () => {
    const bootstrap = await saslPort(unsecured);
    const r = await runJsonDriver<{ results: Result[] }>(PYTHON, [CLIENT], {
      bootstrap,
      ops: [{
        op: "roundtrip",
        mechanism: "OAUTHBEARER",
        principal: "alice",
        topic: "oauth-unsecured",
        values: ["u1", "u2"],
      }],
    }, { broker: unsecured, timeoutMs: 90_000 });
    assert.deepEqual(r.results[0], { values: ["u1", "u2"] });
    assert.match(unsecured.log(), /OAUTHBEARER accepts unsecured tokens/);
  });

  test("a signed token is accepted with the JWKS; another key's, an expired one and another audience's fail fast", async () => {
    const bootstrap = await saslPort(signed);
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: "alice", iss: "https://issuer.test", aud: "kbin", iat: now, exp: now + 600 };
    const other = await signer("key-1");
    const r = await runJsonDriver<{ results: Result[] }>(PYTHON, [CLIENT], {
      bootstrap,
      ops: [
        {
          op: "roundtrip",
          mechanism: "OAUTHBEARER",
          token: await good.sign(claims),
          topic: "oauth-signed",
          values: ["s1"],
        },
        { op: "badlogin", mechanism: "OAUTHBEARER", token: await other.sign(claims) },
        { op: "badlogin", mechanism: "OAUTHBEARER", token: await good.sign({ ...claims, exp: now - 600 }) },
        { op: "badlogin", mechanism: "OAUTHBEARER", token: await good.sign({ ...claims, aud: "someone-else" }) },
        // An unsecured token is refused once a JWKS is configured.
        { op: "badlogin", mechanism: "OAUTHBEARER", principal: "mallory" },
      ],
    }, { broker: signed, timeoutMs: 90_000 });
    assert.deepEqual(r.results[0], { values: ["s1"] });
    for (const bad of r.results.slice(1)) {
      assert.match(String(bad.error), /SASL authentication error/);
      assert.ok(bad.seconds! < 10);
    }
    assert.match(signed.log(), /the signature does not verify with the JWKS/);
    assert.match(signed.log(), /the token has expired/);
    assert.match(signed.log(), /audience is none of kbin/);
  });
});
