import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PartialAccepts } from "../../src/partialAccept";

const uri = "file:///w/add.py";
const item = { id: "s1", uri, line: 1, character: 4, text: "return a + b" };
const insert = (character: number, text: string, over: Partial<{ uri: string; line: number; replaced: number }> = {}) => ({
  uri,
  line: 1,
  character,
  replaced: 0,
  text,
  ...over,
});

describe("PartialAccepts", () => {
  test("accepting the next word of the shown item reports its id, once", () => {
    const tracker = new PartialAccepts();
    tracker.showed([item]);
    assert.equal(tracker.edited(insert(4, "return ")), "s1");
    assert.equal(tracker.edited(insert(11, "a ")), undefined);
  });

  test("a word further into the item counts too", () => {
    const tracker = new PartialAccepts();
    tracker.showed([item]);
    assert.equal(tracker.edited(insert(11, "a + ")), "s1");
  });

  test("typing one character, the whole item, other text, other places: not a partial accept", () => {
    const tracker = new PartialAccepts();
    tracker.showed([item]);
    assert.equal(tracker.edited(insert(4, "r")), undefined, "typing");
    assert.equal(tracker.edited(insert(4, "return a + b")), undefined, "a full accept runs the item's command instead");
    assert.equal(tracker.edited(insert(4, "print")), undefined, "other text");
    assert.equal(tracker.edited(insert(4, "return ", { line: 2 })), undefined, "another line");
    assert.equal(tracker.edited(insert(4, "return ", { uri: "file:///w/other.py" })), undefined, "another file");
    assert.equal(tracker.edited(insert(4, "return ", { replaced: 3 })), undefined, "a replacement");
    assert.equal(tracker.edited(insert(2, "return ")), undefined, "before the item");
  });

  test("only the latest answer's items are remembered", () => {
    const tracker = new PartialAccepts();
    tracker.showed([item]);
    tracker.showed([{ ...item, id: "s2", text: "return b" }]);
    assert.equal(tracker.edited(insert(4, "return ")), "s2");
  });
});
