/**
 * Entry point of `kbin` on Deno: `deno run -A src/runtime/deno/main.ts serve`.
 *
 * @module
 */

import { runCli } from "../../cli/main.ts";
import { denoRuntime } from "./runtime.ts";

const encoder = new TextEncoder();
function writeAll(stream: { writeSync(p: Uint8Array): number }, data: string | Uint8Array): void {
  let bytes = typeof data === "string" ? encoder.encode(data) : data;
  while (bytes.length > 0) bytes = bytes.subarray(stream.writeSync(bytes));
}

const code = await runCli(Deno.args, {
  runtime: denoRuntime,
  stdout: (text) => writeAll(Deno.stdout, text),
  stderr: (text) => writeAll(Deno.stderr, text),
  env: Deno.env.toObject(),
  stdin: () => Deno.stdin.readable,
  stdoutBytes: (bytes) => writeAll(Deno.stdout, bytes),
  isTerminal: (stream) => ({ stdin: Deno.stdin, stdout: Deno.stdout, stderr: Deno.stderr })[stream].isTerminal(),
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
