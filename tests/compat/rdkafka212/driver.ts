/** What the librdkafka 2.12 tests share: the library build and the driver's consumer and seek ops. */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { run } from "../shared/kbin.ts";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
/** The ctypes driver (see its docstring for the ops). */
export const DRIVER = fileURLToPath(new URL("./rdkafka_driver.py", import.meta.url));

/** What a consume or seek op returns. */
export interface Consumed {
  messages: { p: number; o: number; epoch: number; v: string }[];
  errors: { name: string; str: string }[];
  seek_error?: { code: number; name: string; str: string } | null;
}

/** Builds node-rdkafka once (a no-op afterwards) and returns the path of its librdkafka 2.12. */
export async function installLibrary(): Promise<string> {
  const installed = await run("bash", [`${ROOT}/scripts/install_node_rdkafka.sh`], { timeoutMs: 900_000 });
  assert.equal(installed.code, 0, `install_node_rdkafka.sh failed:\n${installed.stderr.slice(-3000)}`);
  return `${installed.stdout.trim().split("\n").pop()!}/node-rdkafka/build/deps/librdkafka.so.1`;
}

/** A consumer op with a group of its own, no auto-commit and a short long-poll (a seek waits for the fetch in flight). */
export function consumerOp(name: string, reset: string): Record<string, unknown> {
  return {
    op: "consumer",
    name,
    conf: {
      "group.id": `rk-${name}`,
      "auto.offset.reset": reset,
      "enable.auto.commit": "false",
      "fetch.wait.max.ms": "20",
    },
  };
}

/** A seek op to `offset` with leader epoch `epoch` on partition 0 of `topic`, then a consume. */
export function seekOp(
  topic: string,
  name: string,
  offset: number,
  epoch: number,
  more: Record<string, unknown>,
): Record<string, unknown> {
  return { op: "seek", name, topic, partition: 0, offset, epoch, ...more };
}
