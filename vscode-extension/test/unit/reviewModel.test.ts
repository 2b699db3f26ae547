import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ReviewItemData } from "../../src/contract";
import { buildReviewNodes, diffTitle, formatConfidence, parseReviewPath, reviewPath, sideText } from "../../src/reviewModel";

function item(id: number, confidence: number, status = "open"): ReviewItemData {
  return {
    id,
    plan_id: 4,
    atom_id: 10 + id,
    status,
    reason: `confidence ${confidence} below 0.70`,
    confidence,
    proposed_code: "def mul(a, b):\n    return a * b\n",
    previous_code: "def mul(a, b):\n    pass\n",
    validator_output: "",
    atom: { key: `calc/mul.py::mul${id}`, file: "calc/mul.py", qualified_name: `mul${id}` },
  };
}

describe("buildReviewNodes", () => {
  it("lists open items only, least confident first", () => {
    const nodes = buildReviewNodes([item(1, 0.6), item(2, 0.3), item(3, 0.1, "approved")]);
    assert.deepEqual(nodes.map((n) => n.itemId), [2, 1]);
    assert.equal(nodes[0].label, "mul2");
    assert.equal(nodes[0].description, "calc/mul.py · 30%");
    assert.match(nodes[0].tooltip, /review 2\nconfidence 30%\nconfidence 0.3 below 0.70/);
  });

  it("names an item whose atom is gone by its atom id", () => {
    const nodes = buildReviewNodes([{ ...item(5, 0.5), atom: null }]);
    assert.equal(nodes[0].label, "atom 15");
    assert.equal(nodes[0].file, "");
  });
});

describe("diff documents", () => {
  it("round-trips the item and side through the URI path, keeping the file name for the language", () => {
    const p = reviewPath(7, "proposed", "calc/mul.py");
    assert.equal(p, "/7/proposed/calc/mul.py");
    assert.deepEqual(parseReviewPath(p), { itemId: 7, side: "proposed" });
    assert.equal(reviewPath(7, "current", ""), "/7/current/atom-7.py");
    assert.equal(parseReviewPath("/x/proposed/a.py"), undefined);
  });

  it("puts the previous code left and the proposed code right", () => {
    const it1 = item(1, 0.5);
    assert.equal(sideText(it1, "current"), it1.previous_code);
    assert.equal(sideText(it1, "proposed"), it1.proposed_code);
    assert.equal(diffTitle(it1), "Review mul1: current ↔ proposed (50%)");
    assert.equal(formatConfidence(0.555), "56%");
  });
});
