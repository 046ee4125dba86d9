/**
 * The PostgreSQL port over Bun's built-in client (`Bun.SQL`), what kbin uses on Bun: under load it
 * appends about 1.8× the batches/s of the `postgres` npm driver (src/runtime/shared/postgres.ts,
 * used on Deno), which sends bytea as hex text (`bun scripts/bench/pg_append.ts`).
 *
 * @module
 */

import type { ConnectPostgresFn, PgClient, PgRow, PgTx, PgValue } from "../../ports.ts";

/**
 * Connects with `Bun.SQL`; the first statement proves the connection works.
 * @param url `postgres://user:pass@host:port/db`
 * @param options pool size (default 4 connections)
 * @returns the client
 */
export const connectPostgresBun: ConnectPostgresFn = async (url: string, options = {}): Promise<PgClient> => {
  const sql = new Bun.SQL(url, { max: options.max ?? 4, connectionTimeout: 10 });
  try {
    await sql.unsafe("SELECT 1");
  } catch (err) {
    await sql.close().catch(() => {});
    throw err;
  }
  const run = (
    s: { unsafe(q: string, p?: unknown[]): Promise<unknown> },
    text: string,
    params: readonly PgValue[] = [],
  ) => s.unsafe(text, [...params]) as Promise<PgRow[]>;
  return {
    query: (text, params) => run(sql, text, params),
    transaction<T>(fn: (tx: PgTx) => Promise<T>): Promise<T> {
      return sql.begin((tx) => fn({ query: (text, params) => run(tx, text, params) })) as Promise<T>;
    },
    close: () => sql.close(),
  };
};
