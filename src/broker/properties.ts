/**
 * Parser for Java `.properties` files (the syntax of Kafka's server.properties): `key=value`,
 * `key: value` or `key value`, `#`/`!` comments, backslash line continuations and escapes.
 *
 * @module
 */

/** Thrown when a properties file cannot be parsed. */
export class PropertiesError extends SyntaxError {
  readonly code = "KBIN_CONFIG_INVALID";
  constructor(message: string) {
    super(message);
    this.name = "PropertiesError";
  }
}

function unescape(s: string): string {
  return s.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_m, e: string) => {
    if (e.length === 5) return String.fromCharCode(parseInt(e.slice(1), 16));
    return ({ t: "\t", n: "\n", r: "\r", f: "\f" } as Record<string, string>)[e] ?? e;
  });
}

/**
 * Parses properties text into an ordered map; a later key wins.
 * @param text file contents
 * @returns key → value
 */
export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.replace(/^[ \t\f]+/, "");
    if (line === "" || line.startsWith("#") || line.startsWith("!")) continue;
    // An odd number of trailing backslashes continues the logical line.
    while (/(^|[^\\])(\\\\)*\\$/.test(line) && i + 1 < lines.length) {
      line = line.slice(0, -1) + lines[++i]!.replace(/^[ \t\f]+/, "");
    }
    const m = /^((?:\\.|[^\\:= \t\f])*)[ \t\f]*[:=]?[ \t\f]*(.*)$/.exec(line);
    if (!m) throw new PropertiesError(`Cannot parse properties line ${i + 1}: "${line}"`);
    out.set(unescape(m[1]!), unescape(m[2]!));
  }
  return out;
}
