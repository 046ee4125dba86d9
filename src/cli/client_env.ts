/**
 * Builds a {@link KafkaClient} from the common client options and turns client failures into
 * one-line CLI errors.
 *
 * @module
 */

import { KafkaClient } from "../client/client.ts";
import { KafkaClientError } from "../client/errors.ts";
import { errorName } from "../protocol/generated/errors.ts";
import { bootstrapList, intOption } from "./args.ts";
import { CliError, type CliIo } from "./io.ts";

/** Runs `fn` with a client built from the command's options and closes it afterwards. */
export async function withClient<T>(
  command: string,
  io: CliIo,
  values: { bootstrap?: string | undefined; "client-id"?: string | undefined; "timeout-ms"?: string | undefined },
  fn: (client: KafkaClient) => Promise<T>,
): Promise<T> {
  const client = new KafkaClient({
    bootstrap: bootstrapList(io, values.bootstrap),
    connect: io.runtime.connect,
    clientId: values["client-id"] ?? "kbin-cli",
    requestTimeoutMs: intOption(command, "timeout-ms", values["timeout-ms"], 30000),
  });
  try {
    return await fn(client);
  } catch (err) {
    if (err instanceof KafkaClientError) throw new CliError(`${command}: ${err.message}`);
    throw err;
  } finally {
    await client.close();
  }
}

/** Throws a CLI error for a non-zero Kafka error code. */
export function check(action: string, errorCode: number, errorMessage?: string | null): void {
  if (errorCode === 0) return;
  const detail = errorMessage ? `: ${errorMessage}` : "";
  throw new CliError(`${action}: ${errorName(errorCode)}${detail}`);
}
