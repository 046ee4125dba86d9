/**
 * KIP-848 consumer groups (`group.protocol=consumer`, ConsumerGroupHeartbeat) against
 * `kbin serve`. kbin does not serve ConsumerGroupHeartbeat yet, and of the clients installed here
 * only @platformatic/kafka speaks it (librdkafka 2.0.2, KafkaJS and kafka-python predate it), so
 * these are placeholders that fail once unskipped until they are written.
 * Covered and skipped: ALLOWLIST.md.
 */
import { test } from "node:test";
import assert from "node:assert/strict";

const NOT_SERVED = "KIP-848: kbin does not serve ConsumerGroupHeartbeat (key 68) yet";

for (
  const scenario of [
    "two @platformatic/kafka consumers with groupProtocol consumer split a topic and move partitions on a crash",
    "a KIP-848 group resumes from committed offsets after a broker restart",
  ]
) {
  test(scenario, { skip: NOT_SERVED }, () => {
    assert.fail("ConsumerGroupHeartbeat is served: write this test");
  });
}
