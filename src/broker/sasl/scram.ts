/**
 * SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) as Kafka runs them (KIP-84): the server's
 * side of the exchange, and the stored form of a credential (salt, iterations, StoredKey,
 * ServerKey — never the password). Kafka accepts 4096 to 16384 iterations. The `tokenauth`
 * extension (delegation tokens) is refused.
 *
 * @module
 */

import { constantTimeEqual, digest, fromBase64, type HashName, hmac, pbkdf2, randomBytes, toBase64 } from "./crypto.ts";
import type { SaslServer, SaslStep } from "./mechanism.ts";

/** The SCRAM mechanisms, with Kafka's numbering (ScramMechanism: 1 and 2). */
export const SCRAM_MECHANISMS = {
  "SCRAM-SHA-256": { id: 1, hash: "SHA-256" as HashName, keyLength: 32 },
  "SCRAM-SHA-512": { id: 2, hash: "SHA-512" as HashName, keyLength: 64 },
} as const;

export type ScramMechanism = keyof typeof SCRAM_MECHANISMS;

/** Kafka's bounds on SCRAM iterations (ScramMechanism.minIterations / maxIterations). */
export const MIN_ITERATIONS = 4096;
export const MAX_ITERATIONS = 16384;

/** The mechanism named by Kafka's number, or null. */
export function scramMechanismById(id: number): ScramMechanism | null {
  for (const [name, m] of Object.entries(SCRAM_MECHANISMS)) if (m.id === id) return name as ScramMechanism;
  return null;
}

/** What the broker keeps of a SCRAM password. */
export interface ScramCredential {
  salt: Uint8Array;
  iterations: number;
  storedKey: Uint8Array;
  serverKey: Uint8Array;
}

/** SaltedPassword = Hi(password, salt, i). */
export function saltPassword(
  mechanism: ScramMechanism,
  password: string,
  salt: Uint8Array,
  iterations: number,
): Promise<Uint8Array> {
  const m = SCRAM_MECHANISMS[mechanism];
  return pbkdf2(m.hash, password, salt, iterations, m.keyLength);
}

/** The stored credential of a salted password (what AlterUserScramCredentials sends). */
export async function credentialOf(
  mechanism: ScramMechanism,
  salt: Uint8Array,
  saltedPassword: Uint8Array,
  iterations: number,
): Promise<ScramCredential> {
  const { hash } = SCRAM_MECHANISMS[mechanism];
  const clientKey = await hmac(hash, saltedPassword, "Client Key");
  return {
    salt,
    iterations,
    storedKey: await digest(hash, clientKey),
    serverKey: await hmac(hash, saltedPassword, "Server Key"),
  };
}

/** Whether `password` is the one a credential was made from (SASL/PLAIN against SCRAM users). */
export async function passwordMatches(
  mechanism: ScramMechanism,
  credential: ScramCredential,
  password: string,
): Promise<boolean> {
  const salted = await saltPassword(mechanism, password, credential.salt, credential.iterations);
  const fresh = await credentialOf(mechanism, credential.salt, salted, credential.iterations);
  return constantTimeEqual(fresh.storedKey, credential.storedKey);
}

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
