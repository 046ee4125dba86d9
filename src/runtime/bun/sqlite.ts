/**
 * The {@link Database} port over `bun:sqlite`.
 *
 * @module
 */
import { Database as BunDatabase, type SQLQueryBindings, type Statement } from "bun:sqlite";
import type { Database, SqlRow, SqlValue } from "../../ports.ts";

// Metadata changes (topic create/delete, config changes) are rare and must survive power loss
// once acknowledged, so durability wins over write speed: synchronous=FULL even under WAL.
const PRAGMAS = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;";

/**
 * Opens (creating if needed) a SQLite database file, or ":memory:". INTEGER columns come back
 * as `number`; callers keep values that may exceed 2^53 as TEXT.
 * @param path file path or ":memory:"
 * @returns an open {@link Database}
 * @example
 * const db = openDatabase(":memory:");
 * db.exec("CREATE TABLE t (x INTEGER)");
 */
export function openDatabase(path: string): Database {
  const db = new BunDatabase(path, { create: true, readwrite: true, safeIntegers: false });
  db.run(PRAGMAS);
  const statements = new Map<string, Statement<SqlRow, SQLQueryBindings[]>>();
  let inTransaction = false;

  function prepare(sql: string): Statement<SqlRow, SQLQueryBindings[]> {
    let stmt = statements.get(sql);
    if (stmt === undefined) {
      stmt = db.prepare<SqlRow, SQLQueryBindings[]>(sql);
      statements.set(sql, stmt);
    }
    return stmt;
  }

  return {
    exec(sql: string): void {
      db.run(sql);
    },
    query(sql: string, params: readonly SqlValue[] = []): SqlRow[] {
      return prepare(sql).all(...(params as SQLQueryBindings[]));
    },
    run(sql: string, params: readonly SqlValue[] = []): { changes: number } {
      return { changes: prepare(sql).run(...(params as SQLQueryBindings[])).changes };
    },
    transaction<T>(fn: () => T): T {
      if (inTransaction) return fn();
      db.run("BEGIN IMMEDIATE");
      inTransaction = true;
      try {
        const result = fn();
        if (result instanceof Promise) {
          throw new TypeError("Cannot run a transaction: the callback must be synchronous");
        }
        db.run("COMMIT");
        return result;
      } catch (error) {
        // SQLite may already have rolled back on its own (SQLITE_FULL, SQLITE_IOERR, …).
        if (db.inTransaction) db.run("ROLLBACK");
        throw error;
      } finally {
        inTransaction = false;
      }
    },
    close(): void {
      for (const stmt of statements.values()) stmt.finalize();
      statements.clear();
      db.close();
    },
  };
}
