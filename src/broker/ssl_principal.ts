/**
 * `ssl.principal.mapping.rules` (KIP-371): how a client certificate's subject (RFC 2253, as
 * `X500Principal.getName()` prints it) becomes a principal name. Rules are tried in order:
 * `RULE:pattern/replacement/[L|U]` applies when the pattern matches the whole subject (the
 * replacement may use $1…, L/U lower- or upper-cases the result), `DEFAULT` takes the subject as
 * it is. No rule matching is a configuration error at start-up for the rules' syntax and, per
 * connection, a refused connection.
 *
 * @module
 */

import { ConfigError } from "./config.ts";

/** One parsed rule. */
type Rule = { kind: "default" } | { kind: "rule"; pattern: RegExp; replacement: string; case: "" | "L" | "U" };

/** Parses the rules; throws ConfigError for text that is not rules. */
export function parsePrincipalRules(text: string): Rule[] {
  const rules: Rule[] = [];
  const re = /\s*(?:(DEFAULT)|RULE:((?:\\.|[^/\\])*)\/((?:\\.|[^/\\])*)\/([LU]?))\s*(?:,|$)/gy;
  let at = 0;
  const s = text.trim();
  while (at < s.length) {
    re.lastIndex = at;
    const m = re.exec(s);
    if (!m) {
      throw new ConfigError(
        `Cannot use ssl.principal.mapping.rules "${text}": expected RULE:pattern/replacement/[LU] or DEFAULT`,
      );
    }
    if (m[1]) rules.push({ kind: "default" });
    else {
      let pattern: RegExp;
      try {
        pattern = new RegExp(`^(?:${m[2]})$`);
      } catch (err) {
        throw new ConfigError(
          `Cannot use ssl.principal.mapping.rules: bad pattern "${m[2]}": ${(err as Error).message}`,
        );
      }
      rules.push({ kind: "rule", pattern, replacement: m[3]!, case: m[4] as "" | "L" | "U" });
    }
    at = re.lastIndex;
  }
  return rules.length > 0 ? rules : [{ kind: "default" }];
}

/** The principal name of a subject, or null when no rule applies. */
export function mapSubject(rules: readonly Rule[], subject: string): string | null {
  for (const r of rules) {
    if (r.kind === "default") return subject;
    const m = r.pattern.exec(subject);
    if (!m) continue;
    const out = r.replacement.replace(/\$(\d)/g, (_, i: string) => m[Number(i)] ?? "");
    return r.case === "L" ? out.toLowerCase() : r.case === "U" ? out.toUpperCase() : out;
  }
  return null;
}
