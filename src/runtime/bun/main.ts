/**
 * Entry point of the `kbin` executable on Bun (`bun build --compile` builds this file).
 *
 * @module
 */

import { runCli } from "../../cli/main.ts";
import { bunRuntime } from "./runtime.ts";

// Write errors (EPIPE when the reader goes away) reach stdoutBytes' callback; without a
// listener the stream would also throw them as uncaught.
process.stdout.on("error", () => {});

const code = await runCli(process.argv.slice(2), {
  runtime: bunRuntime,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  stdin: () => Bun.stdin.stream(),
  stdoutBytes: (bytes) =>
    new Promise<void>((resolve, reject) => process.stdout.write(bytes, (err) => (err ? reject(err) : resolve()))),
  isTerminal: (stream) => Boolean(process[stream].isTTY),
  readSecret: (prompt) =>
    new Promise<string>((resolve) => {
      process.stderr.write(prompt);
      process.stdin.setRawMode(true);
      process.stdin.resume();
      let text = "";
      const onData = (chunk: Buffer) => {
        for (const ch of chunk.toString("utf8")) {
          if (ch === "\r" || ch === "\n" || ch === "\u0004") {
            process.stdin.off("data", onData);
            process.stdin.setRawMode(false);
            process.stdin.pause();
            process.stderr.write("\n");
            resolve(text);
            return;
          }
          if (ch === "\u0003") process.exit(130);
          text = ch === "\u007f" ? text.slice(0, -1) : text + ch;
        }
      };
      process.stdin.on("data", onData);
    }),
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
