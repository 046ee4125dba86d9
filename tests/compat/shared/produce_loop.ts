/**
 * Drives `tests/compat/durability/produce_loop.py` (confluent-kafka, acks=all, one JSON delivery
 * report per record) for the kill -9 tests: run it against a broker until enough records are
 * acknowledged, kill the broker, and return every report.
 *
 * @module
 */

import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { BrokerProcess } from "../../support/broker_process.ts";
import { PYTHON, waitFor } from "./kbin.ts";

const LOOP = fileURLToPath(new URL("../durability/produce_loop.py", import.meta.url));

/** One delivery report of the loop: record seq `i` went to partition `p` at offset `o` (-1 on error). */
export interface LoopReport {
  i: number;
  p: number;
  o: number;
  err: string | null;
}

/** The value the loop sends for record `seq`, base64 (its key is `k<seq % 17>`, its header ("seq", seq)). */
export function loopValue(seq: number): string {
  const tail = Buffer.from(Array.from({ length: seq % 200 }, (_, j) => (seq + j) % 256));
  return Buffer.concat([Buffer.from(`rec-${seq}-`), tail]).toString("base64");
}

/**
 * Produces to `topic` (partitions 0 … `partitions` - 1) until `acknowledged` reports came in,
 * then kills the broker with SIGKILL mid-load, waits for the producer to stop, and returns its reports.
 */
export async function produceThenKill(
  broker: BrokerProcess,
  topic: string,
  partitions: number,
  acknowledged: number,
): Promise<LoopReport[]> {
  const producer = spawn(PYTHON, [LOOP, broker.bootstrap, topic, String(partitions), "1000000", "30"], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  const reports: LoopReport[] = [];
  let buffered = "";
  producer.stdout.on("data", (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    for (const l of lines) if (l.trim()) reports.push(JSON.parse(l) as LoopReport);
  });
  const exited = new Promise<void>((resolve) => producer.on("close", () => resolve()));
  try {
    await waitFor(
      `${acknowledged} delivery reports`,
      () => (reports.length >= acknowledged ? true : undefined),
      30_000,
    );
    await broker.stop("SIGKILL");
    producer.stdin.end();
    await exited;
  } finally {
    producer.kill("SIGKILL");
  }
  return reports;
}
