/**
 * A TLS listener's key, certificate chain and CA bundle from Kafka's PEM settings, and their
 * reload: the files are read again every `kbin.ssl.reload.check.ms` and, when they changed, new
 * connections get the new material while existing ones go on (a renewed certificate needs no
 * restart).
 *
 * @module
 */

import { ConfigError } from "../broker/config.ts";
import type { SslSettings } from "../broker/listeners.ts";
import type { FileSystem, Logger, TlsServerOptions } from "../ports.ts";

const KEY = /-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY)-----[\s\S]*?-----END \1-----/;
const CERTS = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

async function readText(fs: FileSystem, path: string, what: string): Promise<string> {
  const bytes = await fs.readFile(path);
  if (bytes === null) throw new ConfigError(`Cannot read ${what}: ${path} does not exist`);
  return new TextDecoder().decode(bytes);
}

/** Reads a listener's PEM material. */
export async function loadTls(fs: FileSystem, listener: string, ssl: SslSettings): Promise<TlsServerOptions> {
  const fail = (why: string) => new ConfigError(`Cannot use TLS listener "${listener}": ${why}`);
  let keyText: string;
  let chainText: string;
  if (ssl.keystoreLocation) {
    keyText = chainText = await readText(fs, ssl.keystoreLocation, "ssl.keystore.location");
  } else {
    keyText = ssl.keystoreKey!;
    chainText = ssl.keystoreChain!;
  }
  const key = KEY.exec(keyText);
  if (!key) throw fail("no PEM private key in the key store");
  if (key[1] === "ENCRYPTED PRIVATE KEY") throw fail("the private key is encrypted; kbin needs an unencrypted PEM key");
  const certs = chainText.match(CERTS);
  if (!certs) throw fail("no PEM certificate in the key store");
  let ca: string | undefined;
  if (ssl.truststoreLocation) ca = await readText(fs, ssl.truststoreLocation, "ssl.truststore.location");
  else if (ssl.truststoreCertificates) ca = ssl.truststoreCertificates;
  if (ca !== undefined && !CERTS.test(ca)) throw fail("no PEM certificate in the trust store");
  CERTS.lastIndex = 0;
  return {
    key: key[0],
    cert: certs.join("\n") + "\n",
    clientAuth: ssl.clientAuth,
    ...(ca === undefined ? {} : { ca }),
  };
}

/** Re-reads the material every `intervalMs` and hands changes to `reload`; returns a stopper. */
export function watchTls(o: {
  fs: FileSystem;
  listener: string;
  ssl: SslSettings;
  current: TlsServerOptions;
  intervalMs: number;
  reload: (tls: TlsServerOptions) => void;
  logger: Logger;
}): () => void {
  if (o.intervalMs <= 0) return () => {};
  let current = o.current;
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const next = await loadTls(o.fs, o.listener, o.ssl);
      if (next.key === current.key && next.cert === current.cert && next.ca === current.ca) return;
      o.reload(next);
      current = next;
      o.logger.info("Reloaded a listener's TLS key and certificates", { listener: o.listener });
    } catch (err) {
      o.logger.warn("Cannot reload a listener's TLS material; keeping the current one", {
        listener: o.listener,
        error: (err as Error).message,
      });
    } finally {
      busy = false;
    }
  }, o.intervalMs);
  (timer as { unref?: () => void }).unref?.();
  return () => clearInterval(timer);
}
