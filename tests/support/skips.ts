/**
 * Why a test may skip, in one place. There are two kinds of skip and no others:
 *
 * - **A real client is missing here** ({@link clientMissing}): kcat, Debian's Python clients, Go
 *   with Sarama or kafka-go. `scripts/install_test_deps.sh` (which `npm test` runs first) installs
 *   them, so under `CI=true` a missing client fails the run instead of skipping.
 * - **A permanent skip** ({@link permanentSkip}): a client, runtime or platform lacks what the test
 *   needs, or the user opted out. Each one is an entry of {@link PERMANENT_SKIPS} with its reason;
 *   `tests/compat/shared/skips_test.ts` fails on a skip in `tests/compat/` or `tests/release/` that
 *   is neither kind, and on an entry no test uses.
 *
 * @module
 */

import assert from "node:assert/strict";
import { test } from "node:test";

/** One permanent skip: who lacks what, where, and why the test cannot run. */
export interface PermanentSkip {
  /** The client, runtime or platform that lacks something. */
  readonly who: string;
  /** The test file that skips. */
  readonly tests: string;
  /** The skip reason the runner shows. */
  readonly reason: string;
}

/** Every permanent skip in the suite, by key. */
export const PERMANENT_SKIPS = {
  "confluent-kafka-1.7-admin-group-methods": {
    who: "confluent-kafka-python 1.7.0 (Debian's python3-confluent-kafka, librdkafka 2.0.2)",
    tests: "tests/compat/groups/admin_test.ts",
    reason: "AdminClient has no consumer-group methods (list_consumer_groups, describe_consumer_groups, " +
      "delete_consumer_groups, list/alter/delete_consumer_group_offsets came in 2.x); the same requests are " +
      "covered through list_groups(), Consumer.committed()/commit(), kafka-python, KafkaJS and @platformatic/kafka",
  },
  "deno-child-exit-code-after-signal": {
    who: "Deno's node:child_process",
    tests: "tests/compat/cli/cli_test.ts",
    reason: "it reports the signal, not the exit code, of a child it sent a signal to",
  },
  "platformatic-zstd-needs-zlib-zstd": {
    who: "@platformatic/kafka on a runtime whose node:zlib has no zstdCompressSync",
    tests: "tests/compat/platformatic/platformatic_log_test.ts",
    reason: "@platformatic/kafka compresses zstd with node:zlib, which lacks zstd on this runtime",
  },
  "install-sh-needs-posix-sh": {
    who: "Windows",
    tests: "tests/release/install_sh_test.ts",
    reason: "install.sh tests need a POSIX sh",
  },
  "binary-not-built": {
    who: "the user (KBIN_SKIP_BINARY=1)",
    tests: "tests/release/binary_test.ts, tests/release/runtimes_test.ts",
    reason: "KBIN_SKIP_BINARY=1, so the kbin executable is not built",
  },
  "proc-maps-linux-only": {
    who: "platforms without /proc/<pid>/maps",
    tests: "tests/release/runtimes_test.ts",
    reason: "which native libraries a broker mapped is read from /proc/<pid>/maps, which only Linux has",
  },
  "full-disk-tmpfs-needs-root": {
    who: "a run without root (or without mount rights, as in some containers)",
    tests: "tests/compat/lifecycle/full_disk_test.ts",
    reason: "the full-disk test mounts a small tmpfs, which needs root; the in-memory file system with a capacity " +
      "covers the same guard in tests/unit/storage/file/free_space_test.ts",
  },
} as const satisfies Record<string, PermanentSkip>;

/** A key of {@link PERMANENT_SKIPS}. */
export type PermanentSkipKey = keyof typeof PERMANENT_SKIPS;

/**
 * The skip option of a test that cannot run here for a listed, permanent reason.
 * @param key the entry of {@link PERMANENT_SKIPS}
 * @param when whether the skip applies here (default true)
 * @returns the reason, for `{ skip }`, or false when it does not apply
 * @example test("zstd", { skip: permanentSkip("platformatic-zstd-needs-zlib-zstd", !hasZstd) }, …)
 */
export function permanentSkip(key: PermanentSkipKey, when = true): string | false {
  return when ? `${PERMANENT_SKIPS[key].reason} (permanent skip "${key}", tests/support/skips.ts)` : false;
}

/** Whether this run enforces that every real client is installed. */
export const CLIENTS_REQUIRED = process.env.CI === "true";

/**
 * Decides the skip of a test (or block) that drives a real client. Call it once per client, at
 * the top level of the test file. When the client is missing it registers one test named
 * "<client> is installed" in that file: a skipped one, so the runner counts the skip (Bun counts
 * nothing for a skipped `describe`), or under `CI=true` a failing one whose message names the
 * client and `scripts/install_test_deps.sh`.
 * @param client what the test needs, as the installer names it (e.g. "kcat", "python3-kafka")
 * @param missing why it cannot run here, or false when the client is present
 * @returns the reason (use it as `{ skip }`: the dependent tests skip, even under CI, where the
 *   registered test fails instead), or false when the client is present
 * @example const MISSING = clientMissing("kcat", spawnSync("kcat", ["-V"]).error ? "kcat is not installed" : false);
 */
export function clientMissing(client: string, missing: string | false): string | false {
  if (missing === false) return false;
  if (CLIENTS_REQUIRED) {
    test(`${client} is installed`, () => {
      assert.fail(
        `${missing}. CI=true, so a real-client test may not skip for a missing client: ` +
          `scripts/install_test_deps.sh (run by npm test) must install ${client}`,
      );
    });
  } else {
    console.warn(`skipped (${client} missing): ${missing}`);
    test(`${client} is installed`, { skip: missing }, () => {});
  }
  return missing;
}
