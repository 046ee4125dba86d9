/**
 * Every skip in tests/compat and tests/release is one of the two kinds tests/support/skips.ts
 * allows: a missing-client check (`clientMissing()`, or `pythonMissing()`, `goMissing()` and
 * `kcatMissing()`, which decide through it) or a `permanentSkip()` listed in PERMANENT_SKIPS. And
 * every entry of PERMANENT_SKIPS is used by the file it names.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PERMANENT_SKIPS } from "../../support/skips.ts";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const SCANNED = ["tests/compat", "tests/release"];
/** Calls whose result is a missing-client skip decided by clientMissing(). */
const MISSING_CHECK = /^(?:clientMissing|pythonMissing|goMissing|kcatMissing)\(/;

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []
  );
}

/** The expression that starts at `from`, up to a `,`, `}` or `)` outside brackets and strings. */
function expressionAt(text: string, from: number): string {
  let depth = 0;
  let quote = "";
  for (let i = from; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === "\\") i++;
      else if (ch === quote) quote = "";
    } else if (ch === '"' || ch === "'" || ch === "`") quote = ch;
    else if ("([{".includes(ch)) depth++;
    else if (")]}".includes(ch)) {
      if (depth === 0) return text.slice(from, i).trim();
      depth--;
    } else if ((ch === "," || ch === ";") && depth === 0) return text.slice(from, i).trim();
  }
  return text.slice(from).trim();
}

/** Where `name` is bound in `file`: its initializer and the file, following imports. */
function binding(file: string, name: string, seen = new Set<string>()): { file: string; init: string } | undefined {
  const key = `${file}#${name}`;
  if (seen.has(key)) return undefined;
  seen.add(key);
  const text = readFileSync(file, "utf8");
  const decl = new RegExp(`(?:const|let)\\s+${name}\\b(?:\\s*:[^=]+)?\\s*=\\s*`).exec(text);
  if (decl) return { file, init: expressionAt(text, decl.index + decl[0].length) };
  for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*"([^"]+)"/g)) {
    for (const spec of m[1]!.split(",")) {
      const [imported, local = imported] = spec.replace(/^\s*type\s+/, "").split(/\s+as\s+/).map((s) => s.trim());
      if (local === name && m[2]!.startsWith(".")) {
        return binding(resolve(dirname(file), m[2]!), imported!, seen);
      }
    }
  }
  return undefined;
}

/** Why the skip expression `expr` in `file` is not allowed, or undefined when it is. */
function problem(file: string, expr: string, seen = new Set<string>()): string | undefined {
  const e = expr.replace(/^\((.*)\)$/s, "$1").replace(/^await\s+/, "").trim();
  if (e === "false" || e === "undefined" || MISSING_CHECK.test(e)) return undefined;
  const permanent = /^permanentSkip\(\s*"([^"]+)"/.exec(e);
  if (permanent) {
    return permanent[1]! in PERMANENT_SKIPS ? undefined : `"${permanent[1]}" is not a key of PERMANENT_SKIPS`;
  }
  // `A || B`, `C ? A : B`: each alternative must be allowed.
  const alternatives = splitTopLevel(e, "||");
  if (alternatives.length > 1) {
    return alternatives.map((a) => problem(file, a, seen)).find((p) => p !== undefined);
  }
  const [condition, branches, ...more] = splitTopLevel(e, "?");
  const [then, otherwise, ...rest] = branches === undefined ? [] : splitTopLevel(branches, ":");
  if (condition && then !== undefined && otherwise !== undefined && more.length === 0 && rest.length === 0) {
    return problem(file, then, seen) ?? problem(file, otherwise, seen);
  }
  if (/^[A-Za-z_$][\w$]*$/.test(e) && !seen.has(`${file}#${e}`)) {
    seen.add(`${file}#${e}`);
    const bound = binding(file, e);
    if (!bound) return `cannot find where ${e} is bound`;
    return problem(bound.file, bound.init, seen);
  }
  const shown = e.length > 80 ? `${e.slice(0, 77).replace(/\s+/g, " ")}...` : e;
  return `${shown} is neither a missing-client check nor permanentSkip(KEY)`;
}

function splitTopLevel(expr: string, op: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < expr.length; i++) {
    const ch = expr[i]!;
    if ("([{".includes(ch)) depth++;
    else if (")]}".includes(ch)) depth--;
    else if (depth === 0 && expr.startsWith(op, i)) {
      parts.push(expr.slice(start, i).trim());
      start = i + op.length;
      i += op.length - 1;
    }
  }
  parts.push(expr.slice(start).trim());
  return parts;
}

const SELF = fileURLToPath(import.meta.url);
const files = SCANNED.flatMap((dir) => tsFiles(join(ROOT, dir))).filter((f) => f !== SELF);

test("every skip in tests/compat and tests/release is a missing-client check or a listed permanent skip", () => {
  const problems: string[] = [];
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    const at = (index: number) => `${relative(ROOT, file)}:${text.slice(0, index).split("\n").length}`;
    for (const m of text.matchAll(/\bskip:\s*/g)) {
      const why = problem(file, expressionAt(text, m.index + m[0].length));
      if (why) problems.push(`${at(m.index)}: ${why}`);
    }
    // t.skip(reason) inside a test, and test.skip("name", …)/describe.skip("name", …), whose
    // first argument is a name, not an allowed reason.
    for (const m of text.matchAll(/\.skip\(\s*/g)) {
      const why = problem(file, expressionAt(text, m.index + m[0].length));
      if (why) problems.push(`${at(m.index)}: ${why}`);
    }
    for (const m of text.matchAll(/\b(?:test|it|describe)\.todo\(|\btodo:/g)) {
      problems.push(`${at(m.index)}: ${m[0]} hides a test without a listed reason`);
    }
  }
  assert.deepEqual(problems, [], "add the reason to PERMANENT_SKIPS in tests/support/skips.ts and use permanentSkip()");
});

test("every entry of PERMANENT_SKIPS is used by the test files it names", () => {
  const unused: string[] = [];
  for (const [key, entry] of Object.entries(PERMANENT_SKIPS)) {
    for (const path of entry.tests.split(", ")) {
      const file = join(ROOT, path);
      const uses = existsSync(file) && new RegExp(`permanentSkip\\(\\s*"${key}"`).test(readFileSync(file, "utf8"));
      const usesThroughImport = existsSync(file) && usesImportedSkip(file, key);
      if (!uses && !usesThroughImport) unused.push(`${key}: not used in ${path}`);
    }
  }
  assert.deepEqual(unused, []);
});

/** Whether `file` uses an imported binding whose value is `permanentSkip("key", …)`. */
function usesImportedSkip(file: string, key: string): boolean {
  const text = readFileSync(file, "utf8");
  for (const m of text.matchAll(/\bskip:\s*/g)) {
    const expr = expressionAt(text, m.index + m[0].length);
    for (const name of expr.match(/[A-Za-z_$][\w$]*/g) ?? []) {
      const bound = binding(file, name);
      if (bound && new RegExp(`^permanentSkip\\(\\s*"${key}"`).test(bound.init)) return true;
    }
  }
  return false;
}
