/**
 * Bytes in and out for `kbin produce` and `kbin consume`: the `--format` template, a batching
 * output buffer, line splitting for input, and fallbacks for the optional stream capabilities of
 * {@link CliIo} (stdin as a stream, raw stdout bytes, terminal detection).
 *
 * @module
 */

import type { AbsoluteRecord } from "../protocol/records/mod.ts";
import { CliError, type CliIo } from "./io.ts";

/** One piece of a parsed `--format`. */
export type FormatPart =
  | { kind: "literal"; bytes: Uint8Array }
  | { kind: "key" | "value" | "headers" | "partition" | "offset" | "timestamp" | "topic" };

const PLACEHOLDERS: Record<string, FormatPart["kind"]> = {
  k: "key",
  v: "value",
  h: "headers",
  p: "partition",
  o: "offset",
  t: "timestamp",
  T: "topic",
};
const ESCAPES: Record<string, string> = { n: "\n", t: "\t", r: "\r", "\\": "\\", "0": "\0" };
const ENCODER = new TextEncoder();

/** The placeholders and escapes `--format` understands, for help texts. */
export const FORMAT_HELP = `  %k key   %v value   %h headers (name=value,…)   %p partition   %o offset
  %t timestamp (ms)   %T topic   %% a percent sign
  \\n newline   \\t tab   \\r carriage return   \\\\ backslash   \\0 NUL`;

/**
 * Parses a `--format` template.
 * @param text e.g. `%k\t%v\n` (the backslash escapes are two characters as typed in a shell)
 * @throws CliError (usage, exit 2) for an unknown placeholder or escape, or a lone `%` or `\` at the end
 * @example
 * parseFormat("%p:%o %v\\n"); // partition, ":", offset, " ", value, newline
 */
export function parseFormat(text: string): FormatPart[] {
  const parts: FormatPart[] = [];
  let literal = "";
  const flush = () => {
    if (literal !== "") parts.push({ kind: "literal", bytes: ENCODER.encode(literal) });
    literal = "";
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== "%" && c !== "\\") {
      literal += c;
      continue;
    }
    const n = text[i + 1];
    if (n === undefined) {
      throw new CliError(`consume: --format ends with a lone "${c}" (use "${c}${c}" for a literal one)`, 2);
    }
    i++;
    if (c === "\\") {
      const e = ESCAPES[n];
      if (e === undefined) throw new CliError(`consume: --format has an unknown escape "\\${n}"`, 2);
      literal += e;
    } else if (n === "%") {
      literal += "%";
    } else {
      const kind = PLACEHOLDERS[n];
      if (kind === undefined) throw new CliError(`consume: --format has an unknown placeholder "%${n}"`, 2);
      flush();
      parts.push({ kind } as FormatPart);
    }
  }
  flush();
  return parts;
}

/**
 * Collects output bytes and writes them in large chunks: one write per `flushBytes` (default
 * 64 KiB) or per {@link flush}, not one per record.
 */
export class OutputBuffer {
  #buf: Uint8Array;
  #len = 0;
  readonly #flushBytes: number;
  readonly #write: (bytes: Uint8Array) => void | Promise<void>;

  constructor(write: (bytes: Uint8Array) => void | Promise<void>, options: { flushBytes?: number } = {}) {
    this.#write = write;
    this.#flushBytes = options.flushBytes ?? 64 * 1024;
    this.#buf = new Uint8Array(this.#flushBytes * 2);
  }

  /** Bytes waiting to be written. */
  get length(): number {
    return this.#len;
  }

  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  /** Appends bytes as they are. */
  bytes(b: Uint8Array): void {
    this.#reserve(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
  }

  /** Appends text whose characters are all below U+0080 (numbers, names), without an encoder. */
  ascii(s: string): void {
    this.#reserve(s.length);
    const buf = this.#buf;
    let at = this.#len;
    for (let i = 0; i < s.length; i++) buf[at++] = s.charCodeAt(i);
    this.#len = at;
  }

  /** Appends any text as UTF-8. */
  text(s: string): void {
    this.bytes(ENCODER.encode(s));
  }

  /** Writes when the buffer is past its threshold; returns the write's promise if it has one. */
  maybeFlush(): void | Promise<void> {
    if (this.#len >= this.#flushBytes) return this.flush();
  }

  /** Writes whatever is buffered. */
  flush(): void | Promise<void> {
    if (this.#len === 0) return;
    const out = this.#buf.slice(0, this.#len);
    this.#len = 0;
    return this.#write(out);
  }
}

/** Where a record came from, for `%p`, `%T`. */
export interface RecordContext {
  topic: string;
  topicBytes: Uint8Array;
  partition: number;
}

/** True when every character of `s` is below U+0080. */
function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * Appends one record to `out` as the template says. Null keys, values and header values print
 * as nothing.
 */
export function formatRecord(
  parts: readonly FormatPart[],
  record: AbsoluteRecord,
  ctx: RecordContext,
  out: OutputBuffer,
): void {
  for (const part of parts) {
    switch (part.kind) {
      case "literal":
        out.bytes(part.bytes);
        break;
      case "value":
        if (record.value !== null) out.bytes(record.value);
        break;
      case "key":
        if (record.key !== null) out.bytes(record.key);
        break;
      case "partition":
        out.ascii(String(ctx.partition));
        break;
      case "offset":
        out.ascii(String(record.offset));
        break;
      case "timestamp":
        out.ascii(String(record.timestamp));
        break;
      case "topic":
        out.bytes(ctx.topicBytes);
        break;
      case "headers":
        for (let i = 0; i < record.headers.length; i++) {
          const h = record.headers[i]!;
          if (i > 0) out.ascii(",");
          if (isAscii(h.key)) out.ascii(h.key);
          else out.text(h.key);
          out.ascii("=");
          if (h.value !== null) out.bytes(h.value);
        }
        break;
    }
  }
}

/**
 * Splits a byte stream into lines at `\n` (a `\r` before it stays part of the line, so bytes
 * round-trip exactly). A last line without a newline counts; an empty input has no lines.
 * Lines are views into the chunks, copied only when a line spans two chunks.
 */
export class LineSplitter {
  #carry: Uint8Array | null = null;

  /**
   * @param chunk the next bytes
   * @returns the lines completed by this chunk
   */
  push(chunk: Uint8Array): Uint8Array[] {
    const lines: Uint8Array[] = [];
    let start = 0;
    let nl = chunk.indexOf(10);
    if (nl >= 0 && this.#carry !== null) {
      const joined = new Uint8Array(this.#carry.length + nl);
      joined.set(this.#carry);
      joined.set(chunk.subarray(0, nl), this.#carry.length);
      lines.push(joined);
      this.#carry = null;
      start = nl + 1;
      nl = chunk.indexOf(10, start);
    }
    while (nl >= 0) {
      lines.push(chunk.subarray(start, nl));
      start = nl + 1;
      nl = chunk.indexOf(10, start);
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      if (this.#carry === null) this.#carry = rest.slice();
      else {
        const joined = new Uint8Array(this.#carry.length + rest.length);
        joined.set(this.#carry);
        joined.set(rest, this.#carry.length);
        this.#carry = joined;
      }
    }
    return lines;
  }

  /** The last line, when the input did not end with a newline. */
  end(): Uint8Array | null {
    const last = this.#carry;
    this.#carry = null;
    return last;
  }
}

/**
 * Index of `needle` in `haystack`, or -1.
 * @param needle at least one byte
 */
export function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  const first = needle[0]!;
  if (needle.length === 1) return haystack.indexOf(first);
  const last = haystack.length - needle.length;
  let i = haystack.indexOf(first);
  while (i >= 0 && i <= last) {
    let j = 1;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
    i = haystack.indexOf(first, i + 1);
  }
  return -1;
}

/** "1 record", "2 records". */
export function records(n: number): string {
  return n === 1 ? "1 record" : `${n} records`;
}

/** Bytes to a human size: "512 B", "1.5 MB" (decimal units, as rates are usually quoted). */
export function humanBytes(n: number): string {
  if (n < 1000) return `${Math.round(n)} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n / 1000;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[u]}`;
}

/** Writes a chunk to stdout as bytes when the runtime can, else as UTF-8 text (decoded across chunks). */
export function stdoutWriter(io: CliIo): (bytes: Uint8Array) => void | Promise<void> {
  if (io.stdoutBytes) return io.stdoutBytes;
  const decoder = new TextDecoder("utf-8", { fatal: false });
  return (bytes) => {
    io.stdout(decoder.decode(bytes, { stream: true }));
  };
}

/**
 * Rewrites `--name -5` as `--name=-5` for the given value options, so negative numbers reach
 * them (`node:util` parseArgs would read `-5` as an option and call the value ambiguous).
 */
export function joinNegativeValues(args: readonly string[], names: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    if (names.includes(a) && next !== undefined && /^-\d+$/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/**
 * Prints client notices on stderr: warnings always (a repeat of the previous line is skipped),
 * info only with `--verbose`.
 */
export function noticePrinter(
  io: CliIo,
  command: string,
  verbose: boolean,
): (message: string, level: "info" | "warning") => void {
  let last = "";
  return (message, level) => {
    if (level === "info" && !verbose) return;
    const line = `kbin: ${command}: ${message}\n`;
    if (line === last && level === "warning") return;
    last = line;
    io.stderr(line);
  };
}
