/**
 * The OAUTHBEARER signing keys (`sasl.oauthbearer.jwks.endpoint.url`): fetched over HTTP(S) or
 * read from a `file:` URL, kept for `sasl.oauthbearer.jwks.endpoint.refresh.ms`, and fetched again
 * at once when a token names a key id the cached set lacks (key rotation), at most once a second.
 *
 * @module
 */

import { parseJwks } from "../broker/sasl/oauthbearer.ts";
import type { FileSystem, Logger } from "../ports.ts";

/** A loader of the JWKS the broker validates tokens with. */
export function jwksLoader(o: {
  url: string;
  refreshMs: number;
  fs: FileSystem;
  logger: Logger;
  now: () => number;
}): () => Promise<JsonWebKey[]> {
  let keys: JsonWebKey[] | null = null;
  let loadedAt = -Infinity;
  let loading: Promise<JsonWebKey[]> | null = null;
  const load = async (): Promise<JsonWebKey[]> => {
    let text: string;
    if (o.url.startsWith("file:")) {
      const path = o.url.startsWith("file://") ? new URL(o.url).pathname : o.url.slice(5);
      const bytes = await o.fs.readFile(path);
      if (bytes === null) throw new Error(`Cannot read the JWKS: ${path} does not exist`);
      text = new TextDecoder().decode(bytes);
    } else {
      const res = await fetch(o.url);
      if (!res.ok) throw new Error(`Cannot fetch the JWKS from ${o.url}: HTTP ${res.status}`);
      text = await res.text();
    }
    return parseJwks(text);
  };
  return async () => {
    if (keys !== null && o.now() - loadedAt < Math.max(1000, o.refreshMs)) return keys;
    loading ??= load().then((k) => {
      keys = k;
      loadedAt = o.now();
      return k;
    }, (err) => {
      o.logger.warn("Cannot load the OAUTHBEARER JWKS; keeping the previous keys", { error: String(err) });
      loadedAt = o.now();
      if (keys === null) throw err;
      return keys;
    }).finally(() => (loading = null));
    return await loading;
  };
}
