/**
 * SASL at the protocol level against a broker in this process with a PLAINTEXT and a
 * SASL_PLAINTEXT listener: the SCRAM exchange (RFC 5802) with a client written from the RFC,
 * PLAIN, the v0 raw-token flow, nothing but ApiVersions and SASL before authentication, failed
 * logins answered then closed, the user APIs' errors, listeners' configuration errors, and the
 * address Metadata gives per listener. Real clients: tests/compat/security.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { startBroker } from "../../../../mod.ts";
import { BrokerConfig, ConfigError } from "../../../../src/broker/config.ts";
import { interBrokerSecurity, parseListeners } from "../../../../src/broker/listeners.ts";
import { digest, fromBase64, hmac, toBase64 } from "../../../../src/protocol/sasl/crypto.ts";
import { jaasPlainUsers } from "../../../../src/broker/sasl/plain.ts";
import { saltPassword, SCRAM_MECHANISMS, type ScramMechanism } from "../../../../src/broker/sasl/scram.ts";
import { KafkaConnection } from "../../../../src/client/connection.ts";
import { METADATA_API } from "../../../../src/protocol/generated/03_metadata.ts";
import { SASL_HANDSHAKE_API } from "../../../../src/protocol/generated/17_sasl_handshake.ts";
import { SASL_AUTHENTICATE_API } from "../../../../src/protocol/generated/36_sasl_authenticate.ts";
import { DESCRIBE_USER_SCRAM_CREDENTIALS_API } from "../../../../src/protocol/generated/50_describe_user_scram_credentials.ts";
import { ALTER_USER_SCRAM_CREDENTIALS_API } from "../../../../src/protocol/generated/51_alter_user_scram_credentials.ts";
import { ErrorCode } from "../../../../src/protocol/generated/errors.ts";
import { rawClient, requestFrame } from "../../../support/raw_client.ts";
import { connect } from "../../../support/runtime.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A SCRAM client from RFC 5802, one exchange through SaslAuthenticate. */
async function scramLogin(conn: KafkaConnection, mechanism: ScramMechanism, user: string, password: string) {
  const hs = await conn.request(SASL_HANDSHAKE_API, 1, { mechanism });
  assert.equal(hs.errorCode, ErrorCode.NONE);
  const { hash } = SCRAM_MECHANISMS[mechanism];
  const cnonce = toBase64(crypto.getRandomValues(new Uint8Array(12)));
  const clientFirstBare = `n=${user},r=${cnonce}`;
  const first = await conn.request(SASL_AUTHENTICATE_API, 2, { authBytes: enc.encode(`n,,${clientFirstBare}`) });
  if (first.errorCode !== ErrorCode.NONE) return first;
  const serverFirst = dec.decode(first.authBytes);
  const attrs = Object.fromEntries(serverFirst.split(",").map((kv) => [kv[0], kv.slice(2)]));
  assert.ok(attrs["r"]!.startsWith(cnonce));
  const salted = await saltPassword(mechanism, password, fromBase64(attrs["s"]!)!, Number(attrs["i"]));
  const clientKey = await hmac(hash, salted, "Client Key");
  const storedKey = await digest(hash, clientKey);
  const withoutProof = `c=biws,r=${attrs["r"]}`;
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const signature = await hmac(hash, storedKey, authMessage);
  const proof = clientKey.map((b, i) => b ^ signature[i]!);
  const final = await conn.request(SASL_AUTHENTICATE_API, 2, {
    authBytes: enc.encode(`${withoutProof},p=${toBase64(proof)}`),
  });
  if (final.errorCode === ErrorCode.NONE) {
    // The server proves it knows the ServerKey too.
    const serverKey = await hmac(hash, salted, "Server Key");
    assert.equal(dec.decode(final.authBytes), `v=${toBase64(await hmac(hash, serverKey, authMessage))}`);
  }
  return final;
}

async function addUser(conn: KafkaConnection, user: string, password: string, iterations = 4096) {
  const upsertions = [];
  for (const m of Object.keys(SCRAM_MECHANISMS) as ScramMechanism[]) {
    const salt = crypto.getRandomValues(new Uint8Array(16));
    upsertions.push({
      name: user,
      mechanism: SCRAM_MECHANISMS[m].id,
      iterations,
      salt,
      saltedPassword: await saltPassword(m, password, salt, iterations),
    });
  }
  return await conn.request(ALTER_USER_SCRAM_CREDENTIALS_API, 0, { deletions: [], upsertions });
}

const CONFIG = {
  "listeners": "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
  "advertised.listeners": "SASL_PLAINTEXT://sasl.example:9093",
  "listener.name.sasl_plaintext.sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
  "connection.failed.authentication.delay.ms": "0",
};

async function withSasl(
  fn: (admin: KafkaConnection, saslPort: number) => Promise<void>,
  config: Record<string, string> = CONFIG,
) {
  await using broker = await startBroker({ logLevel: "silent", config });
  const plain = broker.listeners.find((l) => l.name === "PLAINTEXT")!;
  const sasl = broker.listeners.find((l) => l.name === "SASL_PLAINTEXT")!;
  assert.equal(sasl.securityProtocol, "SASL_PLAINTEXT");
  const admin = await KafkaConnection.open("127.0.0.1", plain.port, { connect });
  try {
    assert.deepEqual((await addUser(admin, "alice", "alice-secret")).results.map((r) => r.errorCode), [0]);
    await fn(admin, sasl.port);
  } finally {
    admin.close();
  }
}

describe("SASL on a SASL_PLAINTEXT listener", () => {
  test("SCRAM-SHA-256 and SCRAM-SHA-512: the right password authenticates, then requests are served; Metadata gives the listener's advertised address", () =>
    withSasl(async (_admin, port) => {
      for (const m of ["SCRAM-SHA-256", "SCRAM-SHA-512"] as const) {
        const conn = await KafkaConnection.open("127.0.0.1", port, { connect });
        try {
          const r = await scramLogin(conn, m, "alice", "alice-secret");
          assert.equal(r.errorCode, ErrorCode.NONE, r.errorMessage ?? "");
          const md = await conn.request(METADATA_API, 12, {
            topics: null,
            allowAutoTopicCreation: false,
            includeTopicAuthorizedOperations: false,
          });
          assert.deepEqual(md.brokers.map((b) => [b.host, b.port]), [["sasl.example", 9093]]);
        } finally {
          conn.close();
        }
      }
    }));

  test("a wrong password or unknown user answers SASL_AUTHENTICATION_FAILED, then the connection closes", () =>
    withSasl(async (_admin, port) => {
      for (const [user, password] of [["alice", "wrong"], ["mallory", "x"]]) {
        const conn = await KafkaConnection.open("127.0.0.1", port, { connect });
        const r = await scramLogin(conn, "SCRAM-SHA-256", user!, password!);
        assert.equal(r.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
        assert.match(r.errorMessage ?? "", /Authentication failed/);
        await new Promise((res) => setTimeout(res, 50));
        assert.equal(conn.closed, true);
      }
    }));

  test("PLAIN checks the user store's SCRAM credentials; a JAAS user_NAME entry is accepted too", () =>
    withSasl(async (_admin, port) => {
      const login = async (user: string, password: string) => {
        const conn = await KafkaConnection.open("127.0.0.1", port, { connect });
        try {
          assert.equal((await conn.request(SASL_HANDSHAKE_API, 1, { mechanism: "PLAIN" })).errorCode, 0);
          return (await conn.request(SASL_AUTHENTICATE_API, 1, { authBytes: enc.encode(`\0${user}\0${password}`) }))
            .errorCode;
        } finally {
          conn.close();
        }
      };
      assert.equal(await login("alice", "alice-secret"), ErrorCode.NONE);
      assert.equal(await login("alice", "nope"), ErrorCode.SASL_AUTHENTICATION_FAILED);
      assert.equal(await login("bob", "bob-secret"), ErrorCode.NONE);
    }, {
      ...CONFIG,
      "listener.name.sasl_plaintext.plain.sasl.jaas.config":
        'org.apache.kafka.common.security.plain.PlainLoginModule required user_bob="bob-secret";',
    }));

  test("SaslHandshake v0: raw SASL tokens follow, then Kafka requests", () =>
    withSasl(async (_admin, port) => {
      const c = await rawClient(port);
      try {
        const mech = enc.encode("PLAIN");
        const body = new Uint8Array(2 + mech.length);
        new DataView(body.buffer).setInt16(0, mech.length);
        body.set(mech, 2);
        c.send(requestFrame(17, 0, 1, body));
        const hs = await c.frame();
        assert.equal(new DataView(hs.buffer, hs.byteOffset).getInt16(4), 0, "handshake error code");
        const token = enc.encode("\0alice\0alice-secret");
        const framed = new Uint8Array(4 + token.length);
        new DataView(framed.buffer).setInt32(0, token.length);
        framed.set(token, 4);
        c.send(framed);
        assert.equal((await c.frame()).length, 0, "an empty raw answer: authenticated");
        c.send(requestFrame(3, 0, 2, new Uint8Array([0, 0, 0, 0])));
        const md = await c.frame();
        assert.equal(new DataView(md.buffer, md.byteOffset).getInt32(0), 2);
      } finally {
        c.end();
      }
    }));

  test("before authentication only ApiVersions and SASL are served: a Produce closes the connection", () =>
    withSasl(async (_admin, port) => {
      const c = await rawClient(port);
      try {
        c.send(requestFrame(18, 0, 1, new Uint8Array(0)));
        assert.ok((await c.frame()).length > 8, "ApiVersions is answered");
        // Produce v3: transactional id null, acks 1, timeout, no topics.
        c.send(requestFrame(0, 3, 2, new Uint8Array([0xff, 0xff, 0, 1, 0, 0, 0x13, 0x88, 0, 0, 0, 0])));
        assert.equal(await c.closed(2000), true);
      } finally {
        c.end();
      }
    }));

  test("connections.max.reauth.ms: v1+ answers the session lifetime; re-authenticating extends it; an expired session is closed at its next request; re-authentication keeps the principal", () =>
    withSasl(async (admin, port) => {
      assert.deepEqual((await addUser(admin, "bob", "bob-secret")).results.map((r) => r.errorCode), [0]);
      const metadata = (conn: KafkaConnection) =>
        conn.request(METADATA_API, 12, {
          topics: [],
          allowAutoTopicCreation: false,
          includeTopicAuthorizedOperations: false,
        });
      const conn = await KafkaConnection.open("127.0.0.1", port, { connect });
      const first = await scramLogin(conn, "SCRAM-SHA-512", "alice", "alice-secret");
      assert.equal(first.errorCode, ErrorCode.NONE);
      assert.ok(first.sessionLifetimeMs > 0n && first.sessionLifetimeMs <= 1500n, `${first.sessionLifetimeMs}`);
      await new Promise((r) => setTimeout(r, 900));
      const again = await scramLogin(conn, "SCRAM-SHA-512", "alice", "alice-secret");
      assert.equal(again.errorCode, ErrorCode.NONE, "re-authentication on the same connection");
      await new Promise((r) => setTimeout(r, 900));
      await metadata(conn); // 1.8 s after the first login, within the renewed session
      assert.equal(conn.closed, false);
      // Let it expire: the next request closes the connection, unanswered.
      await new Promise((r) => setTimeout(r, 1600));
      await assert.rejects(metadata(conn));
      assert.equal(conn.closed, true);

      const other = await KafkaConnection.open("127.0.0.1", port, { connect });
      assert.equal((await scramLogin(other, "SCRAM-SHA-256", "alice", "alice-secret")).errorCode, ErrorCode.NONE);
      const bob = await scramLogin(other, "SCRAM-SHA-256", "bob", "bob-secret");
      assert.equal(bob.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
      assert.match(bob.errorMessage ?? "", /Cannot change principals during re-authentication/);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(other.closed, true);
    }, { ...CONFIG, "connections.max.reauth.ms": "1500" }));

  test("a mechanism the listener does not enable: UNSUPPORTED_SASL_MECHANISM with the enabled list; SASL on PLAINTEXT: ILLEGAL_SASL_STATE", () =>
    withSasl(async (admin, port) => {
      const conn = await KafkaConnection.open("127.0.0.1", port, { connect });
      const r = await conn.request(SASL_HANDSHAKE_API, 1, { mechanism: "GSSAPI" });
      assert.equal(r.errorCode, ErrorCode.UNSUPPORTED_SASL_MECHANISM);
      assert.deepEqual(r.mechanisms, ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]);
      await new Promise((res) => setTimeout(res, 50));
      assert.equal(conn.closed, true);
      assert.equal(
        (await admin.request(SASL_HANDSHAKE_API, 1, { mechanism: "PLAIN" })).errorCode,
        ErrorCode.ILLEGAL_SASL_STATE,
      );
    }));

  test("DescribeUserScramCredentials and AlterUserScramCredentials answer Kafka's errors per user", () =>
    withSasl(async (admin) => {
      const all = await admin.request(DESCRIBE_USER_SCRAM_CREDENTIALS_API, 0, { users: null });
      assert.deepEqual(all.results.map((r) => [r.user, r.credentialInfos.map((c) => [c.mechanism, c.iterations])]), [[
        "alice",
        [[1, 4096], [2, 4096]],
      ]]);
      const some = await admin.request(DESCRIBE_USER_SCRAM_CREDENTIALS_API, 0, {
        users: [{ name: "alice" }, { name: "nobody" }, { name: "twice" }, { name: "twice" }],
      });
      assert.deepEqual(some.results.map((r) => [r.user, r.errorCode]), [
        ["alice", 0],
        ["nobody", ErrorCode.RESOURCE_NOT_FOUND],
        ["twice", ErrorCode.DUPLICATE_RESOURCE],
        ["twice", ErrorCode.DUPLICATE_RESOURCE],
      ]);
      const salt = new Uint8Array(16).fill(1);
      const bad = await admin.request(ALTER_USER_SCRAM_CREDENTIALS_API, 0, {
        deletions: [{ name: "ghost", mechanism: 1 }, { name: "bob", mechanism: 1 }],
        upsertions: [
          { name: "carol", mechanism: 1, iterations: 100, salt, saltedPassword: salt },
          { name: "dave", mechanism: 9, iterations: 4096, salt, saltedPassword: salt },
          { name: "", mechanism: 1, iterations: 4096, salt, saltedPassword: salt },
          { name: "bob", mechanism: 1, iterations: 4096, salt, saltedPassword: salt },
        ],
      });
      assert.deepEqual(bad.results.map((r) => [r.user, r.errorCode]), [
        ["ghost", ErrorCode.RESOURCE_NOT_FOUND],
        ["bob", ErrorCode.DUPLICATE_RESOURCE],
        ["carol", ErrorCode.UNACCEPTABLE_CREDENTIAL],
        ["dave", ErrorCode.UNSUPPORTED_SASL_MECHANISM],
        ["", ErrorCode.UNACCEPTABLE_CREDENTIAL],
      ]);
      // Deleting one mechanism leaves the other; deleting both removes the user.
      const del = await admin.request(ALTER_USER_SCRAM_CREDENTIALS_API, 0, {
        deletions: [{ name: "alice", mechanism: 1 }],
        upsertions: [],
      });
      assert.equal(del.results[0]!.errorCode, 0);
      const after = await admin.request(DESCRIBE_USER_SCRAM_CREDENTIALS_API, 0, { users: [{ name: "alice" }] });
      assert.deepEqual(after.results[0]!.credentialInfos.map((c) => c.mechanism), [2]);
    }));
});

describe("listener configuration", () => {
  const parse = (settings: Record<string, string>) => parseListeners(new BrokerConfig(Object.entries(settings)));

  test("named listeners with their protocols, advertised addresses and per-listener mechanisms", () => {
    const ls = parse({
      "listeners": "INTERNAL://127.0.0.1:9092,EXTERNAL://0.0.0.0:9093",
      "listener.security.protocol.map": "INTERNAL:PLAINTEXT,EXTERNAL:SASL_PLAINTEXT",
      "advertised.listeners": "EXTERNAL://kafka.example:19093",
      "listener.name.external.sasl.enabled.mechanisms": "SCRAM-SHA-512",
    });
    assert.deepEqual(ls.map((l) => [l.name, l.securityProtocol, l.advertised, l.saslMechanisms]), [
      ["INTERNAL", "PLAINTEXT", null, []],
      ["EXTERNAL", "SASL_PLAINTEXT", { host: "kafka.example", port: 19093 }, ["SCRAM-SHA-512"]],
    ]);
  });

  test("configuration errors name what is wrong", () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ "listeners": "FOO://127.0.0.1:1" }, /no entry for it/],
      [{ "listeners": "A://127.0.0.1:1", "listener.security.protocol.map": "A:TLS" }, /PROTOCOL one of/],
      [{ "listeners": "PLAINTEXT://127.0.0.1:1,PLAINTEXT://127.0.0.1:2" }, /named twice/],
      [{ "listeners": "SASL_PLAINTEXT://127.0.0.1:1", "sasl.enabled.mechanisms": "GSSAPI" }, /GSSAPI is not supported/],
      [{ "listeners": "PLAINTEXT://127.0.0.1:1", "advertised.listeners": "OTHER://x:1" }, /not one of the listeners/],
    ];
    for (const [settings, message] of cases) {
      assert.throws(() => parse(settings), (e) => e instanceof ConfigError && message.test(e.message));
    }
  });

  test("the inter-broker client's security: TLS from the listener, SASL from sasl.mechanism.inter.broker.protocol and the listener's JAAS line", () => {
    const base = {
      "listeners": "BROKER://127.0.0.1:1",
      "listener.security.protocol.map": "BROKER:SASL_PLAINTEXT",
      "sasl.enabled.mechanisms": "SCRAM-SHA-512,PLAIN",
    };
    const of = (settings: Record<string, string>) => {
      const config = new BrokerConfig(Object.entries(settings));
      return interBrokerSecurity(config, parseListeners(config)[0]!);
    };
    const jaas =
      'org.apache.kafka.common.security.scram.ScramLoginModule required username="kbin-broker" password="p\\"w";';
    assert.deepEqual(
      of({
        ...base,
        "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
        "listener.name.broker.scram-sha-512.sasl.jaas.config": jaas,
      }),
      {
        listener: "BROKER",
        ssl: null,
        verifyServerName: true,
        sasl: { mechanism: "SCRAM-SHA-512", username: "kbin-broker", password: 'p"w' },
      },
    );
    const cases: [Record<string, string>, RegExp][] = [
      [base, /set sasl.mechanism.inter.broker.protocol to PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 \(it is GSSAPI\)/],
      [{ ...base, "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-256" }, /SCRAM-SHA-256 is not enabled on it/],
      [
        { ...base, "sasl.mechanism.inter.broker.protocol": "PLAIN" },
        /set listener.name.broker.plain.sasl.jaas.config with the username and password/,
      ],
    ];
    for (const [settings, message] of cases) {
      assert.throws(() => of(settings), (e) => e instanceof ConfigError && message.test(e.message), String(message));
    }
  });

  test("JAAS PlainLoginModule users", () => {
    assert.deepEqual(
      [...jaasPlainUsers(
        'org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="x" user_admin="a-s" user_bob="b\\"q";',
      )],
      [["admin", "a-s"], ["bob", 'b"q']],
    );
  });
});
