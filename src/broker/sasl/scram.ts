/**
 * The server side of SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) as Kafka runs it
 * (KIP-84), over the credentials `protocol/sasl/scram.ts` derives. The `tokenauth` extension
 * (delegation tokens) is refused.
 *
 * @module
 */

import { constantTimeEqual, digest, fromBase64, hmac, randomBytes, toBase64 } from "../../protocol/sasl/crypto.ts";
import { SCRAM_MECHANISMS, type ScramCredential, type ScramMechanism } from "../../protocol/sasl/scram.ts";
import type { SaslServer, SaslStep } from "./mechanism.ts";

export {
  credentialOf,
  MAX_ITERATIONS,
  MIN_ITERATIONS,
  passwordMatches,
  saltPassword,
  SCRAM_MECHANISMS,
  type ScramCredential,
  type ScramMechanism,
  scramMechanismById,
} from "../../protocol/sasl/scram.ts";

/** RFC 5802 saslname: "=2C" is ",", "=3D" is "="; any other "=" is malformed. */
function decodeSaslName(s: string): string | null {
  if (/=(?!2C|3D)/.test(s)) return null;
  return s.replaceAll("=2C", ",").replaceAll("=3D", "=");
}

/** "k=v" attributes of a SCRAM message, in order. */
function attributes(msg: string): [string, string][] | null {
  const out: [string, string][] = [];
  for (const part of msg.split(",")) {
    const m = /^([A-Za-z])=(.*)$/s.exec(part);
    if (!m) return null;
    out.push([m[1]!, m[2]!]);
  }
  return out;
}

const dec = new TextDecoder("utf-8", { fatal: true });
const enc = new TextEncoder();

/** The server side of one SCRAM exchange (two client messages). */
export class ScramServer implements SaslServer {
  readonly #mechanism: ScramMechanism;
  readonly #lookup: (user: string) => Promise<ScramCredential | null>;
  #state:
    | { kind: "start" }
    | {
      kind: "first-sent";
      user: string;
      credential: ScramCredential;
      nonce: string;
      gs2Header: string;
      clientFirstBare: string;
      serverFirst: string;
    }
    | { kind: "done" } = { kind: "start" };

  constructor(mechanism: ScramMechanism, lookup: (user: string) => Promise<ScramCredential | null>) {
    this.#mechanism = mechanism;
    this.#lookup = lookup;
  }

  #fail(reason: string): SaslStep {
    this.#state = { kind: "done" };
    return { kind: "failed", message: `Authentication failed during authentication due to ${reason}` };
  }

  async step(bytes: Uint8Array): Promise<SaslStep> {
    let msg: string;
    try {
      msg = dec.decode(bytes);
    } catch {
      return this.#fail(`a SCRAM message that is not UTF-8 (${this.#mechanism})`);
    }
    const state = this.#state;
    if (state.kind === "start") {
      // gs2-header: "n,," or "y,," (no channel binding), optionally with "a=authzid".
      const m = /^([ny]),(a=[^,]*)?,(.*)$/s.exec(msg);
      if (!m) return this.#fail(`an invalid SCRAM client-first message (${this.#mechanism})`);
      const gs2Header = `${m[1]},${m[2] ?? ""},`;
      const clientFirstBare = m[3]!;
      const attrs = attributes(clientFirstBare);
      if (!attrs || attrs[0]?.[0] !== "n" || attrs[1]?.[0] !== "r" || attrs[1][1] === "") {
        return this.#fail(`an invalid SCRAM client-first message (${this.#mechanism})`);
      }
      if (attrs.slice(2).some(([k]) => k !== "t") || clientFirstBare.includes("tokenauth")) {
        return this.#fail(`an unsupported SCRAM extension (delegation tokens are not supported)`);
      }
      const user = decodeSaslName(attrs[0][1]);
      if (user === null || user === "") return this.#fail(`an invalid SCRAM user name (${this.#mechanism})`);
      const authzid = m[2] ? decodeSaslName(m[2].slice(2)) : null;
      if (authzid !== null && authzid !== "" && authzid !== user) {
        return this.#fail(`an authorization id that differs from the user name`);
      }
      const credential = await this.#lookup(user);
      if (credential === null) {
        return this.#fail(`invalid credentials with SASL mechanism ${this.#mechanism}`);
      }
      const nonce = attrs[1][1] + toBase64(randomBytes(18)).replaceAll("=", "");
      const serverFirst = `r=${nonce},s=${toBase64(credential.salt)},i=${credential.iterations}`;
      this.#state = { kind: "first-sent", user, credential, nonce, gs2Header, clientFirstBare, serverFirst };
      return { kind: "challenge", bytes: enc.encode(serverFirst) };
    }
    if (state.kind === "first-sent") {
      const p = msg.lastIndexOf(",p=");
      const attrs = attributes(msg);
      if (p < 0 || !attrs || attrs[0]?.[0] !== "c" || attrs[1]?.[0] !== "r" || attrs.at(-1)?.[0] !== "p") {
        return this.#fail(`an invalid SCRAM client-final message (${this.#mechanism})`);
      }
      if (fromBase64(attrs[0][1]) === null || dec.decode(fromBase64(attrs[0][1])!) !== state.gs2Header) {
        return this.#fail(`a SCRAM channel binding that does not match (${this.#mechanism})`);
      }
      // Kafka checks that the nonce ends with the one it sent (librdkafka 2.0 repeats the client's
      // part in front of it), so kbin does too.
      if (!attrs[1][1].endsWith(state.nonce)) {
        return this.#fail(`a SCRAM nonce that does not match (${this.#mechanism})`);
      }
      const proof = fromBase64(attrs.at(-1)![1]);
      const { hash, keyLength } = SCRAM_MECHANISMS[this.#mechanism];
      if (proof === null || proof.length !== keyLength) {
        return this.#fail(`invalid credentials with SASL mechanism ${this.#mechanism}`);
      }
      const authMessage = `${state.clientFirstBare},${state.serverFirst},${msg.slice(0, p)}`;
      const clientSignature = await hmac(hash, state.credential.storedKey, authMessage);
      const clientKey = proof.map((b, i) => b ^ clientSignature[i]!);
      if (!constantTimeEqual(await digest(hash, clientKey), state.credential.storedKey)) {
        return this.#fail(`invalid credentials with SASL mechanism ${this.#mechanism}`);
      }
      const serverSignature = await hmac(hash, state.credential.serverKey, authMessage);
      this.#state = { kind: "done" };
      return { kind: "done", bytes: enc.encode(`v=${toBase64(serverSignature)}`), principal: `User:${state.user}` };
    }
    return this.#fail(`a SCRAM message after the exchange ended`);
  }
}
