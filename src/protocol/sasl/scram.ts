/**
 * SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) as Kafka numbers them (KIP-84): the
 * mechanisms, salting a password, and the stored form of a credential (salt, iterations,
 * StoredKey, ServerKey — never the password). Kafka accepts 4096 to 16384 iterations. Shared by
 * the broker (which verifies) and the client (which proves).
 *
 * @module
 */

import { constantTimeEqual, digest, fromBase64, type HashName, hmac, pbkdf2, randomBytes, toBase64 } from "./crypto.ts";

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

/** The client side of one SCRAM exchange (RFC 5802): first message, final message, server check. */
export class ScramClient {
  readonly #mechanism: ScramMechanism;
  readonly #user: string;
  readonly #password: string;
  readonly #clientFirstBare: string;
  readonly #nonce: string;
  #serverSignature: Uint8Array | null = null;

  constructor(mechanism: ScramMechanism, user: string, password: string, nonce = toBase64(randomBytes(24))) {
    this.#mechanism = mechanism;
    this.#user = user;
    this.#password = password;
    this.#nonce = nonce;
    this.#clientFirstBare = `n=${user.replaceAll("=", "=3D").replaceAll(",", "=2C")},r=${nonce}`;
  }

  /** client-first-message. */
  first(): Uint8Array {
    return new TextEncoder().encode(`n,,${this.#clientFirstBare}`);
  }

  /** client-final-message for the server's first message; throws on a malformed one. */
  async final(serverFirstBytes: Uint8Array): Promise<Uint8Array> {
    const serverFirst = new TextDecoder().decode(serverFirstBytes);
    const attrs = new Map(serverFirst.split(",").map((kv) => [kv.slice(0, 1), kv.slice(2)]));
    const nonce = attrs.get("r") ?? "";
    const salt = fromBase64(attrs.get("s") ?? "");
    const iterations = Number(attrs.get("i"));
    if (!nonce.startsWith(this.#nonce) || salt === null || !Number.isInteger(iterations) || iterations < 1) {
      throw new Error(`Cannot authenticate ${this.#user} with ${this.#mechanism}: malformed server-first message`);
    }
    const { hash } = SCRAM_MECHANISMS[this.#mechanism];
    const salted = await saltPassword(this.#mechanism, this.#password, salt, iterations);
    const clientKey = await hmac(hash, salted, "Client Key");
    const storedKey = await digest(hash, clientKey);
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.#clientFirstBare},${serverFirst},${withoutProof}`;
    const signature = await hmac(hash, storedKey, authMessage);
    this.#serverSignature = await hmac(hash, await hmac(hash, salted, "Server Key"), authMessage);
    const proof = clientKey.map((b, i) => b ^ signature[i]!);
    return new TextEncoder().encode(`${withoutProof},p=${toBase64(proof)}`);
  }

  /** Whether the server-final-message proves the server knows the credential. */
  verifyServer(serverFinalBytes: Uint8Array): boolean {
    const v = /^v=(.*)$/.exec(new TextDecoder().decode(serverFinalBytes));
    const sig = v ? fromBase64(v[1]!) : null;
    return sig !== null && this.#serverSignature !== null && constantTimeEqual(sig, this.#serverSignature);
  }
}
