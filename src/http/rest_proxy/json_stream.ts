/**
 * Reads a stream of concatenated JSON objects (`{…}{…}` with any whitespace between), the request
 * body of Confluent's v3 produce: a body of one object is one record, and a chunked body sent
 * over time is a stream of records, each answered as soon as it is written.
 *
 * {@link JsonObjectSplitter} finds where each top-level object ends by tracking strings and
 * nesting, without parsing; each complete object's text then goes to `JSON.parse`. Anything other
 * than an object at the top level, or an object left open at the end, is a syntax error.
 *
 * @module
 */

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isSpace(ch: number): boolean {
  return ch === 0x20 || ch === 0x0a || ch === 0x0d || ch === 0x09;
}

/** A piece of the stream: an object's text, or why the stream cannot be read further. */
export type SplitEvent = { text: string } | { error: string };

/** Splits concatenated JSON objects out of text that arrives in pieces. */
export class JsonObjectSplitter {
  #buf = "";
  /** Where scanning resumes in `#buf`. */
  #pos = 0;
  /** Start of the object being scanned, -1 between objects. */
  #start = -1;
  #depth = 0;
  #inString = false;
  #escaped = false;
  #failed = false;
  readonly #maxObjectChars: number;

  /** @param options.maxObjectChars an object longer than this is an error (default 64 Mi characters) */
  constructor(options: { maxObjectChars?: number } = {}) {
    this.#maxObjectChars = options.maxObjectChars ?? 64 * 1024 * 1024;
  }

  /**
   * Adds text and returns the objects it completes, in order; after an error, nothing more.
   * @param text the next piece of the body (decoded)
   */
  push(text: string): SplitEvent[] {
    if (this.#failed) return [];
    // Between objects the buffer is empty; inside one it holds the object's text so far.
    this.#buf += text;
    const out: SplitEvent[] = [];
    const buf = this.#buf;
    let i = this.#pos;
    const n = buf.length;
    while (i < n) {
      const ch = buf.charCodeAt(i);
      if (this.#start < 0) {
        if (isSpace(ch)) {
          i++;
          continue;
        }
        if (ch !== OPEN_BRACE) {
          this.#failed = true;
          out.push({ error: `Expected a JSON object at character ${i}, got "${buf[i]}"` });
          return out;
        }
        this.#start = i;
        this.#depth = 1;
        i++;
        continue;
      }
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (ch === BACKSLASH) this.#escaped = true;
        else if (ch === QUOTE) this.#inString = false;
        i++;
        continue;
      }
      if (ch === QUOTE) this.#inString = true;
      else if (ch === OPEN_BRACE || ch === OPEN_BRACKET) this.#depth++;
      else if (ch === CLOSE_BRACE || ch === CLOSE_BRACKET) {
        this.#depth--;
        if (this.#depth === 0) {
          out.push({ text: buf.slice(this.#start, i + 1) });
          this.#start = -1;
        }
      }
      i++;
    }
    // Keep only what is still needed: the object in progress.
    if (this.#start < 0) {
      this.#buf = "";
      this.#pos = 0;
    } else {
      this.#buf = buf.slice(this.#start);
      this.#pos = i - this.#start;
      this.#start = 0;
      if (this.#buf.length > this.#maxObjectChars) {
        this.#failed = true;
        out.push({ error: `A JSON object is longer than ${this.#maxObjectChars} characters` });
      }
    }
    return out;
  }

  /** Whether the stream ended cleanly (no object left open, no error). */
  end(): SplitEvent | null {
    if (this.#failed) return null;
    if (this.#start >= 0) {
      this.#failed = true;
      return { error: "Unexpected end of input: a JSON object is not closed" };
    }
    return null;
  }
}

/**
 * Splits a whole body into its objects' parsed values.
 * @param text the body
 * @returns the values in order, and the syntax error that stopped reading, if any
 */
export function parseConcatenated(text: string): { values: unknown[]; error: string | null } {
  const splitter = new JsonObjectSplitter();
  const values: unknown[] = [];
  for (const ev of [...splitter.push(text), splitter.end()]) {
    if (ev === null) continue;
    if ("error" in ev) return { values, error: ev.error };
    try {
      values.push(JSON.parse(ev.text));
    } catch (err) {
      return { values, error: (err as Error).message };
    }
  }
  return { values, error: null };
}
