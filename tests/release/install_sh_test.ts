/**
 * install.sh against a fake release served from 127.0.0.1: a shell script stands in for the
 * kbin executable, so these tests need no build and no network.
 *
 * The server runs in this process while `sh install.sh` runs as a child, so children are
 * spawned asynchronously; a synchronous spawn would block the server's event loop.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { constants, existsSync } from "node:fs";
import { access, chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { permanentSkip } from "../support/skips.ts";

const INSTALL_SH = fileURLToPath(new URL("../../install.sh", import.meta.url));
const FAKE_VERSION = "kbin 9.9.9-fake";
const FAKE_KBIN = `#!/bin/sh\necho "${FAKE_VERSION}"\n`;
const SKIP = permanentSkip("install-sh-needs-posix-sh", process.platform === "win32");

/** The asset install.sh should pick on this machine, named as scripts/release.sh names it. */
function hostAsset(): string {
  const os = ({ linux: "linux", darwin: "darwin", win32: "windows" } as Record<string, string>)[process.platform];
  const arch = ({ x64: "x64", arm64: "arm64" } as Record<string, string>)[process.arch];
  assert.ok(os && arch, `no kbin release asset for ${process.platform}-${process.arch}`);
  return `kbin-${os}-${arch}${os === "windows" ? ".exe" : ""}`;
}

function sha256Hex(data: string): string {
  return createHash("sha256").update(data).digest("hex");
}

type FakeRelease = { url: string; requests: string[]; close(): Promise<void> };

/** Serves `files` (name → body) at http://127.0.0.1:<port>/<name>; anything else is a 404. */
async function serveRelease(files: Record<string, string>): Promise<FakeRelease> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = req.url ?? "/";
    requests.push(path);
    const body = Object.hasOwn(files, path.slice(1)) ? files[path.slice(1)] : undefined;
    if (body === undefined) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    } else {
      res.writeHead(200, { "content-type": "application/octet-stream" }).end(body);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type RunResult = { code: number | null; stdout: string; stderr: string };

/** Runs `sh install.sh ...args` (or, with `stdin`, `sh -s -- ...args` fed the script). */
function runInstall(
  args: string[],
  options: { env: Record<string, string>; stdin?: string },
): Promise<RunResult> {
  const shArgs = options.stdin === undefined ? [INSTALL_SH, ...args] : ["-s", "--", ...args];
  return new Promise((resolve, reject) => {
    // Only what install.sh needs: a KBIN_* variable from the developer's shell must not leak in.
    const child = spawn("sh", shArgs, {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? "");
  });
}

function runFile(path: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

function assertIncludes(text: string, expected: string): void {
  assert.ok(text.includes(expected), `expected output to include ${JSON.stringify(expected)}, got:\n${text}`);
}

function describeRun(result: RunResult): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}--- stderr\n${result.stderr}`;
}

const asset = hostAsset();
let root = "";
let n = 0;
/** A fresh, empty directory under this file's temp root. */
async function freshDir(): Promise<string> {
  const dir = join(root, `t${n++}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), "kbin-install-sh-"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

test("install.sh --prefix installs a verified, executable kbin that runs", { skip: SKIP }, async () => {
  const dir = await freshDir();
  const prefix = join(dir, "bin");
  const release = await serveRelease({ [asset]: FAKE_KBIN, SHA256SUMS: `${sha256Hex(FAKE_KBIN)}  ${asset}\n` });
  try {
    const result = await runInstall(["--prefix", prefix], {
      env: { HOME: join(dir, "home"), KBIN_RELEASE_URL: release.url },
    });
    assert.equal(result.code, 0, describeRun(result));
    assert.deepEqual(release.requests, [`/${asset}`, "/SHA256SUMS"]);

    const installed = join(prefix, "kbin");
    assert.equal(await readFile(installed, "utf8"), FAKE_KBIN);
    await access(installed, constants.X_OK);
    const ran = await runFile(installed, ["--version"]);
    assert.equal(ran.stdout.trim(), FAKE_VERSION);

    assertIncludes(result.stdout, `installed ${FAKE_VERSION} to ${installed}`);
    assert.match(result.stdout, /is not on your PATH/, "prints a PATH hint for a directory off PATH");
    assert.deepEqual(await readdir(prefix), ["kbin"], "leaves no temporary file beside kbin");
  } finally {
    await release.close();
  }
});

test("install.sh piped into sh installs to ~/.local/bin, or to KBIN_INSTALL_DIR", { skip: SKIP }, async () => {
  const dir = await freshDir();
  const home = join(dir, "home");
  const release = await serveRelease({ [asset]: FAKE_KBIN, SHA256SUMS: `${sha256Hex(FAKE_KBIN)}  ${asset}\n` });
  try {
    const script = await readFile(INSTALL_SH, "utf8");
    const piped = await runInstall([], { env: { HOME: home, KBIN_RELEASE_URL: release.url }, stdin: script });
    assert.equal(piped.code, 0, describeRun(piped));
    await access(join(home, ".local", "bin", "kbin"), constants.X_OK);

    const chosen = join(dir, "chosen");
    const withEnv = await runInstall([], {
      env: {
        HOME: home,
        KBIN_RELEASE_URL: `${release.url}/`,
        KBIN_INSTALL_DIR: chosen,
        PATH: `${chosen}:${process.env.PATH}`,
      },
      stdin: script,
    });
    assert.equal(withEnv.code, 0, describeRun(withEnv));
    await access(join(chosen, "kbin"), constants.X_OK);
    assert.doesNotMatch(withEnv.stdout, /not on your PATH/, "no PATH hint when the directory is on PATH");
  } finally {
    await release.close();
  }
});

test("install.sh refuses to install on a checksum mismatch", { skip: SKIP }, async () => {
  const dir = await freshDir();
  const prefix = join(dir, "bin");
  const wrong = sha256Hex("something else");
  const release = await serveRelease({ [asset]: FAKE_KBIN, SHA256SUMS: `${wrong}  ${asset}\n` });
  try {
    const result = await runInstall(["--prefix", prefix], {
      env: { HOME: join(dir, "home"), KBIN_RELEASE_URL: release.url },
    });
    assert.notEqual(result.code, 0, describeRun(result));
    assert.match(result.stderr, /Checksum mismatch/);
    assertIncludes(result.stderr, `expected ${wrong}, got ${sha256Hex(FAKE_KBIN)}`);
    assert.match(result.stderr, /refusing to install/);
    assert.equal(existsSync(join(prefix, "kbin")), false, "nothing installed");
  } finally {
    await release.close();
  }
});

test("install.sh refuses to install when SHA256SUMS has no entry for the asset", { skip: SKIP }, async () => {
  const dir = await freshDir();
  const prefix = join(dir, "bin");
  const release = await serveRelease({
    [asset]: FAKE_KBIN,
    SHA256SUMS: `${sha256Hex(FAKE_KBIN)}  kbin-plan9-mips\n`,
  });
  try {
    const result = await runInstall(["--prefix", prefix], {
      env: { HOME: join(dir, "home"), KBIN_RELEASE_URL: release.url },
    });
    assert.notEqual(result.code, 0, describeRun(result));
    assertIncludes(result.stderr, `no entry for it in "${release.url}/SHA256SUMS", refusing to install`);
    assert.equal(existsSync(join(prefix, "kbin")), false, "nothing installed");
  } finally {
    await release.close();
  }
});

test("install.sh names the URL when the asset is missing (404)", { skip: SKIP }, async () => {
  const dir = await freshDir();
  const prefix = join(dir, "bin");
  const release = await serveRelease({ SHA256SUMS: `${sha256Hex(FAKE_KBIN)}  ${asset}\n` });
  try {
    const result = await runInstall(["--prefix", prefix], {
      env: { HOME: join(dir, "home"), KBIN_RELEASE_URL: release.url },
    });
    assert.notEqual(result.code, 0, describeRun(result));
    assertIncludes(result.stderr, `Cannot download "${release.url}/${asset}"`);
    assert.equal(result.stderr.trim().split("\n").length, 1, `one line on stderr, got:\n${result.stderr}`);
    assert.equal(existsSync(join(prefix, "kbin")), false, "nothing installed");
  } finally {
    await release.close();
  }
});

test("install.sh rejects an unsupported OS or architecture before downloading", { skip: SKIP }, async () => {
  const dir = await freshDir();
  const fakeBin = join(dir, "fake-bin");
  await mkdir(fakeBin);
  const uname = join(fakeBin, "uname");
  const release = await serveRelease({});
  try {
    const cases = [
      { kernel: "SunOS", machine: "x86_64", message: /unsupported OS "SunOS"/ },
      { kernel: "Linux", machine: "riscv64", message: /unsupported architecture "riscv64"/ },
    ];
    for (const { kernel, machine, message } of cases) {
      await writeFile(uname, `#!/bin/sh\ncase "$1" in -s) echo ${kernel} ;; -m) echo ${machine} ;; esac\n`);
      await chmod(uname, 0o755);
      const result = await runInstall(["--prefix", join(dir, "bin")], {
        env: { HOME: join(dir, "home"), KBIN_RELEASE_URL: release.url, PATH: `${fakeBin}:${process.env.PATH}` },
      });
      assert.notEqual(result.code, 0, describeRun(result));
      assert.match(result.stderr, message);
    }
    assert.deepEqual(release.requests, [], "downloads nothing");
  } finally {
    await release.close();
  }
});

test("install.sh --help prints usage and installs nothing", { skip: SKIP }, async () => {
  const dir = await freshDir();
  const result = await runInstall(["--help"], { env: { HOME: dir } });
  assert.equal(result.code, 0, describeRun(result));
  assert.match(result.stdout, /^Usage:/m);
  assert.match(result.stdout, /--prefix DIR/);
  assert.match(result.stdout, /KBIN_RELEASE_URL/);
  assert.equal(existsSync(join(dir, ".local")), false);
});
