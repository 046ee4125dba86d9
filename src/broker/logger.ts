/**
 * A small structured logger: one line per event, `time LEVEL message key=value …`.
 *
 * @module
 */

import type { Logger } from "../ports.ts";

/** Log levels in increasing severity. */
export const LogLevel = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
/** One of the {@link LogLevel} names. */
export type LogLevelName = keyof typeof LogLevel;

function formatValue(v: unknown): string {
  if (typeof v === "string") return /[\s"=]/.test(v) || v === "" ? JSON.stringify(v) : v;
  if (typeof v === "bigint") return v.toString();
  if (v instanceof Error) return JSON.stringify(v.message);
  return JSON.stringify(v) ?? String(v);
}

/**
 * Creates a logger that writes formatted lines through `write`.
 * @param write receives each formatted line without a trailing newline
 * @param options.level minimum level to write (default "info")
 */
export function createLogger(
  write: (line: string) => void,
  options: { level?: LogLevelName; clock?: { now(): number } } = {},
): Logger {
  const min = LogLevel[options.level ?? "info"];
  const now = options.clock ?? Date;
  const emit = (level: Exclude<LogLevelName, "silent">) => (message: string, fields?: Record<string, unknown>) => {
    if (LogLevel[level] < min) return;
    let line = `${new Date(now.now()).toISOString()} ${level.toUpperCase().padEnd(5)} ${message}`;
    if (fields) { for (const [k, v] of Object.entries(fields)) if (v !== undefined) line += ` ${k}=${formatValue(v)}`; }
    write(line);
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}

/** A logger that drops everything (embedded brokers in tests). */
export const silentLogger: Logger = createLogger(() => {}, { level: "silent" });
