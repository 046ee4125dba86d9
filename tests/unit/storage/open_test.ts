/** Storage URLs: parsing, the flags and settings that name them, and clear errors for the rest. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { BrokerConfig } from "../../../src/broker/config.ts";
import { storageUrl } from "../../../src/cli/serve.ts";
import { parseStorageUrl, redactStorageUrl, StorageUrlError } from "../../../src/storage/open.ts";
import { BUN, MAIN, run, startBrokerProcess } from "../../support/broker_process.ts";

describe("parseStorageUrl()", () => {
  test("names the file, memory and postgres engines", () => {
    assert.deepEqual(parseStorageUrl("file:./kbin-data"), { kind: "file", dir: "./kbin-data" });
    assert.deepEqual(parseStorageUrl("file:///var/lib/kbin"), { kind: "file", dir: "/var/lib/kbin" });
    assert.deepEqual(parseStorageUrl("file:/var/lib/my%20kbin"), { kind: "file", dir: "/var/lib/my kbin" });
    assert.deepEqual(parseStorageUrl("/var/lib/kbin"), { kind: "file", dir: "/var/lib/kbin" });
    assert.deepEqual(parseStorageUrl("data"), { kind: "file", dir: "data" });
    assert.deepEqual(parseStorageUrl("memory:"), { kind: "memory" });
    assert.deepEqual(parseStorageUrl("postgres://kbin:pw@127.0.0.1:5432/kbin"), {
      kind: "postgres",
      url: "postgres://kbin:pw@127.0.0.1:5432/kbin",
    });
    assert.equal(parseStorageUrl("postgresql://h/db").kind, "postgres");
  });

  test("refuses unknown engines and empty values with the forms it accepts", () => {
    for (const bad of ["s3://bucket", "mysql://h/db", "file:", ""]) {
      assert.throws(
        () => parseStorageUrl(bad),
        (e: unknown) => e instanceof StorageUrlError && /file:/.test(e.message),
      );
    }
  });
});

test("redactStorageUrl() hides a postgres password and leaves other URLs alone", () => {
  assert.equal(redactStorageUrl("postgres://kbin:s3cr:et@db:5432/kbin"), "postgres://kbin:***@db:5432/kbin");
  assert.equal(redactStorageUrl("postgresql://u:p@h/db"), "postgresql://u:***@h/db");
  assert.equal(redactStorageUrl("postgres://kbin@db/kbin"), "postgres://kbin@db/kbin");
  assert.equal(redactStorageUrl("file:/a:b@c"), "file:/a:b@c");
});

describe("storageUrl()", () => {
  test("kbin.storage wins; else log.dirs (first) or log.dir as file:; else file:./kbin-data", () => {
    assert.equal(storageUrl(new BrokerConfig([])), "file:./kbin-data");
    assert.equal(storageUrl(new BrokerConfig([["log.dirs", "/a,/b"]])), "file:/a");
    assert.equal(storageUrl(new BrokerConfig([["log.dir", "/c"]])), "file:/c");
    assert.equal(storageUrl(new BrokerConfig([["log.dirs", "/a"], ["kbin.storage", "memory:"]])), "memory:");
  });
});

describe("kbin serve --storage", () => {
  test("memory: keeps nothing on disk", async () => {
    const cwd = await mkdtemp(join(tmpdir(), "kbin-storage-"));
    try {
      await using broker = await startBrokerProcess({ storage: "memory:", cwd });
      assert.ok(broker.port > 0);
      assert.deepEqual(await readdir(cwd), []);
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });

  test("kbin.storage from a server.properties file is used, and --storage overrides it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kbin-storage-"));
    const ready = (args: string[]) =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(BUN, [MAIN, "serve", "--listen", "127.0.0.1:0", ...args], {
          stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        let line: string | undefined;
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          line ??= /ready on .*\n/.exec(out)?.[0];
          if (line) child.kill("SIGTERM");
        });
        child.once("exit", (code) => {
          if (line) resolve(line);
          else reject(new Error(`kbin serve exited with ${code} before it was ready`));
        });
      });
    try {
      const props = join(dir, "server.properties");
      await writeFile(props, `kbin.storage=file:${dir}/from-file\n`);
      assert.match(await ready(["--config", props]), new RegExp(`storage file:${dir}/from-file,`));
      assert.match(await ready(["--config", props, "--storage", "memory:"]), /storage memory:,/);
      assert.deepEqual((await readdir(dir)).sort(), ["from-file", "server.properties"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("an unknown engine, an unreachable PostgreSQL (password hidden) and --storage with --data-dir fail with one clear line", async () => {
    const serve = (args: string[]) =>
      run(BUN, [MAIN, "serve", "--listen", "127.0.0.1:0", ...args], { timeoutMs: 20_000 });
    const unknown = await serve(["--storage", "s3://bucket"]);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /unknown engine "s3"/);
    const pg = await serve(["--storage", "postgres://kbin:secret@127.0.0.1:1/kbin"]);
    assert.notEqual(pg.code, 0);
    assert.match(pg.stderr, /Cannot connect to PostgreSQL at "postgres:\/\/kbin:\*\*\*@127\.0\.0\.1:1\/kbin"/);
    assert.doesNotMatch(pg.stderr, /secret/);
    const both = await serve(["--storage", "memory:", "--data-dir", "/tmp/x"]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--storage and --data-dir both name the storage/);
  });
});
