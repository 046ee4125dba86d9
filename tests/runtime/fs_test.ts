import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { openFileSystem as openSharedFileSystem } from "../../src/runtime/shared/node_fs.ts";
import { openFileSystem, runtimeName } from "../support/runtime.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "kbin-fs-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe(`openFileSystem() on ${runtimeName}`, () => {
  test("the runtime adapter re-exports the shared node:fs implementation", () => {
    assert.equal(openFileSystem, openSharedFileSystem);
  });

  test("FileHandle reads back what was written, short only at end of file", async () => {
    await withTempDir(async (dir) => {
      const fs = openFileSystem();
      const f = await fs.open(`${dir}/log`, { create: true });
      try {
        await f.write(enc.encode("hello"), 0);
        await f.write(enc.encode("world"), 5);
        await f.datasync();
        assert.equal(await f.size(), 10);
        assert.equal(dec.decode(await f.read(0, 10)), "helloworld");
        assert.equal(dec.decode(await f.read(3, 4)), "lowo");
        assert.equal(dec.decode(await f.read(8, 100)), "ld");
        assert.equal((await f.read(50, 10)).length, 0);
      } finally {
        await f.close();
      }
    });
  });

  test("FileHandle.write() writes large buffers fully at the position", async () => {
    await withTempDir(async (dir) => {
      const fs = openFileSystem();
      const data = new Uint8Array(3 * 1024 * 1024).map((_, i) => i & 0xff);
      const f = await fs.open(`${dir}/big`, { create: true });
      try {
        await f.write(data, 100);
        assert.equal(await f.size(), data.length + 100);
        const back = await f.read(100, data.length);
        assert.equal(back.length, data.length);
        assert.ok(back.every((b, i) => b === data[i]));
        assert.deepEqual([...(await f.read(0, 4))], [0, 0, 0, 0]);
      } finally {
        await f.close();
      }
    });
  });

  test("FileHandle.truncate() and size() track the length", async () => {
    await withTempDir(async (dir) => {
      const fs = openFileSystem();
      const f = await fs.open(`${dir}/t`, { create: true });
      try {
        await f.write(enc.encode("abcdef"), 0);
        await f.truncate(2);
        assert.equal(await f.size(), 2);
        assert.equal(dec.decode(await f.read(0, 10)), "ab");
      } finally {
        await f.close();
      }
    });
  });

  test("open() without create fails for a missing file and keeps existing contents", async () => {
    await withTempDir(async (dir) => {
      const fs = openFileSystem();
      await assert.rejects(fs.open(`${dir}/missing`), (e: unknown) => (e as { code?: string }).code === "ENOENT");
      const f = await fs.open(`${dir}/keep`, { create: true });
      await f.write(enc.encode("abc"), 0);
      await f.close();
      const g = await fs.open(`${dir}/keep`, { create: true });
      try {
        assert.equal(await g.size(), 3);
        await g.write(enc.encode("X"), 1);
        assert.equal(dec.decode(await g.read(0, 3)), "aXc");
      } finally {
        await g.close();
      }
    });
  });

  test("writeFileAtomic() replaces the file and leaves no temporary files", async () => {
    await withTempDir(async (dir) => {
      const fs = openFileSystem();
      assert.equal(await fs.readFile(`${dir}/meta`), null);
      await fs.writeFileAtomic(`${dir}/meta`, enc.encode("one"));
      await fs.writeFileAtomic(`${dir}/meta`, enc.encode("two"));
      assert.equal(dec.decode((await fs.readFile(`${dir}/meta`))!), "two");
      assert.deepEqual(await readdir(dir), ["meta"]);
    });
  });

  test("mkdir(), readdir(), rename(), exists() and remove() manage a tree", async () => {
    await withTempDir(async (dir) => {
      const fs = openFileSystem();
      await fs.mkdir(`${dir}/data/orders-0`);
      await fs.mkdir(`${dir}/data/orders-0`);
      await fs.writeFileAtomic(`${dir}/data/b`, enc.encode("b"));
      await fs.writeFileAtomic(`${dir}/data/a`, enc.encode("a"));
      assert.deepEqual(await fs.readdir(`${dir}/data`), ["a", "b", "orders-0"]);
      await fs.rename(`${dir}/data/a`, `${dir}/data/orders-0/a`);
      assert.equal(await fs.exists(`${dir}/data/a`), false);
      assert.equal(await fs.exists(`${dir}/data/orders-0/a`), true);
      await assert.rejects(fs.remove(`${dir}/data`));
      await fs.remove(`${dir}/data/b`);
      await fs.remove(`${dir}/data/b`);
      await fs.remove(`${dir}/data`, { recursive: true });
      assert.equal(await fs.exists(`${dir}/data`), false);
      await fs.mkdir(`${dir}/empty`);
      await fs.remove(`${dir}/empty`);
      assert.equal(await fs.exists(`${dir}/empty`), false);
    });
  });
});
