/**
 * Argument parsing for subcommands on top of `node:util` parseArgs, with `--help` on every
 * command and one-line errors.
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";
import { CliError, type CliIo } from "./io.ts";

/** Options accepted by every command. */
export const COMMON_OPTIONS = {
  help: { type: "boolean", short: "h" },
  verbose: { type: "boolean" },
} as const satisfies ParseArgsConfig["options"];

/** The help lines of {@link CLIENT_OPTIONS}, for every client command's help text. */
export const CLIENT_OPTIONS_HELP =
  `  -b, --bootstrap HOST:PORT[,…]   Brokers to contact (default $KBIN_BOOTSTRAP or localhost:9092)
  --client-id ID                  Client id sent to the broker (default kbin-cli)
  --timeout-ms MS                 Request timeout (default 30000)
  --command-config FILE           Kafka client properties for TLS and SASL (security.protocol,
                                  sasl.mechanism, sasl.jaas.config, ssl.truststore.location, …;
                                  default $KBIN_COMMAND_CONFIG)
`;

/** Options of commands that talk to a cluster. */
export const CLIENT_OPTIONS = {
  ...COMMON_OPTIONS,
  bootstrap: { type: "string", short: "b" },
  "client-id": { type: "string" },
  "timeout-ms": { type: "string" },
  "command-config": { type: "string" },
} as const satisfies ParseArgsConfig["options"];

/**
 * Parses `args` for one command. Unknown options are errors that name the command.
 * @returns the parsed values and positionals
 */
export function parseCommandArgs<O extends NonNullable<ParseArgsConfig["options"]>>(
  command: string,
  args: string[],
  options: O,
) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliError(`${command}: ${(err as Error).message.split("\n")[0]} (see "kbin ${command} --help")`, 2);
  }
}

/** What a command family (`kbin topic`, `kbin group`) declares for {@link parseSubcommand}. */
export interface SubcommandSpec<O extends NonNullable<ParseArgsConfig["options"]>> {
  /** `topic`, `group`: the word after `kbin`. */
  family: string;
  /** The family's help text (printed for no command, `help`, `-h`, `--help`). */
  help: string;
  /** Each command's help text; its keys are the known commands. */
  commands: Readonly<Record<string, string>>;
  /** Every option of the family, {@link CLIENT_OPTIONS} included. */
  options: O;
  /** The options each command takes besides {@link CLIENT_OPTIONS}. */
  ownOptions: Readonly<Record<string, readonly string[]>>;
  /** Rewrites the command's arguments before parsing (default: as given). */
  prepare?: (args: string[]) => string[];
}

/**
 * Parses `kbin <family> <command> …`: prints help and returns the exit code for a help request,
 * otherwise parses the command's options and refuses the family's options the command does not
 * take. Unknown commands and options are usage errors (exit 2).
 * @returns the exit code after printing help, or the command with its parsed values
 */
export function parseSubcommand<O extends NonNullable<ParseArgsConfig["options"]>>(
  args: string[],
  io: CliIo,
  spec: SubcommandSpec<O>,
): number | { sub: string; cmd: string } & ReturnType<typeof parseCommandArgs<O>> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === "-h" || sub === "--help" || sub === "help") {
    io.stdout(spec.help);
    return sub === undefined ? 2 : 0;
  }
  const help = spec.commands[sub];
  if (!help) throw new CliError(`${spec.family}: unknown command "${sub}" (see "kbin ${spec.family} --help")`, 2);
  const cmd = `${spec.family} ${sub}`;
  const parsed = parseCommandArgs(cmd, spec.prepare ? spec.prepare(rest) : rest, spec.options);
  if ((parsed.values as { help?: boolean }).help) {
    io.stdout(help);
    return 0;
  }
  const allowed = new Set([...Object.keys(CLIENT_OPTIONS), ...spec.ownOptions[sub]!]);
  for (const name of Object.keys(parsed.values)) {
    if (!allowed.has(name)) throw new CliError(`${cmd}: unknown option "--${name}" (see "kbin ${cmd} --help")`, 2);
  }
  return { sub, cmd, ...parsed };
}

/** Parses a whole number option, or throws a usage error. */
export function intOption(command: string, name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value.trim())) {
    throw new CliError(`${command}: --${name} must be a whole number, got "${value}"`, 2);
  }
  return Number(value);
}

/** The bootstrap list from -b/--bootstrap, else KBIN_BOOTSTRAP, else localhost:9092. */
export function bootstrapList(io: CliIo, value: string | undefined): string[] {
  const text = value ?? io.env["KBIN_BOOTSTRAP"] ?? "localhost:9092";
  return text.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/** Parses repeated `name=value` options into pairs. */
export function keyValues(command: string, flag: string, values: readonly string[] | undefined): [string, string][] {
  return (values ?? []).map((kv) => {
    const i = kv.indexOf("=");
    if (i <= 0) throw new CliError(`${command}: ${flag} expects name=value, got "${kv}"`, 2);
    return [kv.slice(0, i).trim(), kv.slice(i + 1)];
  });
}
