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
  async readSecret(prompt) {
    const enc = new TextEncoder();
    await Deno.stderr.write(enc.encode(prompt));
    Deno.stdin.setRaw(true);
    let text = "";
    try {
      const buf = new Uint8Array(64);
      read: for (;;) {
        const n = await Deno.stdin.read(buf);
        if (n === null) break;
        for (const ch of new TextDecoder().decode(buf.subarray(0, n))) {
          if (ch === "\r" || ch === "\n" || ch === "\u0004") break read;
          if (ch === "\u0003") Deno.exit(130);
          text = ch === "\u007f" ? text.slice(0, -1) : text + ch;
        }
      }
    } finally {
      Deno.stdin.setRaw(false);
      await Deno.stderr.write(enc.encode("\n"));
    }
    return text;
  },
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
