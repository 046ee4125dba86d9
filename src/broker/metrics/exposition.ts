/**
 * The two text formats Prometheus scrapes: the classic text format 0.0.4 and OpenMetrics 1.0
 * (what Prometheus asks for first, in its `Accept` header). They differ in small ways that
 * parsers check: OpenMetrics names a counter family without `_total` (its samples carry it), an
 * info family without `_info`, escapes `"` in HELP, and ends with `# EOF`.
 *
 * @module
 */

import type { MetricFamily } from "./registry.ts";

/** Content type of the text format 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
/** Content type of OpenMetrics 1.0. */
export const OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/** Which format to answer. */
export type ExpositionFormat = "prometheus" | "openmetrics";

/**
 * Picks the format for an `Accept` header: OpenMetrics when `application/openmetrics-text` (of
 * version 1.0.0, 0.0.1 or none named) has a quality above zero and at least that of the text
 * format (`text/plain` or a wildcard); else the text format 0.0.4.
 */
export function negotiateFormat(accept: string | null | undefined): ExpositionFormat {
  if (!accept) return "prometheus";
  let open = -1;
  let text = -1;
  for (const part of accept.split(",")) {
    const [type, ...params] = part.split(";").map((s) => s.trim());
    let q = 1;
    let version: string | null = null;
    for (const p of params) {
      const eq = p.indexOf("=");
      if (eq < 0) continue;
      const k = p.slice(0, eq).trim().toLowerCase();
      const v = p.slice(eq + 1).trim().replace(/^"|"$/g, "");
      if (k === "q") q = Number.isFinite(Number(v)) ? Number(v) : 0;
      if (k === "version") version = v;
    }
    const t = (type ?? "").toLowerCase();
    if (t === "application/openmetrics-text" && (version === null || version === "1.0.0" || version === "0.0.1")) {
      open = Math.max(open, q);
    } else if (t === "text/plain" || t === "*/*" || t === "text/*") {
      text = Math.max(text, q);
    }
  }
  return open > 0 && open >= text ? "openmetrics" : "prometheus";
}

/** A sample value as Prometheus and OpenMetrics write floats. */
function num(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** A bucket bound in its canonical form (`1.0`, not `1`), as Prometheus' own clients write it. */
function bound(v: number): string {
  if (v === Infinity) return "+Inf";
  return Number.isInteger(v) && Math.abs(v) < 1e21 ? `${v}.0` : String(v);
}

function escapeLabel(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}

function escapeHelp(v: string, quotes: boolean): string {
  return v.replace(quotes ? /[\\"\n]/g : /[\\\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}

function labelText(names: readonly string[], values: readonly string[], extra?: string): string {
  let s = "";
  for (let i = 0; i < names.length; i++) {
    if (s !== "") s += ",";
    s += `${names[i]}="${escapeLabel(values[i] ?? "")}"`;
  }
  if (extra !== undefined) s += s === "" ? extra : `,${extra}`;
  return s === "" ? "" : `{${s}}`;
}

function write(families: readonly MetricFamily[], format: ExpositionFormat): string {
  const om = format === "openmetrics";
  const parts: string[] = [];
  for (const f of families) {
    const base = f.type === "counter"
      ? f.name
      : f.type === "info" && om && f.name.endsWith("_info")
      ? f.name.slice(0, -5)
      : f.name;
    const headerName = f.type === "counter" && !om ? `${f.name}_total` : base;
    const type = f.type === "info" && !om ? "gauge" : f.type;
    if (f.help !== "") parts.push(`# HELP ${headerName} ${escapeHelp(f.help, om)}\n`);
    parts.push(`# TYPE ${headerName} ${type}\n`);
    if (f.type === "histogram") {
      for (const s of f.samples) {
        for (let i = 0; i < f.buckets.length; i++) {
          const le = `le="${bound(f.buckets[i]!)}"`;
          parts.push(`${f.name}_bucket${labelText(f.labelNames, s.labels, le)} ${num(s.cumulative[i] ?? 0)}\n`);
        }
        const labels = labelText(f.labelNames, s.labels);
        parts.push(`${f.name}_bucket${labelText(f.labelNames, s.labels, 'le="+Inf"')} ${num(s.count)}\n`);
        parts.push(`${f.name}_sum${labels} ${num(s.sum)}\n`);
        parts.push(`${f.name}_count${labels} ${num(s.count)}\n`);
      }
      continue;
    }
    const sampleName = f.type === "counter" ? `${f.name}_total` : f.name;
    for (const s of f.samples) parts.push(`${sampleName}${labelText(f.labelNames, s.labels)} ${num(s.value)}\n`);
  }
  if (om) parts.push("# EOF\n");
  return parts.join("");
}

/**
 * The text format 0.0.4 (`text/plain; version=0.0.4`).
 * @param families what the registry collected
 * @returns the exposition text
 */
export function formatPrometheus(families: readonly MetricFamily[]): string {
  return write(families, "prometheus");
}

/**
 * OpenMetrics 1.0 (`application/openmetrics-text; version=1.0.0`), ending with `# EOF`.
 * @param families what the registry collected
 * @returns the exposition text
 */
export function formatOpenMetrics(families: readonly MetricFamily[]): string {
  return write(families, "openmetrics");
}
