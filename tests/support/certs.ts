/**
 * Throwaway certificates for TLS tests, made with the system `openssl` (Debian's
 * `/usr/bin/openssl`; `scripts/install_test_deps.sh` checks for it) in a temp dir. P-256 keys
 * (PKCS#8 PEM), valid for one day.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A key and its certificate, PEM text. */
export interface KeyPair {
  key: string;
  cert: string;
}

/** Everything the TLS tests use. */
export interface TestCerts {
  /** Directory holding the files as `<name>.key` / `<name>.pem` (for `openssl s_client`). */
  dir: string;
  /** The test CA ("CN=kbin test CA"). */
  ca: KeyPair;
  /** A second, unrelated CA ("CN=kbin other CA"). */
  otherCa: KeyPair;
  /** Server certificate from `ca` for 127.0.0.1 and localhost (subject "CN=localhost,O=kbin"). */
  server: KeyPair;
  /** Server certificate from `otherCa` for 127.0.0.1 and localhost (subject "CN=localhost,O=kbin reloaded"). */
  serverOther: KeyPair;
  /** Client certificate from `ca`: subject "CN=alice,O=Acme". */
  alice: KeyPair;
  /** Client certificate from `otherCa`: subject "CN=mallory,O=Evil". */
  mallory: KeyPair;
  /** Removes `dir`. */
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

function newCa(dir: string, name: string, subject: string): KeyPair {
  openssl([
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`,
    "-days",
    "1",
    "-subj",
    subject,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ], dir);
  return read(dir, name);
}

function newLeaf(
  dir: string,
  name: string,
  options: { ca: string; subject: string; usage: "serverAuth" | "clientAuth"; san?: string },
): KeyPair {
  const args = [
    "req",
    "-x509",
    "-CA",
    `${options.ca}.pem`,
    "-CAkey",
    `${options.ca}.key`,
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`,
    "-days",
    "1",
    "-subj",
    options.subject,
    "-addext",
    "basicConstraints=critical,CA:FALSE",
    "-addext",
    "keyUsage=critical,digitalSignature",
    "-addext",
    `extendedKeyUsage=${options.usage}`,
  ];
  if (options.san) args.push("-addext", `subjectAltName=${options.san}`);
  openssl(args, dir);
  return read(dir, name);
}

function read(dir: string, name: string): KeyPair {
  return { key: readFileSync(join(dir, `${name}.key`), "utf8"), cert: readFileSync(join(dir, `${name}.pem`), "utf8") };
}

/** Generates the test CAs and certificates into a new temp dir (about 50 ms of openssl runs). */
export function makeTestCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), "kbin-certs-"));
  const san = "IP:127.0.0.1,DNS:localhost";
  const ca = newCa(dir, "ca", "/CN=kbin test CA");
  const otherCa = newCa(dir, "other_ca", "/CN=kbin other CA");
  const server = newLeaf(dir, "server", { ca: "ca", subject: "/O=kbin/CN=localhost", usage: "serverAuth", san });
  const serverOther = newLeaf(dir, "server_other", {
    ca: "other_ca",
    subject: "/O=kbin reloaded/CN=localhost",
    usage: "serverAuth",
    san,
  });
  const alice = newLeaf(dir, "alice", { ca: "ca", subject: "/O=Acme/CN=alice", usage: "clientAuth" });
  const mallory = newLeaf(dir, "mallory", { ca: "other_ca", subject: "/O=Evil/CN=mallory", usage: "clientAuth" });
  writeFileSync(join(dir, "README"), "kbin test certificates; safe to delete\n");
  return {
    dir,
    ca,
    otherCa,
    server,
    serverOther,
    alice,
    mallory,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
