/** The splitter of concatenated JSON objects that v3 produce bodies are made of. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { JsonObjectSplitter, parseConcatenated, type SplitEvent } from "../../../../src/http/rest_proxy/json_stream.ts";

function texts(events: SplitEvent[]): string[] {
  return events.map((e) => ("text" in e ? e.text : `ERROR ${e.error}`));
}

test("JsonObjectSplitter.push() returns each object once it is closed, across any chunking", () => {
  const body = ' {"a":1}\n{"b":{"c":[1,{"d":2}]}}\r\n  {"e":"}{\\"]["}{}';
  const whole = texts(new JsonObjectSplitter().push(body));
  assert.deepEqual(whole, ['{"a":1}', '{"b":{"c":[1,{"d":2}]}}', '{"e":"}{\\"]["}', "{}"]);
  // Every split point gives the same objects, one character at a time included.
  for (let cut = 0; cut <= body.length; cut++) {
    const s = new JsonObjectSplitter();
    assert.deepEqual([...texts(s.push(body.slice(0, cut))), ...texts(s.push(body.slice(cut)))], whole, `cut at ${cut}`);
    assert.equal(s.end(), null);
  }
  const byChar = new JsonObjectSplitter();
  const out: string[] = [];
  for (const ch of body) out.push(...texts(byChar.push(ch)));
  assert.deepEqual(out, whole);
});

test("JsonObjectSplitter refuses a top-level value other than an object, and an object left open", () => {
  assert.match(texts(new JsonObjectSplitter().push('{"a":1} [1]'))[1]!, /^ERROR Expected a JSON object at character 8/);
  assert.match(texts(new JsonObjectSplitter().push("42"))[0]!, /^ERROR Expected a JSON object/);
  const open = new JsonObjectSplitter();
  assert.deepEqual(open.push('{"a":{"b":1}'), []);
  assert.deepEqual(open.end(), { error: "Unexpected end of input: a JSON object is not closed" });
  // After an error nothing more comes out.
  const failed = new JsonObjectSplitter();
  failed.push("x");
  assert.deepEqual(failed.push('{"a":1}'), []);
  assert.equal(failed.end(), null);
});

test("JsonObjectSplitter bounds an object's length", () => {
  const s = new JsonObjectSplitter({ maxObjectChars: 16 });
  assert.deepEqual(s.push('{"a":"0123456'), []);
  assert.deepEqual(texts(s.push("789abcdef")), ["ERROR A JSON object is longer than 16 characters"]);
});

test("parseConcatenated() parses every object and stops at the first syntax error", () => {
  assert.deepEqual(parseConcatenated('{"a":1}{"b":2}'), { values: [{ a: 1 }, { b: 2 }], error: null });
  const bad = parseConcatenated('{"a":1}{"b":nope}{"c":3}');
  assert.deepEqual(bad.values, [{ a: 1 }]);
  assert.ok(bad.error !== null);
  assert.deepEqual(parseConcatenated("   "), { values: [], error: null });
});
