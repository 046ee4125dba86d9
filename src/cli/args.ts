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

/** Options of commands that talk to a cluster. */
export const CLIENT_OPTIONS = {
  ...COMMON_OPTIONS,
  bootstrap: { type: "string", short: "b" },
  "client-id": { type: "string" },
  "timeout-ms": { type: "string" },
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
