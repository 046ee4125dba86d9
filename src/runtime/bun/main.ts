/**
 * Entry point of the `kbin` executable on Bun (`bun build --compile` builds this file).
 *
 * @module
 */

import { runCli } from "../../cli/main.ts";
import { bunRuntime } from "./runtime.ts";

const code = await runCli(process.argv.slice(2), {
  runtime: bunRuntime,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  onShutdownSignal(handler) {
    const onInt = () => handler("SIGINT");
    const onTerm = () => handler("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
    return () => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
    };
  },
});
process.exit(code);
