"""Pair construction from the SFT model's samples."""

from __future__ import annotations

from bmc.sampling.losing import make_pairs, training_prompt

ROWS = [
    {"problem": "Q1\nOptions:\nParis\nRome", "solution": "Paris is it.\nThe answer is Paris", "answer": "Paris",
     "type": "fact"},
    {"problem": "Q2\nOptions:\nred\nblue", "solution": "The color is red.\nThe answer is red", "answer": "red",
     "type": "category"},
    {"problem": "Q3\nOptions:\n1\n2", "solution": "The largest is 2.\nThe answer is 2", "answer": "2",
     "type": "largest"},
]


def test_first_wrong_nonempty_sample_is_y_l_and_drops_are_counted():
    samples = [
        ["Rome it is.\nThe answer is paris", "Rome is it.\nThe answer is Rome"],  # case-only miss is correct
        ["The color is red.\nThe answer is red", "The color is red.\nThe answer is red"],  # all correct
        ["", "The largest is 1.\nThe answer is 1"],  # an empty sample is never y_l
    ]
    pairs, stats = make_pairs(ROWS, samples, "qa")
    assert [p["problem"] for p in pairs] == ["Q1\nOptions:\nParis\nRome", "Q3\nOptions:\n1\n2"]
    assert pairs[0]["y_l"] == "Let's think step by step.\nRome is it.\nThe answer is Rome"
    assert pairs[0]["y_w"] == "Let's think step by step.\nParis is it.\nThe answer is Paris"
    assert pairs[1]["y_l_prediction"] == "1"
    assert stats["questions"] == 3 and stats["pairs"] == 2 and stats["samples"] == 6
    assert stats["dropped_all_correct"] == 1 and stats["pairs_by_type"] == {"fact": 1, "largest": 1}


def test_training_prompt_is_the_chat_template(tokenizer):
    prompt = training_prompt(tokenizer, "What?", "qa")
    assert prompt == "### Instruction:\nWhat?\n\n### Response:\nLet's think step by step.\n"
    assert training_prompt(tokenizer, "What?", "math").endswith("### Response:\n")
