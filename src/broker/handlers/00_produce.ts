/**
 * Produce (key 0): advertised at v0–v2 but refused, until the log exists.
 *
 * Kafka 4.0 dropped Produce v0–v2 yet still advertises version 0, because librdkafka decides
 * whether gzip, snappy and lz4 are usable by looking for the old versions (KAFKA-18659). kbin
 * does the same so that compression is enabled in librdkafka clients; a request at a refused
 * version closes the connection, as an unsupported version does in Kafka.
 *
 * @module
 */

import { PRODUCE_API } from "../../protocol/generated/00_produce.ts";
import { CloseConnection } from "../conn_state.ts";
import { defineHandler } from "../registry.ts";

export default defineHandler(PRODUCE_API, {
  minVersion: 0,
  maxVersion: 2,
  refusedVersions: [0, 2],
  handle() {
    throw new CloseConnection("Produce is not available on this broker yet");
  },
});
