import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { memoryFs, MemoryFsError } from "../../../src/storage/memory/memory_fs.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function bytes(s: string): Uint8Array {
  return enc.encode(s);
}

async function isEio(promise: Promise<unknown>): Promise<void> {
  await assert.rejects(promise, (error: unknown) => error instanceof MemoryFsError && error.code === "EIO");
}

describe("memoryFs()", () => {
  test("FileHandle reads back what was written, short only at end of file", async () => {
    const fs = memoryFs();
    const f = await fs.open("/log", { create: true });
    await f.write(bytes("hello"), 0);
    await f.write(bytes("world"), 5);
    assert.equal(await f.size(), 10);
    assert.equal(dec.decode(await f.read(0, 10)), "helloworld");
    assert.equal(dec.decode(await f.read(3, 4)), "lowo");
    assert.equal(dec.decode(await f.read(8, 100)), "ld");
    assert.equal((await f.read(50, 10)).length, 0);
    await f.close();
  });

  test("FileHandle.write() past the end fills the gap with zeros", async () => {
    const fs = memoryFs();
    const f = await fs.open("/gap", { create: true });
    await f.write(bytes("x"), 3);
    assert.deepEqual([...(await f.read(0, 10))], [0, 0, 0, 120]);
  });

  test("FileHandle.truncate() shrinks and regrows with zeros", async () => {
    const fs = memoryFs();
    const f = await fs.open("/t", { create: true });
    await f.write(bytes("abcdef"), 0);
    await f.truncate(2);
    assert.equal(await f.size(), 2);
    await f.truncate(4);
    assert.deepEqual([...(await f.read(0, 10))], [97, 98, 0, 0]);
  });

  test("FileHandle.read() returns a copy that later writes do not change", async () => {
    const fs = memoryFs();
    const f = await fs.open("/c", { create: true });
    await f.write(bytes("aaaa"), 0);
    const seen = await f.read(0, 4);
    await f.write(bytes("bbbb"), 0);
    assert.equal(dec.decode(seen), "aaaa");
  });

  test("a closed FileHandle refuses further use", async () => {
    const fs = memoryFs();
    const f = await fs.open("/c", { create: true });
    await f.close();
    await assert.rejects(f.read(0, 1), /EBADF/);
  });

  test("open() needs create for a missing file and an existing parent directory", async () => {
    const fs = memoryFs();
    await assert.rejects(fs.open("/missing"), /ENOENT/);
    await assert.rejects(fs.open("/no/dir/file", { create: true }), /ENOENT/);
    await fs.mkdir("/no/dir");
    await (await fs.open("/no/dir/file", { create: true })).close();
    assert.equal(await fs.exists("/no/dir/file"), true);
  });

  test("mkdir(), readdir(), exists() and remove() manage a tree", async () => {
    const fs = memoryFs();
    await fs.mkdir("/data/orders-0");
    await fs.mkdir("/data/orders-0");
    await fs.writeFileAtomic("/data/meta", bytes("m"));
    await fs.writeFileAtomic("/data/orders-0/0.log", bytes("l"));
    assert.deepEqual(await fs.readdir("/data"), ["meta", "orders-0"]);
    assert.deepEqual(await fs.readdir("/"), ["data"]);
    await assert.rejects(fs.readdir("/nope"), /ENOENT/);
    await assert.rejects(fs.remove("/data"), /ENOTEMPTY/);
    await fs.remove("/data/meta");
    await fs.remove("/data/meta");
    await fs.remove("/data", { recursive: true });
    assert.equal(await fs.exists("/data"), false);
    assert.equal(await fs.exists("/data/orders-0/0.log"), false);
    assert.equal(await fs.readFile("/data/orders-0/0.log"), null);
  });

  test("rename() moves files and whole directories", async () => {
    const fs = memoryFs();
    await fs.mkdir("/d/a");
    await fs.writeFileAtomic("/d/a/f", bytes("1"));
    await fs.writeFileAtomic("/d/g", bytes("2"));
    await fs.rename("/d/g", "/d/a/f");
    assert.equal(dec.decode((await fs.readFile("/d/a/f"))!), "2");
    await fs.rename("/d/a", "/d/b");
    assert.deepEqual(await fs.readdir("/d"), ["b"]);
    assert.equal(dec.decode((await fs.readFile("/d/b/f"))!), "2");
    await assert.rejects(fs.rename("/d/missing", "/d/x"), /ENOENT/);
  });

  test("writeFileAtomic() replaces the file and readFile() returns null when missing", async () => {
    const fs = memoryFs();
    assert.equal(await fs.readFile("/f"), null);
    await fs.writeFileAtomic("/f", bytes("one"));
    await fs.writeFileAtomic("/f", bytes("two"));
    assert.equal(dec.decode((await fs.readFile("/f"))!), "two");
  });

  test("crash() drops what was written since the last datasync()", async () => {
    const fs = memoryFs();
    const f = await fs.open("/log", { create: true });
    await f.write(bytes("durable"), 0);
    await f.datasync();
    await f.write(bytes("-lost"), 7);
    await f.truncate(3);
    const g = await fs.open("/never-synced", { create: true });
    await g.write(bytes("x"), 0);
    await fs.writeFileAtomic("/atomic", bytes("kept"));
    fs.crash();
    assert.equal(dec.decode((await fs.readFile("/log"))!), "durable");
    assert.equal(await f.size(), 7);
    assert.deepEqual(await fs.readFile("/never-synced"), new Uint8Array(0));
    assert.equal(dec.decode((await fs.readFile("/atomic"))!), "kept");
  });

  test("failNextWrite() fails one write without writing, then writes work again", async () => {
    const fs = memoryFs();
    const f = await fs.open("/log", { create: true });
    fs.failNextWrite();
    await isEio(f.write(bytes("nope"), 0));
    assert.equal(await f.size(), 0);
    await f.write(bytes("yes"), 0);
    assert.equal(await f.size(), 3);
  });

  test("memoryFs({ failNextWrite }) fails the first writeFileAtomic() and keeps the old file", async () => {
    const fs = memoryFs({ failNextWrite: true });
    await isEio(fs.writeFileAtomic("/f", bytes("x")));
    assert.equal(await fs.readFile("/f"), null);
    await fs.writeFileAtomic("/f", bytes("y"));
    assert.equal(dec.decode((await fs.readFile("/f"))!), "y");
  });

  test("memoryFs({ failNextFsync }) fails the first datasync() and the data is lost on crash", async () => {
    const fs = memoryFs({ failNextFsync: true });
    const f = await fs.open("/log", { create: true });
    await f.write(bytes("abc"), 0);
    await isEio(f.datasync());
    assert.equal(await f.size(), 3);
    fs.crash();
    assert.equal(await f.size(), 0);
    await f.write(bytes("abc"), 0);
    await f.datasync();
    fs.crash();
    assert.equal(await f.size(), 3);
  });

  test("failNextFsync() makes writeFileAtomic() fail and leave the old contents", async () => {
    const fs = memoryFs();
    await fs.writeFileAtomic("/f", bytes("old"));
    fs.failNextFsync();
    await isEio(fs.writeFileAtomic("/f", bytes("new")));
    assert.equal(dec.decode((await fs.readFile("/f"))!), "old");
  });

  test("tearTail() cuts bytes off the end, durably", async () => {
    const fs = memoryFs();
    const f = await fs.open("/log", { create: true });
    await f.write(bytes("0123456789"), 0);
    await f.datasync();
    fs.tearTail("/log", 4);
    assert.equal(dec.decode((await fs.readFile("/log"))!), "012345");
    fs.crash();
    assert.equal(dec.decode((await fs.readFile("/log"))!), "012345");
    fs.tearTail("/log", 100);
    assert.equal(await f.size(), 0);
    assert.throws(() => fs.tearTail("/missing", 1), /ENOENT/);
  });
});
