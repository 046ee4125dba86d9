/**
 * max.connections, max.connections.per.ip and its overrides: a connection past a limit is closed
 * at once while the others are served; a closed connection frees its slot.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { startBroker } from "../../../mod.ts";
import { ConfigError } from "../../../src/broker/config.ts";
import { ConnectionLimits, hostOf } from "../../../src/server/connection_limits.ts";
import { assertServes, rawClient } from "../../support/raw_client.ts";

test("ConnectionLimits counts per host and in all, with per-host overrides", () => {
  const l = new ConnectionLimits({ max: 3, perIp: 2, overrides: "10.0.0.9:0, ::1:1" });
  assert.equal(l.admit("127.0.0.1:1000"), null);
  assert.equal(l.admit("127.0.0.1:1001"), null);
  assert.match(l.admit("127.0.0.1:1002")!, /max.connections.per.ip \(2\) reached for 127.0.0.1/);
  assert.match(l.admit("10.0.0.9:5")!, /\(0\)/);
  assert.equal(l.admit("::1:4000"), null);
  assert.match(l.admit("::1:4001")!, /\(1\) reached for ::1/);
  assert.match(l.admit("10.0.0.1:5")!, /max.connections \(3\) reached/);
  l.release("127.0.0.1:1000");
  assert.equal(l.admit("10.0.0.1:5"), null);
  assert.equal(hostOf("[::1]:9092"), "::1");
  assert.throws(() => new ConnectionLimits({ max: 1, perIp: 1, overrides: "nohost" }), ConfigError);
});

test("a broker with max.connections.per.ip=2 closes the third connection from one address and serves the others", async () => {
  await using broker = await startBroker({ logLevel: "silent", config: { "max.connections.per.ip": "2" } });
  const a = await rawClient(broker.port);
  const b = await rawClient(broker.port);
  await assertServes(a);
  await assertServes(b);
  const c = await rawClient(broker.port);
  assert.equal(await c.closed(2000), true);
  a.end();
  await new Promise((r) => setTimeout(r, 100));
  const d = await rawClient(broker.port);
  await assertServes(d);
  for (const x of [b, c, d]) x.end();
});
