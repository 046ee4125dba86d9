/** Kafka error codes as the REST proxy answers them (Confluent's KafkaExceptionMapper). */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  kafkaError,
  kafkaMessage,
  RestCode,
  restCodeOf,
  RestError,
  statusOf,
} from "../../../../src/http/rest_proxy/errors.ts";
import { ErrorCode } from "../../../../src/protocol/generated/errors.ts";

test("statusOf() is a code's first three digits, or the code itself", () => {
  assert.equal(statusOf(40401), 404);
  assert.equal(statusOf(50003), 500);
  assert.equal(statusOf(422), 422);
  assert.equal(new RestError(40902, "x").status, 409);
});

test("restCodeOf() maps Kafka errors as Confluent's REST Proxy does", () => {
  const cases: [number | null, number][] = [
    [ErrorCode.TOPIC_AUTHORIZATION_FAILED, RestCode.KAFKA_AUTHORIZATION],
    [ErrorCode.GROUP_AUTHORIZATION_FAILED, RestCode.KAFKA_AUTHORIZATION],
    [ErrorCode.CLUSTER_AUTHORIZATION_FAILED, RestCode.KAFKA_AUTHORIZATION],
    [ErrorCode.SASL_AUTHENTICATION_FAILED, RestCode.KAFKA_AUTHENTICATION],
    [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, RestCode.UNKNOWN_TOPIC_PARTITION],
    [ErrorCode.TOPIC_ALREADY_EXISTS, RestCode.KAFKA_BAD_REQUEST],
    [ErrorCode.INVALID_CONFIG, RestCode.KAFKA_BAD_REQUEST],
    [ErrorCode.INVALID_PARTITIONS, RestCode.KAFKA_BAD_REQUEST],
    [ErrorCode.POLICY_VIOLATION, RestCode.KAFKA_BAD_REQUEST],
    [ErrorCode.BROKER_NOT_AVAILABLE, RestCode.BROKER_NOT_AVAILABLE],
    [ErrorCode.NOT_LEADER_OR_FOLLOWER, RestCode.KAFKA_RETRIABLE_ERROR],
    [ErrorCode.REQUEST_TIMED_OUT, RestCode.KAFKA_RETRIABLE_ERROR],
    [ErrorCode.MESSAGE_TOO_LARGE, RestCode.KAFKA_ERROR],
    [null, RestCode.KAFKA_RETRIABLE_ERROR],
  ];
  for (const [kafka, rest] of cases) assert.equal(restCodeOf(kafka), rest, String(kafka));
});

test("kafkaError() words authorization failures as the Java client's exceptions", () => {
  assert.deepEqual(kafkaError(ErrorCode.TOPIC_AUTHORIZATION_FAILED, "orders").body(), {
    error_code: 40301,
    message: "Not authorized to access topics: [orders]",
  });
  assert.equal(kafkaMessage(ErrorCode.GROUP_AUTHORIZATION_FAILED, "g"), "Not authorized to access group: g");
  assert.equal(
    kafkaMessage(ErrorCode.MESSAGE_TOO_LARGE, "batch of 2000000 bytes"),
    "The request included a message larger than the max message size the server will accept. " +
      "(MESSAGE_TOO_LARGE: batch of 2000000 bytes)",
  );
});
