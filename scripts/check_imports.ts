/**
 * Enforces the layer rules of STYLE.md §1: outside src/runtime nothing imports bun, bun:*,
 * node:* or mentions the Bun/Deno globals (src/cli may use node:util); a lower layer never
 * imports a higher one; request handlers and what they share see the broker only through
 * `broker/context.ts` (never `broker/broker.ts`, which imports every handler), and storage
 * engines (`storage/<engine>/`) never import each other. Exits 1 with one line per violation.
 *
 * @module
 */

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;
const LAYERS = ["protocol", "storage", "broker", "client", "server", "http", "cli", "runtime"] as const;
/** Which layers each layer may import (besides itself, ports.ts and version.ts). */
const ALLOWED: Record<string, string[]> = {
  protocol: [],
  storage: ["protocol"],
  broker: ["protocol", "storage"],
  client: ["protocol"],
  server: ["protocol", "storage", "broker", "client", "http"],
  // The REST proxy is a Kafka client of its own broker (kbin's client, over in-process connections).
  http: ["protocol", "storage", "broker", "client"],
  cli: ["protocol", "storage", "broker", "client", "server", "http"],
  runtime: [...LAYERS],
};

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith(".ts")) out.push(p);
  }
  return out;
}

const problems: string[] = [];
for (const file of walk(join(ROOT, "src"))) {
  const rel = relative(join(ROOT, "src"), file);
  const layer = rel.includes("/") ? rel.split("/")[0]! : "";
  const text = readFileSync(file, "utf8");
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^;]*?from\s+"([^"]+)"|import\(\s*"([^"]+)"\s*\)/g)]
    .map((m) => m[1] ?? m[2]!);
  if (layer !== "runtime") {
    for (const s of specs) {
      if (s === "bun" || s.startsWith("bun:")) problems.push(`${rel}: imports "${s}" outside src/runtime`);
      if (s.startsWith("node:") && !(layer === "cli" && s === "node:util")) {
        problems.push(`${rel}: imports "${s}" outside src/runtime`);
      }
    }
    const code = text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "").replace(/"(?:\\.|[^"\\])*"|`(?:\\.|[^`\\])*`/g, '""');
    if (/\bBun\./.test(code) || /\bDeno\./.test(code)) {
      problems.push(`${rel}: uses the Bun or Deno global outside src/runtime`);
    }
  }
  if (layer === "") continue;
  for (const s of specs) {
    if (!s.startsWith(".")) continue;
    const target = relative(join(ROOT, "src"), join(file, "..", s));
    if (target === "broker/broker.ts" && rel.startsWith("broker/")) {
      problems.push(`${rel}: imports broker/broker.ts; take a BrokerContext from broker/context.ts`);
    }
    const engine = /^storage\/(file|memory|postgres)\//;
    const from = engine.exec(rel)?.[1];
    const to = engine.exec(target)?.[1];
    // memory_fs.ts is a FileSystem for tests, not part of the memory engine.
    if (from && to && from !== to && target !== "storage/memory/memory_fs.ts") {
      problems.push(`${rel}: storage engine "${from}" must not import engine "${to}" (${target})`);
    }
    const targetLayer = target.includes("/") ? target.split("/")[0]! : "";
    if (targetLayer === "" || targetLayer === layer) continue;
    if (!ALLOWED[layer]?.includes(targetLayer)) problems.push(`${rel}: layer "${layer}" must not import "${target}"`);
  }
}
if (problems.length > 0) {
  for (const p of problems) console.error(p);
  console.error(`check_imports: ${problems.length} violation(s)`);
  process.exit(1);
}
console.log("check_imports: layer rules hold");
