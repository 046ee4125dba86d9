/**
 * The postgres: engine when PostgreSQL goes away and comes back (an immediate shutdown, as a crash
 * or a failover restart): writes in flight fail with a storage error (KAFKA_STORAGE_ERROR to the
 * client, which retries), nothing committed is lost, and writes work again by themselves once the
 * server is back, continuing at the right offsets.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { buildBatch } from "../../../../src/protocol/records/records.ts";
import { StorageError } from "../../../../src/storage/engine.ts";
import { sharedPostgres, stopSharedPostgres } from "../../../support/postgres.ts";
import { NO_POSTGRES, openPgStorage } from "./support.ts";

after(stopSharedPostgres);

const enc = new TextEncoder();

describe("postgres: across a PostgreSQL restart", { skip: NO_POSTGRES }, () => {
  test(
    "writes fail while it is down and resume by themselves; nothing committed is lost",
    { timeout: 60_000 },
    async () => {
      const pg = await sharedPostgres();
      const url = pg.createDatabase(`kbin_restart_${process.pid}`);
      const storage = await openPgStorage(url);
      try {
        const t = await storage.topics.create({ name: "r", partitions: 1 });
        assert.ok(t.ok);
        const ref = { topicName: "r", topicId: t.value.id, partition: 0 };
        const p = await storage.partition(ref);
        const append = async (v: string, producer?: { seq: number }) => {
          const r = await p.append(
            buildBatch(
              [{ value: enc.encode(v) }],
              producer ? { producerId: 9n, producerEpoch: 0, baseSequence: producer.seq } : {},
            ),
          );
          if (r.kind !== "appended") return r;
          await r.written;
          return r;
        };
        const commit = (offset: number) =>
          storage.groups.commitOffsets("g", [{
            topic: "r",
            partition: 0,
            offset,
            leaderEpoch: 0,
            metadata: "",
            commitMs: offset,
          }]);
        for (let i = 0; i < 5; i++) await append(`a${i}`, { seq: i });
        await commit(5);

        pg.restart();

        // The first writes after the restart may meet dead connections: they fail as storage errors.
        let failures = 0;
        let resumed: number | null = null;
        for (let attempt = 0; attempt < 50 && resumed === null; attempt++) {
          try {
            const r = await append("b0", { seq: 5 });
            assert.equal(r.kind, "appended", JSON.stringify(r));
            resumed = (r as { baseOffset: number }).baseOffset;
          } catch (err) {
            assert.ok(err instanceof StorageError, String(err));
            failures++;
            await new Promise((r) => setTimeout(r, 100));
          }
        }
        assert.equal(resumed, 5, `appends resumed at offset ${resumed} after ${failures} failures`);
        // The idempotent producer's retry of the batch is still recognised.
        const retry = await p.append(
          buildBatch([{ value: enc.encode("b0") }], { producerId: 9n, producerEpoch: 0, baseSequence: 5 }),
        );
        assert.equal(retry.kind, "duplicate");
        const read = await p.read(0, 1 << 20, { minOneBatch: true });
        assert.ok(read.ok && read.value.highWatermark === 6);
        // The group store's connection may be the one that meets the restart: one retry, as a client would.
        await commit(6).catch(() => commit(6));
        assert.equal((await storage.groups.load()).offsets.get("g")?.[0]?.offset, 6);
      } finally {
        await storage.close();
      }
    },
  );
});
