/**
 * The REST proxy's errors in Confluent's shape: `{"error_code": N, "message": "…"}`, where N is
 * either an HTTP status or a five-digit code whose first three digits are the status (40401
 * answers 404). Kafka error codes map to REST codes as Confluent's `KafkaExceptionMapper` maps
 * the Java client's exceptions: authorization failures 403/40301, an unknown topic or partition
 * 404/40403, invalid requests 400/40002, other retriable errors 500/50003, the rest 500/50002.
 *
 * Route code throws {@link RestError} to answer early (as Hono's `HTTPException`); Kafka outcomes
 * stay values until a route decides to answer with one.
 *
 * @module
 */

import { ErrorCode, errorName, ERRORS, isRetriable } from "../../protocol/generated/errors.ts";

/** Confluent's REST error codes used here (kafka-rest `Errors.java`, rest-utils `KafkaExceptionMapper`). */
export const RestCode = {
  BAD_REQUEST: 400,
  /** A Kafka request refused as invalid (topic exists, bad partition count or config). */
  KAFKA_BAD_REQUEST: 40002,
  KAFKA_AUTHENTICATION: 40101,
  KAFKA_AUTHORIZATION: 40301,
  NOT_FOUND: 404,
  TOPIC_NOT_FOUND: 40401,
  PARTITION_NOT_FOUND: 40402,
  /** An unknown topic-partition from Kafka, and an unknown consumer instance (Confluent uses both). */
  UNKNOWN_TOPIC_PARTITION: 40403,
  CONSUMER_INSTANCE_NOT_FOUND: 40403,
  LEADER_NOT_AVAILABLE: 40404,
  CONSUMER_GROUP_NOT_FOUND: 40405,
  CONSUMER_FORMAT_MISMATCH: 40601,
  CONSUMER_ALREADY_SUBSCRIBED: 40901,
  CONSUMER_ALREADY_EXISTS: 40902,
  ILLEGAL_STATE: 40903,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNPROCESSABLE: 422,
  KEY_SCHEMA_MISSING: 42201,
  VALUE_SCHEMA_MISSING: 42202,
  JSON_CONVERSION: 42203,
  INVALID_CONSUMER_CONFIG: 42204,
  INVALID_SCHEMA: 42205,
  INVALID_PAYLOAD: 42206,
  SERIALIZATION: 42207,
  PRODUCE_BATCH: 42208,
  TOO_MANY_REQUESTS: 429,
  INTERNAL: 500,
  KAFKA_ERROR: 50002,
  KAFKA_RETRIABLE_ERROR: 50003,
  BROKER_NOT_AVAILABLE: 50302,
} as const;

/** The HTTP status of a REST error code: itself, or its first three digits. */
export function statusOf(errorCode: number): number {
  return errorCode >= 1000 ? Math.floor(errorCode / 100) : errorCode;
}

/** An HTTP answer in Confluent's error shape, thrown by route code and turned into a response. */
export class RestError extends Error {
  readonly code = "KBIN_REST_ERROR";
  readonly errorCode: number;
  readonly status: number;

  constructor(errorCode: number, message: string) {
    super(message);
    this.name = "RestError";
    this.errorCode = errorCode;
    this.status = statusOf(errorCode);
  }

  /** The JSON body. */
  body(): { error_code: number; message: string } {
    return { error_code: this.errorCode, message: this.message };
  }
}

const BAD_REQUEST_CODES: ReadonlySet<number> = new Set([
  ErrorCode.INVALID_REPLICATION_FACTOR,
  ErrorCode.SECURITY_DISABLED,
  ErrorCode.UNSUPPORTED_VERSION,
  ErrorCode.INVALID_PARTITIONS,
  ErrorCode.INVALID_REQUEST,
  ErrorCode.POLICY_VIOLATION,
  ErrorCode.TOPIC_ALREADY_EXISTS,
  ErrorCode.INVALID_CONFIG,
  ErrorCode.INVALID_TOPIC_EXCEPTION,
  ErrorCode.INVALID_REPLICA_ASSIGNMENT,
  ErrorCode.UNKNOWN_SERVER_ERROR,
]);

const AUTHORIZATION_CODES: ReadonlySet<number> = new Set([
  ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  ErrorCode.GROUP_AUTHORIZATION_FAILED,
  ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  ErrorCode.DELEGATION_TOKEN_AUTHORIZATION_FAILED,
]);

/**
 * The REST error code for a Kafka error code (never NONE).
 * @param kafkaCode a Kafka error code, or null for a client-side failure (connection, timeout)
 */
export function restCodeOf(kafkaCode: number | null): number {
  if (kafkaCode === null) return RestCode.KAFKA_RETRIABLE_ERROR;
  if (kafkaCode === ErrorCode.SASL_AUTHENTICATION_FAILED) return RestCode.KAFKA_AUTHENTICATION;
  if (AUTHORIZATION_CODES.has(kafkaCode)) return RestCode.KAFKA_AUTHORIZATION;
  if (kafkaCode === ErrorCode.BROKER_NOT_AVAILABLE) return RestCode.BROKER_NOT_AVAILABLE;
  if (kafkaCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) return RestCode.UNKNOWN_TOPIC_PARTITION;
  if (BAD_REQUEST_CODES.has(kafkaCode)) return RestCode.KAFKA_BAD_REQUEST;
  if (isRetriable(kafkaCode)) return RestCode.KAFKA_RETRIABLE_ERROR;
  return RestCode.KAFKA_ERROR;
}

/**
 * A Kafka error's message as the Java client's exception would carry it.
 * @param kafkaCode the Kafka error code
 * @param detail the broker's error message, or what was refused (a topic name for authorization)
 */
export function kafkaMessage(kafkaCode: number | null, detail?: string | null): string {
  if (kafkaCode === null) return detail ?? "Kafka request failed";
  if (kafkaCode === ErrorCode.TOPIC_AUTHORIZATION_FAILED && detail) {
    return `Not authorized to access topics: [${detail}]`;
  }
  if (kafkaCode === ErrorCode.GROUP_AUTHORIZATION_FAILED && detail) return `Not authorized to access group: ${detail}`;
  if (kafkaCode === ErrorCode.CLUSTER_AUTHORIZATION_FAILED) return "Cluster authorization failed.";
  const text = ERRORS.get(kafkaCode)?.message ?? errorName(kafkaCode);
  return detail ? `${text} (${errorName(kafkaCode)}: ${detail})` : `${text} (${errorName(kafkaCode)})`;
}

/**
 * A {@link RestError} for a Kafka error code.
 * @param kafkaCode the Kafka error code, or null for a client-side failure
 * @param detail the broker's message, or the refused resource's name for authorization failures
 */
export function kafkaError(kafkaCode: number | null, detail?: string | null): RestError {
  return new RestError(restCodeOf(kafkaCode), kafkaMessage(kafkaCode, detail));
}

/** Confluent's messages, kept verbatim (some tools match them). */
export const Messages = {
  TOPIC_NOT_FOUND: "Topic not found.",
  PARTITION_NOT_FOUND: "Partition not found.",
  CONSUMER_INSTANCE_NOT_FOUND: "Consumer instance not found.",
  CONSUMER_ALREADY_EXISTS: "Consumer with specified consumer ID already exists in the specified consumer group.",
  CONSUMER_FORMAT_MISMATCH: "The requested embedded data format does not match the deserializer for this consumer " +
    "instance",
  CONSUMER_ALREADY_SUBSCRIBED:
    "Consumer cannot subscribe the the specified target because it has already subscribed to other topics.",
  EMPTY_BODY: "Payload error. Request body is empty. Data is required.",
} as const;
