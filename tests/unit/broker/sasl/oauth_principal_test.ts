/**
 * OAUTHBEARER token validation (unsecured and JWKS-signed, time, issuer, audience and subject
 * checks) and `ssl.principal.mapping.rules`, as pure functions. Real clients:
 * tests/compat/security (oauthbearer_test.ts, tls_test.ts).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError } from "../../../../src/broker/config.ts";
import { type OAuthBearerOptions, OAuthBearerServer, validateToken } from "../../../../src/broker/sasl/oauthbearer.ts";
import { mapSubject, parsePrincipalRules } from "../../../../src/broker/ssl_principal.ts";

const b64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
const part = (v: unknown) => b64url(new TextEncoder().encode(JSON.stringify(v)));
const NOW = 1_800_000_000_000;

async function es256() {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  const jwk = { ...(await crypto.subtle.exportKey("jwk", pair.publicKey)), kid: "k" };
  const sign = async (claims: unknown) => {
    const input = `${part({ alg: "ES256", kid: "k" })}.${part(claims)}`;
    const sig = await crypto.subtle.sign(
      { name: "ECDSA", hash: "SHA-256" },
      pair.privateKey,
      new TextEncoder().encode(input),
    );
    return `${input}.${b64url(new Uint8Array(sig))}`;
  };
  return { jwk, sign };
}

const base = (keys: OAuthBearerOptions["keys"]): OAuthBearerOptions => ({
  keys,
  expectedAudience: ["kbin"],
  expectedIssuer: "iss",
  subClaim: "sub",
  clockSkewSeconds: 30,
  nowMs: () => NOW,
});

test("OAUTHBEARER: signed tokens verify against the JWKS; time, issuer, audience and subject are checked", async () => {
  const k = await es256();
  const o = base(() => Promise.resolve([k.jwk]));
  const claims = { sub: "alice", iss: "iss", aud: ["x", "kbin"], iat: NOW / 1000, exp: NOW / 1000 + 60 };
  assert.deepEqual(await validateToken(await k.sign(claims), o), {
    ok: true,
    principal: "alice",
    expiresAtMs: NOW + 60_000,
  });
  const reasons = async (c: Record<string, unknown>) => {
    const r = await validateToken(await k.sign({ ...claims, ...c }), o);
    return r.ok ? "ok" : r.reason;
  };
  assert.match(await reasons({ exp: NOW / 1000 - 31 }), /expired/);
  assert.equal(await reasons({ exp: NOW / 1000 - 10 }), "ok", "within the clock skew");
  assert.match(await reasons({ iat: NOW / 1000 + 120 }), /iat claim is in the future/);
  assert.match(await reasons({ iss: "other" }), /issuer/);
  assert.match(await reasons({ aud: "other" }), /audience/);
  assert.match(await reasons({ sub: undefined }), /no sub claim/);
  const other = await es256();
  const forged = await other.sign(claims);
  assert.match(String((await validateToken(forged, o) as { reason: string }).reason), /does not verify/);
  const unsecured = `${part({ alg: "none" })}.${part(claims)}.`;
  assert.match(String((await validateToken(unsecured, o) as { reason: string }).reason), /unsupported or missing/);
  assert.equal((await validateToken(unsecured, base(null))).ok, true, "accepted when no JWKS is configured");
  assert.match(String((await validateToken("a.b", o) as { reason: string }).reason), /three/);
});

test("OAUTHBEARER: the client's message is RFC 7628's; the principal is User:sub", async () => {
  const claims = { sub: "bob", iss: "iss", aud: "kbin", exp: NOW / 1000 + 60 };
  const token = `${part({ alg: "none" })}.${part(claims)}.`;
  const server = new OAuthBearerServer(base(null));
  const done = await server.step(new TextEncoder().encode(`n,,\u0001auth=Bearer ${token}\u0001\u0001`));
  assert.equal(done.kind, "done");
  assert.equal(done.kind === "done" && done.principal, "User:bob");
  const bad = await new OAuthBearerServer(base(null)).step(new TextEncoder().encode("n,,auth=Bearer x"));
  assert.equal(bad.kind, "failed");
});

test("ssl.principal.mapping.rules: rules in order, $n, L and U, DEFAULT; bad rules are configuration errors", () => {
  const rules = parsePrincipalRules(
    "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,RULE:^CN=([^,]*),O=Acme$/$1/L,RULE:^CN=(.*?),OU=(.*?)$/$1@$2/U,DEFAULT",
  );
  assert.equal(mapSubject(rules, "CN=kafka-svc,OU=ServiceUsers,O=Acme"), "kafka-svc");
  assert.equal(mapSubject(rules, "CN=Alice,O=Acme"), "alice");
  assert.equal(mapSubject(rules, "CN=bob,OU=eng"), "BOB@ENG");
  assert.equal(mapSubject(rules, "O=Other"), "O=Other");
  assert.equal(mapSubject(parsePrincipalRules("RULE:^CN=x$/y/"), "CN=z"), null);
  assert.throws(() => parsePrincipalRules("RULE:nope"), ConfigError);
  assert.throws(() => parsePrincipalRules("RULE:([/x/"), ConfigError);
});
