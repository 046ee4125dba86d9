/**
 * The user store: each user's SCRAM credentials (salt, iterations, StoredKey, ServerKey per
 * mechanism), a document per user in the storage's state (namespace `scram-credentials`), so every
 * engine keeps them and every broker sharing a PostgreSQL sees a change at its next login.
 * Passwords are never stored: SCRAM needs only the derived keys, and PLAIN is checked by deriving
 * them again.
 *
 * @module
 */

import type { StateStorage } from "../../storage/engine.ts";
import { fromBase64, toBase64 } from "../../protocol/sasl/crypto.ts";
import { SCRAM_MECHANISMS, type ScramCredential, type ScramMechanism } from "./scram.ts";

const NS = "scram-credentials";

type Stored = Partial<
  Record<ScramMechanism, { salt: string; iterations: number; storedKey: string; serverKey: string }>
>;

function decode(s: Stored[ScramMechanism]): ScramCredential | null {
  if (!s) return null;
  const salt = fromBase64(s.salt);
  const storedKey = fromBase64(s.storedKey);
  const serverKey = fromBase64(s.serverKey);
  if (!salt || !storedKey || !serverKey || !Number.isInteger(s.iterations)) return null;
  return { salt, iterations: s.iterations, storedKey, serverKey };
}

/** Users and their SCRAM credentials. */
export class UserStore {
  readonly #state: StateStorage;

  constructor(state: StateStorage) {
    this.#state = state;
  }

  async #load(user: string): Promise<Stored> {
    const text = await this.#state.get(NS, user);
    if (text === null) return {};
    try {
      return JSON.parse(text) as Stored;
    } catch {
      return {};
    }
  }

  /** A user's credential for one mechanism, or null. */
  async credential(user: string, mechanism: ScramMechanism): Promise<ScramCredential | null> {
    return decode((await this.#load(user))[mechanism]);
  }

  /** Every credential of a user. */
  async credentials(user: string): Promise<[ScramMechanism, ScramCredential][]> {
    const stored = await this.#load(user);
    const out: [ScramMechanism, ScramCredential][] = [];
    for (const m of Object.keys(SCRAM_MECHANISMS) as ScramMechanism[]) {
      const c = decode(stored[m]);
      if (c) out.push([m, c]);
    }
    return out;
  }

  /** Every user with at least one credential: name → mechanisms and iterations, sorted by name. */
  async list(): Promise<{ user: string; mechanisms: { mechanism: ScramMechanism; iterations: number }[] }[]> {
    const out = [];
    for (const [user, text] of await this.#state.list(NS)) {
      let stored: Stored;
      try {
        stored = JSON.parse(text) as Stored;
      } catch {
        continue;
      }
      const mechanisms = (Object.keys(SCRAM_MECHANISMS) as ScramMechanism[])
        .filter((m) => stored[m])
        .map((m) => ({ mechanism: m, iterations: stored[m]!.iterations }));
      if (mechanisms.length > 0) out.push({ user, mechanisms });
    }
    return out;
  }

  /**
   * Applies deletions and upsertions of one user at once.
   * @returns false when a deletion names a credential the user does not have (nothing changes)
   */
  async alter(
    user: string,
    deletions: readonly ScramMechanism[],
    upsertions: readonly [ScramMechanism, ScramCredential][],
  ): Promise<boolean> {
    const stored = await this.#load(user);
    for (const m of deletions) {
      if (!stored[m]) return false;
      delete stored[m];
    }
    for (const [m, c] of upsertions) {
      stored[m] = {
        salt: toBase64(c.salt),
        iterations: c.iterations,
        storedKey: toBase64(c.storedKey),
        serverKey: toBase64(c.serverKey),
      };
    }
    const empty = Object.keys(stored).length === 0;
    await this.#state.put(NS, [[user, empty ? null : JSON.stringify(stored)]]);
    return true;
  }
}
