"""The rule editor (minimal correction from y_w) and the bridging statistics."""

from __future__ import annotations

import pytest

from bmc.bridging import BridgeRequest, RuleEditor, bridge, make_editor, token_edit_distance

MATH_X = "Rose has 3 pens. Rose gets 4 more pens. Then Rose loses 2 pens. How many pens does Rose have now?"
MATH_W = "Rose starts with 3 pens.\nThen 3 + 4 = 7.\nSo 7 - 2 = 5.\nThe answer is 5"
MCQ_X = "Largest: which number is it?\nOptions:\n12\n45\n7\n33"


def edit(x, y_w, y_l, answer):
    return RuleEditor().edit([BridgeRequest(x, y_w, y_l, answer)])[0]


def test_repairs_numbers_keeping_the_wording():
    y_l = "At first Rose has 3 pens.\nNext, 3 + 4 = 8.\nNow 8 - 2 = 6.\nThe answer is 6"
    res = edit(MATH_X, MATH_W, y_l, "5")
    assert res.text == "At first Rose has 3 pens.\nNext, 3 + 4 = 7.\nNow 7 - 2 = 5.\nThe answer is 5"
    assert res.notes["reasoning"] == "repaired" and res.notes["slots_repaired"] == 3


def test_repairs_the_chosen_option():
    y_w = "Of these, the largest is 45.\nThe answer is 45"
    y_l = "The biggest one is 33.\nThe answer is 33"
    assert edit(MCQ_X, y_w, y_l, "45").text == "The biggest one is 45.\nThe answer is 45"


def test_word_options_are_slots():
    x = "Alice plays which sport?\nOptions:\ntennis\nchess\ngolf\nrugby"
    res = edit(x, "Alice is good at chess.\nThe answer is chess", "Alice likes to play golf.\nThe answer is golf",
               "chess")
    assert res.text == "Alice likes to play chess.\nThe answer is chess"


def test_unaligned_reasoning_repairs_only_the_answer():
    y_l = "Rose starts with 3 pens.\nThen 3 + 4 = 7.\nThe answer is 7"  # skipped a step
    res = edit(MATH_X, MATH_W, y_l, "5")
    assert res.notes["reasoning"] == "unaligned"
    assert res.text == "Rose starts with 3 pens.\nThen 3 + 4 = 7.\nThe answer is 5"


def test_missing_answer_line_is_added():
    res = edit(MATH_X, MATH_W, "Rose starts with 3 pens.", "5")
    assert res.text.endswith("\nThe answer is 5")


def test_correct_response_gives_none():
    res = edit(MATH_X, MATH_W, MATH_W, "5")
    assert res.text is None and res.notes["none_reason"] == "already_correct"


def test_bridge_stats_and_drops(tokenizer):
    pairs = [
        {"problem": MATH_X, "y_w": MATH_W, "answer": "5",
         "y_l": "At first Rose has 3 pens.\nNext, 3 + 4 = 8.\nNow 8 - 2 = 6.\nThe answer is 6"},
        {"problem": MATH_X, "y_w": MATH_W, "answer": "5", "y_l": MATH_W},  # editor says None
    ]
    out, stats = bridge(pairs, RuleEditor(), tokenizer)
    assert stats["pairs_in"] == 2 and stats["pairs_out"] == 1 and stats["dropped"] == {"editor_none": 1}
    assert out[0]["pseudo_winning"].endswith("The answer is 5")
    assert stats["mean_token_edit_distance_pseudo_winning_y_l"] < stats["mean_token_edit_distance_y_w_y_l"]
    assert out[0]["edit_distance_bridged"] == token_edit_distance(tokenizer, out[0]["pseudo_winning"], pairs[0]["y_l"])


def test_unknown_editor_is_named():
    with pytest.raises(ValueError, match="unknown editor 'gpt'"):
        make_editor("gpt")
