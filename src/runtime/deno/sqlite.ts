/**
 * The {@link Database} port over `node:sqlite` (DatabaseSync), as Deno provides it.
 *
 * @module
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import type { Database, SqlRow, SqlValue } from "../../ports.ts";

// Metadata changes (topic create/delete, config changes) are rare and must survive power loss
// once acknowledged, so durability wins over write speed: synchronous=FULL even under WAL.
const PRAGMAS = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;";

/**
 * Opens (creating if needed) a SQLite database file, or ":memory:". INTEGER columns come back
 * as `number` (node:sqlite throws on values beyond 2^53); callers keep such values as TEXT.
 * @param path file path or ":memory:"
 * @returns an open {@link Database}
 * @example
 * const db = openDatabase(":memory:");
 * db.exec("CREATE TABLE t (x INTEGER)");
 */
export function openDatabase(path: string): Database {
  const db = new DatabaseSync(path);
  db.exec(PRAGMAS);
  const statements = new Map<string, StatementSync>();
  let inTransaction = false;

  function prepare(sql: string): StatementSync {
    let stmt = statements.get(sql);
    if (stmt === undefined) {
      stmt = db.prepare(sql);
      statements.set(sql, stmt);
    }
    return stmt;
  }

  return {
    exec(sql: string): void {
      db.exec(sql);
    },
    query(sql: string, params: readonly SqlValue[] = []): SqlRow[] {
      // node:sqlite rows have a null prototype; copy them into plain objects like bun:sqlite's.
      return prepare(sql).all(...(params as SQLInputValue[])).map((row) => ({ ...row }) as SqlRow);
    },
    run(sql: string, params: readonly SqlValue[] = []): { changes: number } {
      return { changes: Number(prepare(sql).run(...(params as SQLInputValue[])).changes) };
    },
    transaction<T>(fn: () => T): T {
      if (inTransaction) return fn();
      db.exec("BEGIN IMMEDIATE");
      inTransaction = true;
      try {
        const result = fn();
        if (result instanceof Promise) {
          throw new TypeError("Cannot run a transaction: the callback must be synchronous");
        }
        db.exec("COMMIT");
        return result;
      } catch (error) {
        // SQLite may already have rolled back on its own (SQLITE_FULL, SQLITE_IOERR, …).
        if (db.isTransaction) db.exec("ROLLBACK");
        throw error;
      } finally {
        inTransaction = false;
      }
    },
    close(): void {
      statements.clear();
      db.close();
    },
  };
}
