/**
 * Entry point of `kbin` on Deno: `deno run -A src/runtime/deno/main.ts serve`.
 *
 * @module
 */

import { runCli } from "../../cli/main.ts";
import { denoRuntime } from "./runtime.ts";

const encoder = new TextEncoder();
function writeAll(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = encoder.encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(stream.writeSync(bytes));
}

const code = await runCli(Deno.args, {
  runtime: denoRuntime,
  stdout: (text) => writeAll(Deno.stdout, text),
  stderr: (text) => writeAll(Deno.stderr, text),
  env: Deno.env.toObject(),
  onShutdownSignal(handler) {
    const onInt = () => handler("SIGINT");
    const onTerm = () => handler("SIGTERM");
    Deno.addSignalListener("SIGINT", onInt);
    Deno.addSignalListener("SIGTERM", onTerm);
    return () => {
      Deno.removeSignalListener("SIGINT", onInt);
      Deno.removeSignalListener("SIGTERM", onTerm);
    };
  },
});
Deno.exit(code);
