import assert from "node:assert/strict";
import { test } from "node:test";
import { CLIENT_OPTIONS, parseSubcommand } from "../../../src/cli/args.ts";
import { CliError } from "../../../src/cli/io.ts";
import { groupCommand } from "../../../src/cli/group.ts";
import { topicCommand } from "../../../src/cli/topic.ts";
import { testIo } from "./test_io.ts";

const SPEC = {
  family: "thing",
  help: "FAMILY HELP\n",
  commands: { make: "MAKE HELP\n", drop: "DROP HELP\n" },
  options: { ...CLIENT_OPTIONS, size: { type: "string" }, force: { type: "boolean" } },
  ownOptions: { make: ["size"], drop: ["force"] },
} as const;

function usage(pattern: RegExp): (err: unknown) => boolean {
  return (err) => err instanceof CliError && err.exitCode === 2 && pattern.test(err.message);
}

test("parseSubcommand() prints the family's help: exit 2 without a command, 0 when asked", () => {
  for (const [args, code] of [[[], 2], [["help"], 0], [["-h"], 0], [["--help"], 0]] as const) {
    const t = testIo();
    assert.equal(parseSubcommand([...args], t.io, SPEC), code, args.join(" "));
    assert.equal(t.stdout(), "FAMILY HELP\n");
  }
});

test("parseSubcommand() prints a command's help for --help, and parses its options and positionals", () => {
  const t = testIo();
  assert.equal(parseSubcommand(["make", "--help"], t.io, SPEC), 0);
  assert.equal(t.stdout(), "MAKE HELP\n");
  const parsed = parseSubcommand(["make", "x", "--size", "3", "-b", "h:1"], testIo().io, SPEC);
  assert.ok(typeof parsed !== "number");
  assert.equal(parsed.sub, "make");
  assert.equal(parsed.cmd, "thing make");
  assert.deepEqual(parsed.positionals, ["x"]);
  assert.equal(parsed.values.size, "3");
  assert.equal(parsed.values.bootstrap, "h:1");
});

test("parseSubcommand() refuses unknown commands, unknown options and another command's options", () => {
  assert.throws(() => parseSubcommand(["fly"], testIo().io, SPEC), usage(/^thing: unknown command "fly"/));
  assert.throws(() => parseSubcommand(["make", "--nope"], testIo().io, SPEC), usage(/^thing make: .*nope/));
  assert.throws(
    () => parseSubcommand(["make", "--force"], testIo().io, SPEC),
    usage(/^thing make: unknown option "--force" \(see "kbin thing make --help"\)/),
  );
});

test("parseSubcommand() parses what `prepare` made of the arguments", () => {
  const parsed = parseSubcommand(["make", "SIZE"], testIo().io, {
    ...SPEC,
    prepare: (args) => args.map((a) => (a === "SIZE" ? "--size=9" : a)),
  });
  assert.ok(typeof parsed !== "number");
  assert.equal(parsed.values.size, "9");
});

test("kbin topic and kbin group answer help and usage errors through parseSubcommand()", async () => {
  const t = testIo();
  assert.equal(await topicCommand([], t.io), 2);
  assert.match(t.stdout(), /kbin topic/);
  const g = testIo();
  assert.equal(await groupCommand(["describe", "--help"], g.io), 0);
  assert.match(g.stdout(), /kbin group describe/);
  await assert.rejects(topicCommand(["explode"], testIo().io), usage(/^topic: unknown command "explode"/));
  await assert.rejects(
    groupCommand(["list", "--execute"], testIo().io),
    usage(/^group list: unknown option "--execute"/),
  );
});
