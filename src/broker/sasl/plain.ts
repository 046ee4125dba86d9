/**
 * SASL/PLAIN (RFC 4616): "[authzid] NUL user NUL password", checked against the users a Kafka
 * JAAS configuration lists (`user_NAME="password"`, for people who bring one) and otherwise
 * against the SCRAM credentials of the user store, as Redpanda does: one set of passwords for
 * both mechanisms, none kept in clear.
 *
 * @module
 */

import type { SaslServer, SaslStep } from "./mechanism.ts";

const dec = new TextDecoder("utf-8", { fatal: true });

/** The server side of one PLAIN exchange. */
export class PlainServer implements SaslServer {
  readonly #check: (user: string, password: string) => Promise<boolean>;
  #done = false;

  constructor(check: (user: string, password: string) => Promise<boolean>) {
    this.#check = check;
  }

  async step(bytes: Uint8Array): Promise<SaslStep> {
    const failed = (why: string): SaslStep => ({ kind: "failed", message: `Authentication failed: ${why}` });
    if (this.#done) return failed("PLAIN takes one message");
    this.#done = true;
    let text: string;
    try {
      text = dec.decode(bytes);
    } catch {
      return failed("the PLAIN message is not UTF-8");
    }
    const parts = text.split("\u0000");
    if (parts.length !== 3) return failed("Invalid SASL/PLAIN response: expected 3 tokens");
    const [authzid, user, password] = parts as [string, string, string];
    if (user === "") return failed("Invalid SASL/PLAIN response: Authentication ID must not be empty");
    if (password === "") return failed("Invalid SASL/PLAIN response: Password must not be empty");
    if (authzid !== "" && authzid !== user) {
      return failed("Authorization ID does not match authentication ID");
    }
    if (!(await this.#check(user, password))) return failed("Invalid username or password");
    return { kind: "done", bytes: new Uint8Array(0), principal: `User:${user}` };
  }
}

/**
 * The users of a Kafka JAAS line for PlainLoginModule:
 * `org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="secret";`
 * @returns user name → password
 */
export function jaasPlainUsers(jaas: string): Map<string, string> {
  const users = new Map<string, string>();
  for (const m of jaas.matchAll(/\buser_([^\s=]+)\s*=\s*"((?:[^"\\]|\\.)*)"/g)) {
    users.set(m[1]!, m[2]!.replace(/\\(.)/g, "$1"));
  }
  return users;
}
