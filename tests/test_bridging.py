"""The rule editor in every direction, and bridging over a pair file: fraction, filters, statistics."""

from __future__ import annotations

import pytest

from bmc.bridging.bridge import BridgeSettings, bridge, select_for_bridging, token_edit_distance
from bmc.bridging.editors import BridgeRequest, BridgeResult, Usage
from bmc.bridging.editors.registry import make_editor
from bmc.bridging.editors.rule import RuleEditor

MATH_X = "Rose has 3 pens. Rose gets 4 more pens. Then Rose loses 2 pens. How many pens does Rose have now?"
MATH_W = "Rose starts with 3 pens.\nThen 3 + 4 = 7.\nSo 7 - 2 = 5.\nThe answer is 5"
MATH_L = "At first Rose has 3 pens.\nNext, 3 + 4 = 8.\nNow 8 - 2 = 6.\nThe answer is 6"
MCQ_X = "Largest: which number is it?\nOptions:\n12\n45\n7\n33"


def edit(x, y_w, y_l, answer, direction="edit_losing_with_reference"):
    return RuleEditor().edit([BridgeRequest(x, y_w, y_l, answer, direction)])[0]


def test_repairs_numbers_keeping_the_wording():
    res = edit(MATH_X, MATH_W, MATH_L, "5")
    assert res.text == "At first Rose has 3 pens.\nNext, 3 + 4 = 7.\nNow 7 - 2 = 5.\nThe answer is 5"
    assert res.notes["reasoning"] == "repaired" and res.notes["slots_changed"] == 3


def test_repairs_the_chosen_option():
    y_w = "Of these, the largest is 45.\nThe answer is 45"
    assert edit(MCQ_X, y_w, "The biggest one is 33.\nThe answer is 33", "45").text == \
        "The biggest one is 45.\nThe answer is 45"


def test_word_options_are_slots():
    x = "Alice plays which sport?\nOptions:\ntennis\nchess\ngolf\nrugby"
    res = edit(x, "Alice is good at chess.\nThe answer is chess", "Alice likes to play golf.\nThe answer is golf",
               "chess")
    assert res.text == "Alice likes to play chess.\nThe answer is chess"


def test_unaligned_reasoning_returns_the_reference():
    """y_l skipped a step: no slot-for-slot repair exists, and repairing only the answer would give a chain that
    contradicts it ("3 + 4 = 7. The answer is 5"); the editor returns y_w, a correct response."""
    res = edit(MATH_X, MATH_W, "Rose starts with 3 pens.\nThen 3 + 4 = 7.\nThe answer is 7", "5")
    assert res.notes["reasoning"] == "unaligned: y_w returned"
    assert res.text == MATH_W


def test_operators_are_slots_so_a_repaired_step_is_a_true_equation():
    """y_l added where the story takes away: copying y_w's numbers alone gave "7 + 2 = 5"."""
    y_l = "At first Rose has 3 pens.\nNext, 3 + 4 = 7.\nNow 7 + 2 = 9.\nThe answer is 9"
    res = edit(MATH_X, MATH_W, y_l, "5")
    assert res.text == "At first Rose has 3 pens.\nNext, 3 + 4 = 7.\nNow 7 - 2 = 5.\nThe answer is 5"
    assert res.notes["slots_changed"] == 2  # the operator and the result (the answer line is the gold answer)


def test_a_losing_answer_that_is_no_option_is_a_slot():
    """y_l names a tool that is not among the options: it is repaired in the rationale, not only in the answer."""
    x = "Tool: which of these is one?\nOptions:\nchisel\ntiger\nharp\nplane"
    res = edit(x, "The one that is a tool is chisel.\nThe answer is chisel",
               "The one that is a tool is drill.\nThe answer is drill", "chisel")
    assert res.text == "The one that is a tool is chisel.\nThe answer is chisel"


def test_missing_answer_line_is_added_and_unchanged_is_none():
    assert edit(MATH_X, MATH_W, "Rose starts with 3 pens.", "5").text.endswith("\nThe answer is 5")
    res = edit(MATH_X, MATH_W, MATH_W, "5")
    assert res.text is None and res.notes["none_reason"] == "unchanged"


def test_other_directions():
    assert edit(MATH_X, MATH_W, MATH_L, "5", "edit_losing_without_reference").text == \
        "At first Rose has 3 pens.\nNext, 3 + 4 = 8.\nNow 8 - 2 = 6.\nThe answer is 5"
    assert edit(MATH_X, MATH_W, MATH_L, "5", "degrade_winning_with_reference").text == \
        "Rose starts with 3 pens.\nThen 3 + 4 = 8.\nSo 8 - 2 = 6.\nThe answer is 6"
    assert edit(MATH_X, MATH_W, MATH_L, "5", "degrade_winning_without_reference").text.endswith("The answer is 6")
    assert edit(MCQ_X, "The largest is 45.\nThe answer is 45", "x", "45",
                "degrade_winning_without_reference").text == "The largest is 45.\nThe answer is 7"


def test_fraction_selection_is_seeded():
    assert select_for_bridging(10, 1.0, 0) == set(range(10))
    half = select_for_bridging(10, 0.5, 3)
    assert len(half) == 5 and half == select_for_bridging(10, 0.5, 3) and half != select_for_bridging(10, 0.5, 4)
    assert select_for_bridging(10, 0.0, 0) == set()
    with pytest.raises(ValueError):
        select_for_bridging(10, 1.5, 0)


def _pairs():
    return [
        {"problem": MATH_X, "y_w": MATH_W, "y_l": MATH_L, "answer": "5"},
        {"problem": MATH_X, "y_w": MATH_W, "y_l": MATH_W, "answer": "5"},  # the rule editor says None
    ]


def test_bridge_stats_and_drops(tokenizer):
    rows, stats = bridge(_pairs(), RuleEditor(), tokenizer, BridgeSettings(), style="math")
    assert stats["pairs_in"] == 2 and stats["pairs_out"] == 1 and stats["dropped"] == {"editor_none": 1}
    assert stats["pairs_modified"] == 1 and stats["editor_usage"]["requests_made"] == 0
    row = rows[0]
    assert row["bridged"] and row["bridged_chosen"].endswith("The answer is 5") and row["bridged_rejected"] == MATH_L
    d = stats["mean_token_edit_distance"]
    assert d["bridged_pair"] < d["original_pair (y_w, y_l)"]
    assert d["bridged_pair"] == token_edit_distance(tokenizer, row["bridged_chosen"], row["bridged_rejected"])


def test_degrade_direction_changes_the_rejected_side(tokenizer):
    rows, stats = bridge(_pairs()[:1], RuleEditor(), tokenizer,
                         BridgeSettings(direction="degrade_winning_with_reference"), style="math")
    assert rows[0]["bridged_chosen"] == MATH_W and rows[0]["bridged_rejected"].startswith("Rose starts with")


def test_unselected_pairs_keep_the_original_pair(tokenizer):
    rows, stats = bridge(_pairs()[:1] * 4, RuleEditor(), tokenizer, BridgeSettings(fraction=0.5, seed=1),
                         style="math")
    assert stats["pairs_sent_to_editor"] == 2 and stats["pairs_out"] == 4
    kept = [r for r in rows if not r["bridged"]]
    assert len(kept) == 2 and all(r["bridged_chosen"] == MATH_W and r["bridged_rejected"] == MATH_L for r in kept)


class Scripted:
    """An editor whose outputs are given, to exercise the filters."""

    kind, model = "scripted", "none"

    def __init__(self, texts):
        self.texts = texts

    def edit(self, requests):
        return [BridgeResult(t, raw=t, usage=Usage(10, 5, 0.001)) for t in self.texts]


def test_sanity_filters_are_counted(tokenizer):
    outputs = [None, "  ", MATH_L, MATH_L + " and so on" * 40, "Rose has 3 pens.\nThe answer is 4",
               "At first Rose has 3 pens.\nThe answer is 5"]
    rows, stats = bridge(_pairs()[:1] * len(outputs), Scripted(outputs), tokenizer, BridgeSettings(), style="math")
    assert stats["dropped"] == {"editor_none": 1, "empty": 1, "identical": 1, "too_long": 1, "wrong_answer": 1}
    assert stats["pairs_out"] == 1 and rows[0]["edited"] == outputs[-1]
    usage = stats["editor_usage"]
    assert usage["prompt_tokens"] == 60 and usage["completion_tokens"] == 30
    assert usage["cost_reported_by_endpoint"] == pytest.approx(0.006)
    # without the answer check (e.g. instruction following) a wrong answer is kept
    _, stats = bridge(_pairs()[:1], Scripted(["Rose has 3 pens.\nThe answer is 4"]), tokenizer,
                      BridgeSettings(answer_check=False), style="math")
    assert stats["pairs_out"] == 1


def test_unknown_editor_kind_is_named():
    with pytest.raises(ValueError, match="unknown editor kind 'gpt'"):
        make_editor({"kind": "gpt"})
