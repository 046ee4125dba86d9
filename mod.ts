/**
 * kbin as a library: start an embedded Kafka-compatible broker in-process (Bun or Deno), for
 * tests of projects that talk to Kafka.
 *
 * @example
 * import { startBroker } from "kbin";
 * const broker = await startBroker();          // ephemeral, listens on 127.0.0.1, free port
 * // … point any Kafka client at broker.bootstrap …
 * await broker.close();
 *
 * @module
 */

export { type EmbeddedBroker, startBroker, type StartBrokerOptions } from "./src/runtime/embed.ts";
