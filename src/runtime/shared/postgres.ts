/**
 * The PostgreSQL port over the `postgres` npm driver (porsager/postgres), used on Deno (Bun uses
 * its built-in client, src/runtime/bun/postgres.ts; scripts/bench/pg_append.ts measures both): extended-protocol statements with `$n` parameters, bytea as Uint8Array, a small
 * pool, transactions on one connection.
 *
 * @module
 */

import postgres from "postgres";
import type { ConnectPostgresFn, PgClient, PgRow, PgTx, PgValue } from "../../ports.ts";

type Sql = ReturnType<typeof postgres>;

function run(sql: Sql | postgres.TransactionSql, text: string, params: readonly PgValue[] = []): Promise<PgRow[]> {
  // deno-lint-ignore no-explicit-any
  return sql.unsafe(text, params as any[], { prepare: true }) as unknown as Promise<PgRow[]>;
}

/**
 * Connects to PostgreSQL; the first statement proves the connection works.
 * @param url `postgres://user:pass@host:port/db`
 * @param options pool size (default 4 connections)
 * @returns the client
 */
export const connectPostgres: ConnectPostgresFn = async (url: string, options = {}): Promise<PgClient> => {
  const sql = postgres(url, {
    max: options.max ?? 4,
    onnotice: () => {},
    connect_timeout: 10,
    idle_timeout: 0,
    // Keep int8 as text (exact); callers convert.
    types: {},
  });
  try {
    await sql`SELECT 1`;
  } catch (err) {
    await sql.end({ timeout: 1 }).catch(() => {});
    throw err;
  }
  return {
    query: (text, params) => run(sql, text, params),
    transaction<T>(fn: (tx: PgTx) => Promise<T>): Promise<T> {
      return sql.begin((tx) => fn({ query: (text, params) => run(tx, text, params) })) as Promise<T>;
    },
    close: () => sql.end({ timeout: 5 }),
  };
};
