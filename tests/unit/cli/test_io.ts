/**
 * An in-process {@link CliIo} for CLI tests: stdin from bytes (or a stream the test
 * controls), stdout and stderr captured, and a Ctrl-C the test can press.
 *
 * @module
 */
import type { CliIo } from "../../../src/cli/io.ts";
import { runCli } from "../../../src/cli/main.ts";
import type { Runtime } from "../../../src/ports.ts";
import { connect, openFileSystem, runtimeName } from "../../support/runtime.ts";

/** What one run printed and returned. */
export interface CliRun {
  code: number;
  stdout: string;
  stdoutBytes: Uint8Array;
  stderr: string;
}

/** A test io; `interrupt()` delivers SIGINT to whatever the command registered. */
export interface TestIo {
  io: CliIo;
  interrupt(): void;
  stderr(): string;
  stdout(): string;
  /** Resolves when stderr or stdout contains `text`. */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
}

const runtime = {
  name: runtimeName,
  connect,
  fs: openFileSystem(),
  clock: { now: () => Date.now() },
  codecs: {},
} as unknown as Runtime;

/**
 * @param options.stdin bytes or text for stdin, or a stream (default: empty)
 * @param options.bytesOut offer `stdoutBytes` (default true); false exercises the text fallback
 */
export function testIo(
  options: {
    stdin?: string | Uint8Array | ReadableStream<Uint8Array>;
    env?: Record<string, string>;
    bytesOut?: boolean;
    terminal?: boolean;
  } = {},
): TestIo & { result(code: number): CliRun } {
  let out = "";
  let err = "";
  const chunks: Uint8Array[] = [];
  const handlers = new Set<(signal: string) => void>();
  const waiters: { text: string; resolve: () => void }[] = [];
  const decoder = new TextDecoder();
  const check = () => {
    for (const w of [...waiters]) {
      if (out.includes(w.text) || err.includes(w.text)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  const stdin = options.stdin;
  const io: CliIo = {
    runtime,
    stdout: (t) => {
      out += t;
      check();
    },
    stderr: (t) => {
      err += t;
      check();
    },
    env: options.env ?? {},
    onShutdownSignal(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    stdin: () =>
      stdin instanceof ReadableStream ? stdin : new ReadableStream<Uint8Array>({
        start(c) {
          const bytes = typeof stdin === "string" ? new TextEncoder().encode(stdin) : stdin ?? new Uint8Array(0);
          if (bytes.length > 0) c.enqueue(bytes);
          c.close();
        },
      }),
    isTerminal: () => options.terminal ?? false,
  };
  if (options.bytesOut !== false) {
    io.stdoutBytes = (b) => {
      chunks.push(b.slice());
      out += decoder.decode(b, { stream: true });
      check();
    };
  }
  return {
    io,
    interrupt: () => handlers.forEach((h) => h("SIGINT")),
    stderr: () => err,
    stdout: () => out,
    waitFor(text, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`"${text}" not seen in ${timeoutMs} ms:\n${out}\n${err}`)),
          timeoutMs,
        );
        waiters.push({
          text,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
        check();
      });
    },
    result(code) {
      const total = chunks.reduce((n, c) => n + c.length, 0);
      const stdoutBytes = new Uint8Array(total);
      let at = 0;
      for (const c of chunks) {
        stdoutBytes.set(c, at);
        at += c.length;
      }
      return { code, stdout: out, stdoutBytes, stderr: err };
    },
  };
}

/** Runs `kbin ARGS` in-process. */
export async function kbin(args: string[], options: Parameters<typeof testIo>[0] = {}): Promise<CliRun> {
  const t = testIo(options);
  return t.result(await runCli(args, t.io));
}
