/**
 * SASL/OAUTHBEARER (RFC 7628, KIP-255 and KIP-768): the client sends
 * "n,,\x01auth=Bearer TOKEN\x01\x01"; the token is a JWT. With `sasl.oauthbearer.jwks.endpoint.url`
 * set, it must be signed (RS256/384/512, PS256/384/512, ES256/384/512) by a key of that JWKS
 * (fetched, or read from a file: URL, and refreshed every `…jwks.endpoint.refresh.ms`), with
 * `exp` in the future, `iat`/`nbf` not in the future (± `sasl.oauthbearer.clock.skew.seconds`),
 * the expected issuer and one of the expected audiences; without it, unsecured tokens (`alg`
 * "none", Kafka's default validator, for development) are accepted with the same time checks.
 * The principal is the `sasl.oauthbearer.sub.claim.name` claim. The session ends with the
 * token (KIP-368).
 *
 * @module
 */

import { fromBase64 } from "../../protocol/sasl/crypto.ts";
import type { SaslServer, SaslStep } from "./mechanism.ts";

/** How tokens are validated. */
export interface OAuthBearerOptions {
  /** Null: unsecured tokens (alg "none"). */
  keys: (() => Promise<JsonWebKey[]>) | null;
  expectedAudience: string[];
  expectedIssuer: string;
  subClaim: string;
  clockSkewSeconds: number;
  nowMs: () => number;
}

const dec = new TextDecoder("utf-8", { fatal: true });

function base64url(s: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) return null;
  const b64 = s.replaceAll("-", "+").replaceAll("_", "/");
  return fromBase64(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
}

function jsonPart(s: string): Record<string, unknown> | null {
  const bytes = base64url(s);
  if (!bytes) return null;
  try {
    const v = JSON.parse(dec.decode(bytes));
    return v !== null && typeof v === "object" && !Array.isArray(v) ? v as Record<string, unknown> : null;
  } catch {
    return null;
  }
}

/** Web Crypto parameters of a JWS algorithm. */
function algorithm(
  alg: string,
):
  | { import: RsaHashedImportParams | EcKeyImportParams; verify: AlgorithmIdentifier | RsaPssParams | EcdsaParams }
  | null {
  const m = /^(RS|PS|ES)(256|384|512)$/.exec(alg);
  if (!m) return null;
  const hash = `SHA-${m[2]}`;
  if (m[1] === "RS") return { import: { name: "RSASSA-PKCS1-v1_5", hash }, verify: { name: "RSASSA-PKCS1-v1_5" } };
  if (m[1] === "PS") {
    return { import: { name: "RSA-PSS", hash }, verify: { name: "RSA-PSS", saltLength: Number(m[2]) / 8 } };
  }
  const curve = { "256": "P-256", "384": "P-384", "512": "P-521" }[m[2]!]!;
  return { import: { name: "ECDSA", namedCurve: curve }, verify: { name: "ECDSA", hash } };
}

/**
 * Validates a token.
 * @returns the principal name and the token's expiry, or why it is refused
 */
export async function validateToken(
  token: string,
  o: OAuthBearerOptions,
): Promise<{ ok: true; principal: string; expiresAtMs: number } | { ok: false; reason: string }> {
  const parts = token.split(".");
  if (parts.length !== 3) return { ok: false, reason: "the token is not a JWS (three dot-separated parts)" };
  const header = jsonPart(parts[0]!);
  const claims = jsonPart(parts[1]!);
  if (!header || !claims) return { ok: false, reason: "the token's header or payload is not base64url JSON" };
  const alg = typeof header["alg"] === "string" ? header["alg"] : "";
  if (o.keys === null) {
    if (alg !== "none") return { ok: false, reason: `unsecured tokens only (alg "none"), got alg "${alg}"` };
  } else {
    const params = algorithm(alg);
    if (!params) return { ok: false, reason: `unsupported or missing signature algorithm "${alg}"` };
    const signature = base64url(parts[2]!);
    if (!signature) return { ok: false, reason: "the signature is not base64url" };
    const kid = typeof header["kid"] === "string" ? header["kid"] : null;
    const candidates = (await o.keys()).filter((k) =>
      (kid === null || (k as { kid?: string }).kid === kid) && (k.alg === undefined || k.alg === alg)
    );
    if (candidates.length === 0) return { ok: false, reason: `no JWKS key matches kid ${JSON.stringify(kid)}` };
    const data = new TextEncoder().encode(`${parts[0]}.${parts[1]}`);
    let verified = false;
    for (const jwk of candidates) {
      try {
        const key = await crypto.subtle.importKey("jwk", jwk, params.import, false, ["verify"]);
        if (await crypto.subtle.verify(params.verify, key, signature as BufferSource, data)) {
          verified = true;
          break;
        }
      } catch {
        // a key of another type: try the next
      }
    }
    if (!verified) return { ok: false, reason: "the signature does not verify with the JWKS" };
  }
  const now = o.nowMs() / 1000;
  const skew = o.clockSkewSeconds;
  const exp = claims["exp"];
  if (typeof exp !== "number") return { ok: false, reason: "the token has no exp claim" };
  if (exp + skew <= now) return { ok: false, reason: "the token has expired" };
  for (const name of ["iat", "nbf"]) {
    const t = claims[name];
    if (t !== undefined && (typeof t !== "number" || t - skew > now)) {
      return { ok: false, reason: `the token's ${name} claim is in the future` };
    }
  }
  if (o.expectedIssuer !== "" && claims["iss"] !== o.expectedIssuer) {
    return { ok: false, reason: `the token's issuer is not ${o.expectedIssuer}` };
  }
  if (o.expectedAudience.length > 0) {
    const aud = claims["aud"];
    const auds = Array.isArray(aud) ? aud : [aud];
    if (!auds.some((a) => typeof a === "string" && o.expectedAudience.includes(a))) {
      return { ok: false, reason: `the token's audience is none of ${o.expectedAudience.join(", ")}` };
    }
  }
  const sub = claims[o.subClaim];
  if (typeof sub !== "string" || sub === "") return { ok: false, reason: `the token has no ${o.subClaim} claim` };
  return { ok: true, principal: sub, expiresAtMs: exp * 1000 };
}

/** The server side of one OAUTHBEARER exchange. */
export class OAuthBearerServer implements SaslServer {
  readonly #o: OAuthBearerOptions;
  #done = false;

  constructor(o: OAuthBearerOptions) {
    this.#o = o;
  }

  async step(bytes: Uint8Array): Promise<SaslStep> {
    const failed = (reason: string): SaslStep => ({
      kind: "failed",
      message: `Authentication failed: invalid OAUTHBEARER token (${reason})`,
    });
    if (this.#done) return failed("the exchange already ended");
    this.#done = true;
    let text: string;
    try {
      text = dec.decode(bytes);
    } catch {
      return failed("the message is not UTF-8");
    }
    // gs2-header "n,[a=authzid]," then \x01-separated key=value pairs, ending with \x01\x01.
    // \x01 separates the key=value pairs (RFC 7628).
    const m = new RegExp("^([ny]),(?:a=([^,]*))?,\x01(.*)\x01\x01$", "s").exec(text);
    if (!m) return failed("the client's message is not an RFC 7628 initial response");
    const kv = new Map(m[3]!.split("\u0001").map((p) => [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)]));
    const auth = /^Bearer ([^\s]+)$/.exec(kv.get("auth") ?? "");
    if (!auth) return failed("no auth=Bearer TOKEN");
    const r = await validateToken(auth[1]!, this.#o);
    if (!r.ok) return failed(r.reason);
    if (m[2] && m[2] !== r.principal) return failed("the authorization id is not the token's subject");
    return { kind: "done", bytes: new Uint8Array(0), principal: `User:${r.principal}`, expiresAtMs: r.expiresAtMs };
  }
}

/** Reads a JWKS document: its keys. */
export function parseJwks(text: string): JsonWebKey[] {
  const doc = JSON.parse(text) as { keys?: unknown };
  if (!Array.isArray(doc.keys)) throw new Error("a JWKS document needs a keys array");
  return doc.keys as JsonWebKey[];
}
