/**
 * A child-process entry that runs the embedded broker, `startBroker()` from mod.ts (so on its
 * default `memory:` storage), for the real-client tests that need no restart: every such test
 * exercises the library surface other projects embed. It takes the few `kbin serve` flags those
 * tests pass, prints a ready line in `kbin serve`'s form, and closes gracefully on SIGTERM or
 * SIGINT (logging the API versions it served, for scripts/version_coverage.ts).
 *
 * Usage: bun tests/support/embedded_broker.ts [--set NAME=VALUE]... [--advertised HOST:PORT]
 *        [--emulate-kafka VERSION] [--node-id N] [--storage URL]
 */
import { startBroker } from "../../mod.ts";

const config: Record<string, string> = {};
let storage: string | undefined;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const flag = args[i]!;
  const value = args[++i];
  if (value === undefined) throw new TypeError(`embedded_broker: ${flag} needs a value`);
  switch (flag) {
    case "--set": {
      const eq = value.indexOf("=");
      if (eq <= 0) throw new TypeError(`embedded_broker: --set needs NAME=VALUE, got "${value}"`);
      config[value.slice(0, eq)] = value.slice(eq + 1);
      break;
    }
    case "--advertised":
      config["advertised.listeners"] = `PLAINTEXT://${value}`;
      break;
    case "--emulate-kafka":
      config["kbin.emulate.kafka.version"] = value;
      break;
    case "--node-id":
      config["node.id"] = value;
      break;
    case "--storage":
      storage = value;
      break;
    default:
      throw new TypeError(`embedded_broker: unknown flag "${flag}"`);
  }
}

const broker = await startBroker({ config, logLevel: "info", ...(storage === undefined ? {} : { storage }) });
console.log(
  `kbin (embedded) ready on 127.0.0.1:${broker.port} (advertised ${broker.bootstrap}, storage ${broker.storage})`,
);
let closing = false;
const stop = async () => {
  if (closing) return;
  closing = true;
  await broker.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
