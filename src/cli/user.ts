/**
 * `kbin user`: SASL/SCRAM users, as Kafka's `kafka-configs.sh --entity-type users
 * --alter --add-config 'SCRAM-SHA-256=[password=…]'` manages them. The password is salted and
 * iterated here (PBKDF2), and only the salted form goes to the broker (AlterUserScramCredentials),
 * so the commands work against any Kafka. `--local` writes the user store of a data directory or
 * storage URL directly, to create the first admin before the broker starts (as
 * `kafka-storage.sh format --add-scram`).
 *
 * @module
 */

import { ALTER_USER_SCRAM_CREDENTIALS_API } from "../protocol/generated/51_alter_user_scram_credentials.ts";
import { DESCRIBE_USER_SCRAM_CREDENTIALS_API } from "../protocol/generated/50_describe_user_scram_credentials.ts";
import type { KafkaClient } from "../client/client.ts";
import { silentLogger } from "../broker/logger.ts";
import { UserStore } from "../broker/sasl/credentials.ts";
import { randomBytes } from "../protocol/sasl/crypto.ts";
import {
  credentialOf,
  MAX_ITERATIONS,
  MIN_ITERATIONS,
  saltPassword,
  SCRAM_MECHANISMS,
  type ScramMechanism,
  scramMechanismById,
} from "../broker/sasl/scram.ts";
import { createCodecs } from "../protocol/compression/mod.ts";
import { DEFAULT_LOG_CONFIG } from "../storage/engine.ts";
import { openStorage } from "../storage/open.ts";
import { CLIENT_OPTIONS, CLIENT_OPTIONS_HELP, intOption, parseSubcommand } from "./args.ts";
import { check, withClient } from "./client_env.ts";
import { CliError, type CliIo } from "./io.ts";

const LOCAL_HELP = `  --local                 Write the user store directly (before the broker starts), with:
  --data-dir DIR          the broker's data directory (file: storage), or
  --storage URL           its storage URL (file:DIR, postgres://…)
`;

const CONNECTION_HELP = `Connection options:
${CLIENT_OPTIONS_HELP}`;

const ADD_HELP = `Usage: kbin user add NAME [--mechanism SCRAM-SHA-256|SCRAM-SHA-512]... [--password-stdin]

Creates a SASL/SCRAM user (or replaces its password): both SCRAM mechanisms unless one is named.
The password is read from standard input with --password-stdin (its first line), else asked for
on the terminal without echo. Only a salted, iterated form is sent and stored.
  --mechanism M           SCRAM-SHA-256 or SCRAM-SHA-512 (repeatable; default both)
  --iterations N          PBKDF2 iterations, ${MIN_ITERATIONS}–${MAX_ITERATIONS} (default 8192)
  --password-stdin        Read the password from standard input
${LOCAL_HELP}
${CONNECTION_HELP}`;

export const USER_HELP = `Usage: kbin user <command> [options]

Commands:
  add NAME        Create a SCRAM user, or replace its password
  passwd NAME     Change an existing user's password
  list            Users and their SCRAM mechanisms and iterations
  delete NAME     Remove a user's credentials (every mechanism unless --mechanism)

Run "kbin user <command> --help" for a command's options. They speak the Kafka protocol
(DescribeUserScramCredentials, AlterUserScramCredentials), so they work against any Kafka.
`;

const OPTIONS = {
  ...CLIENT_OPTIONS,
  mechanism: { type: "string", multiple: true },
  iterations: { type: "string" },
  "password-stdin": { type: "boolean" },
  local: { type: "boolean" },
  "data-dir": { type: "string" },
  storage: { type: "string" },
  json: { type: "boolean" },
} as const;

const LOCAL = ["local", "data-dir", "storage"];

const COMMANDS = {
  add: ADD_HELP,
  passwd: ADD_HELP.replaceAll("kbin user add", "kbin user passwd").replace(
    "Creates a SASL/SCRAM user (or replaces its password)",
    "Changes an existing user's password",
  ),
  list:
    `Usage: kbin user list [--json]\n\nLists the users with SCRAM credentials and their mechanisms.\n${LOCAL_HELP}\n${CONNECTION_HELP}`,
  delete:
    `Usage: kbin user delete NAME [--mechanism M]...\n\nRemoves a user's SCRAM credentials (every mechanism it has unless named).\n${LOCAL_HELP}\n${CONNECTION_HELP}`,
};

/** The users and mechanisms, however they are reached. */
interface UserAdmin {
  list(): Promise<{ user: string; mechanisms: { mechanism: ScramMechanism; iterations: number }[] }[]>;
  upsert(
    user: string,
    mechanism: ScramMechanism,
    salt: Uint8Array,
    salted: Uint8Array,
    iterations: number,
  ): Promise<void>;
  remove(user: string, mechanisms: ScramMechanism[]): Promise<void>;
}

function remoteAdmin(client: KafkaClient, cmd: string): UserAdmin {
  return {
    async list() {
      const { response } = await client.send(DESCRIBE_USER_SCRAM_CREDENTIALS_API, () => ({ users: null }));
      check(`${cmd}: cannot list users`, response.errorCode, response.errorMessage);
      return response.results.map((r) => ({
        user: r.user,
        mechanisms: r.credentialInfos.flatMap((c) => {
          const m = scramMechanismById(c.mechanism);
          return m ? [{ mechanism: m, iterations: c.iterations }] : [];
        }),
      }));
    },
    async upsert(user, mechanism, salt, salted, iterations) {
      const { response } = await client.send(ALTER_USER_SCRAM_CREDENTIALS_API, () => ({
        deletions: [],
        upsertions: [{
          name: user,
          mechanism: SCRAM_MECHANISMS[mechanism].id,
          iterations,
          salt,
          saltedPassword: salted,
        }],
      }));
      for (const r of response.results) {
        check(`${cmd}: cannot set ${mechanism} for ${r.user}`, r.errorCode, r.errorMessage);
      }
    },
    async remove(user, mechanisms) {
      const { response } = await client.send(ALTER_USER_SCRAM_CREDENTIALS_API, () => ({
        deletions: mechanisms.map((m) => ({ name: user, mechanism: SCRAM_MECHANISMS[m].id })),
        upsertions: [],
      }));
      for (const r of response.results) check(`${cmd}: cannot delete ${r.user}`, r.errorCode, r.errorMessage);
    },
  };
}

function localAdmin(store: UserStore): UserAdmin {
  return {
    list: () => store.list(),
    async upsert(user, mechanism, salt, salted, iterations) {
      await store.alter(user, [], [[mechanism, await credentialOf(mechanism, salt, salted, iterations)]]);
    },
    async remove(user, mechanisms) {
      if (!(await store.alter(user, mechanisms, []))) {
        throw new CliError(`user delete: ${user} has no credential for ${mechanisms.join(", ")}`);
      }
    },
  };
}

async function readPassword(io: CliIo, cmd: string, fromStdin: boolean): Promise<string> {
  if (!fromStdin) {
    if (io.readSecret && io.isTerminal?.("stdin")) {
      const first = await io.readSecret("Password: ");
      const again = await io.readSecret("Password again: ");
      if (first !== again) throw new CliError(`${cmd}: the passwords differ`);
      if (first === "") throw new CliError(`${cmd}: the password must not be empty`);
      return first;
    }
    throw new CliError(`${cmd}: no terminal to ask for the password on; use --password-stdin`, 2);
  }
  if (!io.stdin) throw new CliError(`${cmd}: standard input is not available`, 2);
  const reader = io.stdin().getReader();
  const chunks: Uint8Array[] = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    chunks.push(value);
    if (value.includes(10)) break;
  }
  reader.releaseLock();
  const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  const password = text.split(/\r?\n/)[0] ?? "";
  if (password === "") throw new CliError(`${cmd}: the password read from standard input is empty`);
  return password;
}

function mechanismsOf(cmd: string, given: string[] | undefined): ScramMechanism[] {
  if (given === undefined) return Object.keys(SCRAM_MECHANISMS) as ScramMechanism[];
  return given.map((m) => {
    const name = m.toUpperCase();
    if (!(name in SCRAM_MECHANISMS)) {
      throw new CliError(`${cmd}: unknown mechanism "${m}" (SCRAM-SHA-256 or SCRAM-SHA-512)`, 2);
    }
    return name as ScramMechanism;
  });
}

/** Runs `kbin user`. */
export async function userCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = parseSubcommand(args, io, {
    family: "user",
    help: USER_HELP,
    commands: COMMANDS,
    options: OPTIONS,
    ownOptions: {
      add: ["mechanism", "iterations", "password-stdin", ...LOCAL],
      passwd: ["mechanism", "iterations", "password-stdin", ...LOCAL],
      list: ["json", ...LOCAL],
      delete: ["mechanism", ...LOCAL],
    },
  });
  if (typeof parsed === "number") return parsed;
  const { sub, cmd, values, positionals } = parsed;
  const wantsName = sub !== "list";
  if (wantsName && positionals.length !== 1) throw new CliError(`${cmd}: expected one user NAME`, 2);
  if (!wantsName && positionals.length > 0) throw new CliError(`${cmd}: unexpected argument "${positionals[0]}"`, 2);
  const name = positionals[0] ?? "";
  const run = async (admin: UserAdmin): Promise<number> => {
    if (sub === "list") {
      const users = await admin.list();
      if (values.json) io.stdout(JSON.stringify(users) + "\n");
      else {
        for (const u of users) {
          io.stdout(`${u.user}\t${u.mechanisms.map((m) => `${m.mechanism}(iterations=${m.iterations})`).join(" ")}\n`);
        }
      }
      return 0;
    }
    const existing = (await admin.list()).find((u) => u.user === name);
    if (sub === "delete") {
      const mechanisms = values.mechanism === undefined
        ? (existing?.mechanisms.map((m) => m.mechanism) ?? [])
        : mechanismsOf(cmd, values.mechanism);
      if (mechanisms.length === 0) throw new CliError(`${cmd}: user ${name} does not exist`);
      await admin.remove(name, mechanisms);
      io.stdout(`Deleted ${mechanisms.join(", ")} credentials of ${name}\n`);
      return 0;
    }
    if (sub === "passwd" && !existing) throw new CliError(`${cmd}: user ${name} does not exist (use kbin user add)`);
    const mechanisms = mechanismsOf(cmd, values.mechanism);
    const iterations = intOption(cmd, "iterations", values.iterations, 8192);
    if (iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
      throw new CliError(`${cmd}: --iterations must be ${MIN_ITERATIONS}–${MAX_ITERATIONS}, got ${iterations}`, 2);
    }
    const password = await readPassword(io, cmd, values["password-stdin"] === true);
    for (const m of mechanisms) {
      const salt = randomBytes(32);
      await admin.upsert(name, m, salt, await saltPassword(m, password, salt, iterations), iterations);
    }
    io.stdout(`${sub === "add" && !existing ? "Created" : "Updated"} ${name} (${mechanisms.join(", ")})\n`);
    return 0;
  };
  if (values.local) {
    if ((values["data-dir"] === undefined) === (values.storage === undefined)) {
      throw new CliError(`${cmd}: --local needs exactly one of --data-dir DIR or --storage URL`, 2);
    }
    const url = values.storage ?? `file:${values["data-dir"]}`;
    const codecs = createCodecs(io.runtime.codecs);
    const storage = await openStorage(url, {
      fs: io.runtime.fs,
      openDatabase: io.runtime.openDatabase,
      connectPostgres: io.runtime.connectPostgres,
      clock: io.runtime.clock,
      logger: silentLogger,
      decompress: (c, d) => codecs.decompress(c, d),
      compress: (c, d) => codecs.compress(c, d),
      logConfig: () => DEFAULT_LOG_CONFIG,
    });
    try {
      return await run(localAdmin(new UserStore(storage.state)));
    } finally {
      await storage.close();
    }
  }
  for (const l of LOCAL) {
    if (values[l as keyof typeof values] !== undefined) throw new CliError(`${cmd}: --${l} needs --local`, 2);
  }
  return await withClient(cmd, io, values, (client) => run(remoteAdmin(client, cmd)));
}
