/**
 * The `kbin` command line: one entry point with subcommands. Errors print one line on stderr
 * (with the Kafka error name when there is one) and exit non-zero; `--verbose` adds the stack.
 *
 * @module
 */

import { VERSION } from "../version.ts";
import { aclCommand } from "./acl.ts";
import { consumeCommand } from "./consume.ts";
import { groupCommand } from "./group.ts";
import { logDirsCommand } from "./log_dirs.ts";
import { CliError, type CliIo } from "./io.ts";
import { produceCommand } from "./produce.ts";
import { serveCommand } from "./serve.ts";
import { topicCommand } from "./topic.ts";
import { userCommand } from "./user.ts";
import { txnCommand } from "./txn.ts";

export const MAIN_HELP = `kbin ${VERSION}: a Kafka-compatible broker and command line

Usage: kbin <command> [options]

Commands:
  serve                 Run a broker (kbin serve --help)
  topic <command>       Create, list, describe, delete topics, add partitions, delete records
                        (kbin topic --help)
  group <command>       List, describe, delete consumer groups, reset offsets (kbin group --help)
  produce TOPIC         Send lines from stdin or a file as records (kbin produce --help)
  consume TOPIC         Print records, from the end or from anywhere (kbin consume --help)
  log-dirs              Each broker's log directories and partition sizes (kbin log-dirs --help)
  user <command>        SASL/SCRAM users: add, passwd, list, delete (kbin user --help)
  acl <command>         ACLs: add, list, remove (kbin acl --help)
  txn <command>         List, describe transactions and producers, abort hanging ones
                        (kbin txn --help)

Options:
  --version             Print the version
  -h, --help            Show this help
  --verbose             Show stack traces on errors

Client commands contact -b/--bootstrap HOST:PORT, or $KBIN_BOOTSTRAP, or localhost:9092,
and work against any Kafka cluster.
`;

const COMMANDS: Record<string, (args: string[], io: CliIo) => Promise<number>> = {
  serve: serveCommand,
  topic: topicCommand,
  group: groupCommand,
  produce: produceCommand,
  consume: consumeCommand,
  "log-dirs": logDirsCommand,
  user: userCommand,
  acl: aclCommand,
  txn: txnCommand,
};

/**
 * Runs the CLI.
 * @param argv arguments after the program name
 * @returns the process exit code
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const verbose = argv.includes("--verbose");
  const [command, ...rest] = argv;
  try {
    if (command === "--version" || command === "-V" || command === "version") {
      io.stdout(`kbin ${VERSION}\n`);
      return 0;
    }
    if (command === undefined || command === "--help" || command === "-h" || command === "help") {
      io.stdout(MAIN_HELP);
      return command === undefined ? 2 : 0;
    }
    const run = COMMANDS[command];
    if (!run) throw new CliError(`unknown command "${command}" (see "kbin --help")`, 2);
    return await run(rest, io);
  } catch (err) {
    if (err instanceof CliError) {
      io.stderr(`kbin: ${err.message}\n`);
      if (verbose && err.stack) io.stderr(err.stack + "\n");
      return err.exitCode;
    }
    const e = err as Error;
    io.stderr(`kbin: unexpected error: ${e?.message ?? String(err)}\n`);
    if (verbose && e?.stack) io.stderr(e.stack + "\n");
    return 1;
  }
}
