/**
 * Builds a {@link KafkaClient} from the common client options and turns client failures into
 * one-line CLI errors.
 *
 * @module
 */

import { parseProperties } from "../broker/properties.ts";
import { KafkaClient } from "../client/client.ts";
import type { SaslOptions } from "../client/connection.ts";
import type { TlsClientOptions } from "../ports.ts";
import { KafkaClientError } from "../client/errors.ts";
import { errorName } from "../protocol/generated/errors.ts";
import { bootstrapList, intOption } from "./args.ts";
import { CliError, type CliIo } from "./io.ts";

/** Runs `fn` with a client built from the command's options and closes it afterwards. */
export async function withClient<T>(
  command: string,
  io: CliIo,
  values: {
    bootstrap?: string | undefined;
    "client-id"?: string | undefined;
    "timeout-ms"?: string | undefined;
    "command-config"?: string | undefined;
  },
  fn: (client: KafkaClient) => Promise<T>,
): Promise<T> {
  const security = await securityOf(command, io, values["command-config"] ?? io.env["KBIN_COMMAND_CONFIG"]);
  const client = new KafkaClient({
    bootstrap: bootstrapList(io, values.bootstrap),
    connect: io.runtime.connect,
    clientId: values["client-id"] ?? "kbin-cli",
    requestTimeoutMs: intOption(command, "timeout-ms", values["timeout-ms"], 30000),
    ...security,
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

/**
 * TLS and SASL from a Kafka client properties file (what Kafka's tools take as --command-config):
 * `security.protocol`, `sasl.mechanism`, the username and password of `sasl.jaas.config` (or
 * librdkafka's `sasl.username` / `sasl.password`), `ssl.truststore.location` or `ssl.ca.location`
 * (PEM), `ssl.keystore.location` (PEM key and chain) or `ssl.certificate.location` +
 * `ssl.key.location`, and `ssl.endpoint.identification.algorithm` ("" skips the host name check).
 */
async function securityOf(command: string, io: CliIo, file: string | undefined) {
  if (file === undefined) return {};
  const read = async (path: string) => {
    const bytes = await io.runtime.fs.readFile(path);
    if (bytes === null) throw new CliError(`${command}: cannot read ${path}`, 2);
    return new TextDecoder().decode(bytes);
  };
  const props = parseProperties(await read(file));
  const protocol = (props.get("security.protocol") ?? "PLAINTEXT").toUpperCase();
  if (!["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"].includes(protocol)) {
    throw new CliError(
      `${command}: security.protocol ${protocol} is not PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL`,
      2,
    );
  }
  const out: { tls?: TlsClientOptions; sasl?: SaslOptions } = {};
  if (protocol.endsWith("SSL")) {
    const tls: TlsClientOptions = {};
    const ca = props.get("ssl.truststore.location") ?? props.get("ssl.ca.location");
    if (ca) tls.ca = await read(ca);
    const keystore = props.get("ssl.keystore.location");
    if (keystore) {
      const pem = await read(keystore);
      tls.cert = (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).join("\n");
      tls.key = /-----BEGIN ([A-Z ]*PRIVATE KEY)-----[\s\S]*?-----END \1-----/.exec(pem)?.[0] ?? "";
    } else if (props.get("ssl.certificate.location") && props.get("ssl.key.location")) {
      tls.cert = await read(props.get("ssl.certificate.location")!);
      tls.key = await read(props.get("ssl.key.location")!);
    }
    if (props.get("ssl.endpoint.identification.algorithm") === "") tls.verifyServerName = false;
    out.tls = tls;
  }
  if (protocol.startsWith("SASL")) {
    const mechanism = (props.get("sasl.mechanism") ?? props.get("sasl.mechanisms") ?? "GSSAPI").toUpperCase();
    if (mechanism !== "PLAIN" && mechanism !== "SCRAM-SHA-256" && mechanism !== "SCRAM-SHA-512") {
      throw new CliError(
        `${command}: sasl.mechanism ${mechanism} is not supported by kbin's CLI (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)`,
        2,
      );
    }
    const jaas = props.get("sasl.jaas.config") ?? "";
    const username = props.get("sasl.username") ?? /\busername\s*=\s*"([^"]*)"/.exec(jaas)?.[1];
    const password = props.get("sasl.password") ?? /\bpassword\s*=\s*"([^"]*)"/.exec(jaas)?.[1];
    if (username === undefined || password === undefined) {
      throw new CliError(
        `${command}: ${file} names no SASL username and password (sasl.jaas.config or sasl.username/sasl.password)`,
        2,
      );
    }
    out.sasl = { mechanism, username, password };
  }
  return out;
}

/** Throws a CLI error for a non-zero Kafka error code. */
export function check(action: string, errorCode: number, errorMessage?: string | null): void {
  if (errorCode === 0) return;
  const detail = errorMessage ? `: ${errorMessage}` : "";
  throw new CliError(`${action}: ${errorName(errorCode)}${detail}`);
}
