/**
 * `kbin serve`: runs a broker in the foreground until SIGINT or SIGTERM.
 *
 * @module
 */

import { BrokerConfig, ConfigError, parseListener } from "../broker/config.ts";
import { createLogger, LogLevel, type LogLevelName } from "../broker/logger.ts";
import { parseProperties } from "../broker/properties.ts";
import { startKafkaBroker } from "../server/start.ts";
import { redactStorageUrl } from "../storage/open.ts";
import { VERSION } from "../version.ts";
import { COMMON_OPTIONS, keyValues, parseCommandArgs } from "./args.ts";
import { CliError, type CliIo } from "./io.ts";

export const SERVE_HELP = `Usage: kbin serve [options]

Runs a Kafka-compatible broker in the foreground. Stops gracefully on Ctrl-C or SIGTERM.

Options:
  --listen HOST:PORT      Address to listen on (default 127.0.0.1:9092; port 0 picks a free port)
  --advertised HOST:PORT  Address given to clients in metadata (default: the listen address)
  --storage URL           Where all state is kept (kbin.storage): file:DIR (the default,
                          file:./kbin-data), memory: (nothing on disk, gone on exit) or
                          postgres://user:pass@host:port/db
  --data-dir DIR          Short for --storage file:DIR
  --node-id N             This broker's node id (default 1)
  --config FILE           Read settings from a server.properties file (Kafka's broker names)
  --set NAME=VALUE        Set one broker setting; repeatable, applied after --config and flags
  --log-level LEVEL       debug, info, warn or error (default info)
  --emulate-kafka VERSION Advertise and accept only the API versions that Kafka release served
                          (0.10.0 to 4.3), to test clients against an old Kafka
  --http HOST:PORT        Serve the HTTP plane there: /healthz, /readyz, /metrics (kbin.http.listeners;
                          https://HOST:PORT uses the ssl.* PEM settings; port 0 picks a free one)
  -h, --help              Show this help

Examples:
  kbin serve
  kbin serve --listen 0.0.0.0:9092 --advertised kafka.local:9092 --data-dir /var/lib/kbin
  kbin serve --set auto.create.topics.enable=false --set num.partitions=3
  kbin serve --emulate-kafka 2.8
  kbin serve --storage memory:
  kbin serve --http 127.0.0.1:8081
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  listen: { type: "string" },
  advertised: { type: "string" },
  "data-dir": { type: "string" },
  storage: { type: "string" },
  "node-id": { type: "string" },
  config: { type: "string" },
  set: { type: "string", multiple: true },
  "log-level": { type: "string" },
  "emulate-kafka": { type: "string" },
  http: { type: "string" },
} as const;

/** Collects settings in precedence order: file, flags, then --set. */
async function settingsFrom(io: CliIo, values: Record<string, unknown>): Promise<[string, string][]> {
  const settings: [string, string][] = [];
  const file = values["config"] as string | undefined;
  if (file !== undefined) {
    const bytes = await io.runtime.fs.readFile(file);
    if (bytes === null) throw new CliError(`serve: cannot read config file "${file}": not found`);
    settings.push(...parseProperties(new TextDecoder().decode(bytes)));
  }
  const flag = (name: string) => values[name] as string | undefined;
  if (flag("listen") !== undefined) {
    const l = parseListener(flag("listen")!);
    settings.push(["listeners", `PLAINTEXT://${l.host.includes(":") ? `[${l.host}]` : l.host}:${l.port}`]);
  }
  if (flag("advertised") !== undefined) {
    const a = parseListener(flag("advertised")!);
    settings.push(["advertised.listeners", `PLAINTEXT://${a.host.includes(":") ? `[${a.host}]` : a.host}:${a.port}`]);
  }
  if (flag("storage") !== undefined && flag("data-dir") !== undefined) {
    throw new CliError("serve: --storage and --data-dir both name the storage; give one", 2);
  }
  if (flag("data-dir") !== undefined) settings.push(["kbin.storage", `file:${flag("data-dir")!}`]);
  if (flag("storage") !== undefined) settings.push(["kbin.storage", flag("storage")!]);
  if (flag("node-id") !== undefined) settings.push(["node.id", flag("node-id")!]);
  if (flag("log-level") !== undefined) settings.push(["kbin.log.level", flag("log-level")!]);
  if (flag("emulate-kafka") !== undefined) settings.push(["kbin.emulate.kafka.version", flag("emulate-kafka")!]);
  if (flag("http") !== undefined) {
    const h = flag("http")!;
    settings.push(["kbin.http.listeners", /^https?:\/\//i.test(h) ? h : `http://${h}`]);
  }
  settings.push(...keyValues("serve", "--set", values["set"] as string[] | undefined));
  return settings;
}

/**
 * The storage URL of a configuration: `kbin.storage` when set, else Kafka's `log.dirs` (its first
 * directory) or `log.dir` as a `file:` directory.
 */
export function storageUrl(config: BrokerConfig): string {
  if ((config.get("kbin.storage") ?? "") !== "") return config.get("kbin.storage")!;
  if (config.isSet("log.dirs")) return `file:${config.list("log.dirs")[0] ?? "./kbin-data"}`;
  if (config.isSet("log.dir")) return `file:${config.get("log.dir")}`;
  return "file:./kbin-data";
}

/** Runs the broker; resolves with the exit code after a graceful shutdown. */
export async function serveCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs("serve", args, OPTIONS);
  if (values.help) {
    io.stdout(SERVE_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new CliError(`serve: unexpected argument "${positionals[0]}"`, 2);
  const started = performance.now();
  // Listen for signals before anything starts, so a SIGTERM that arrives right after the
  // ready line (or during start-up) still shuts down gracefully.
  let onSignal: ((signal: string) => void) | null = null;
  const signalled = new Promise<string>((resolve) => (onSignal = resolve));
  const off = io.onShutdownSignal((signal) => onSignal?.(signal));
  let config: BrokerConfig;
  try {
    config = new BrokerConfig(await settingsFrom(io, values));
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(`serve: ${err.message}`);
    throw err;
  }
  const level = (config.get("kbin.log.level") ?? "info") as LogLevelName;
  if (!(level in LogLevel)) {
    throw new CliError(`serve: --log-level must be one of debug, info, warn, error; got "${level}"`, 2);
  }
  const logger = createLogger((line) => io.stderr(line + "\n"), { level });
  const storage = storageUrl(config);
  let running;
  try {
    running = await startKafkaBroker({
      runtime: io.runtime,
      config,
      logger,
      storage,
      http: async (state) => {
        // Loaded only when kbin.http.listeners is set: Hono stays off the start-up path otherwise.
        const { createHttpApp, httpHandler } = await import("../http/app.ts");
        return httpHandler(createHttpApp(state));
      },
    });
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(`serve: ${err.message}`);
    const e = err as { code?: string; message: string };
    if (e.code === "EADDRINUSE" || /in use/i.test(e.message)) {
      throw new CliError(`serve: cannot listen on ${config.get("listeners")}: address already in use`);
    }
    throw err;
  }
  const ms = (performance.now() - started).toFixed(1);
  io.stdout(
    `kbin ${VERSION} ready on ${running.server.host}:${running.server.port} ` +
      `(advertised ${running.bootstrap}, node ${running.broker.nodeId}, cluster ${running.broker.clusterId}, storage ${
        redactStorageUrl(storage)
      }, ${ms} ms)\n`,
  );
  const signal = await signalled;
  off();
  logger.info("Shutting down", { signal });
  try {
    await running.close();
  } catch (err) {
    logger.error("Shutdown failed", { error: String(err) });
  }
  logger.info("Stopped");
  return 0;
}
