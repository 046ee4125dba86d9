/**
 * What a CLI command gets from its runtime: capabilities, output, environment and signals.
 *
 * @module
 */

import type { Runtime } from "../ports.ts";

/** The CLI's view of the process. */
export interface CliIo {
  runtime: Runtime;
  /** Writes text to standard output as is. */
  stdout(text: string): void;
  /** Writes text to standard error as is. */
  stderr(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  /** Calls `handler` on SIGINT or SIGTERM; returns a function that removes it. */
  onShutdownSignal(handler: (signal: string) => void): () => void;
  /** Standard input as a byte stream (`kbin produce`). */
  stdin?: () => ReadableStream<Uint8Array>;
  /** Writes bytes to standard output as they are; a returned promise means "wait before writing more". */
  stdoutBytes?: (bytes: Uint8Array) => void | Promise<void>;
  /** Whether a standard stream is a terminal (progress lines). */
  isTerminal?: (stream: "stdin" | "stdout" | "stderr") => boolean;
  /** Asks for a secret on the terminal without echoing it (`kbin user add`). */
  readSecret?: (prompt: string) => Promise<string>;
}

/** A failure the CLI reports as one line (exit status 1), with the Kafka error name if any. */
export class CliError extends Error {
  readonly code = "KBIN_CLI";
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}
