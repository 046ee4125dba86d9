/**
 * The error the client raises for a failed request or a Kafka error code.
 *
 * @module
 */

import { errorName } from "../protocol/generated/errors.ts";

/** A client failure; `code` is the Kafka error code when the broker answered with one. */
export class KafkaClientError extends Error {
  readonly code: number | null;
  constructor(message: string, options: { code: number | null }) {
    super(options.code === null ? message : `${message}: ${errorName(options.code)}`);
    this.name = "KafkaClientError";
    this.code = options.code;
  }

  /** Kafka's error name (e.g. TOPIC_ALREADY_EXISTS), or null. */
  get kafkaName(): string | null {
    return this.code === null ? null : errorName(this.code);
  }
}
