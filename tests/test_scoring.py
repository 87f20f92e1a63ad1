"""Answer extraction and comparison, on hand-made cases and on the official repository's real files."""

from __future__ import annotations

import json

import pytest
from conftest import official_file

from bmc.evaluation.answers import extract, is_correct
from bmc.evaluation.scoring import (
    gsm8k_gold,
    math_equal,
    math_prediction,
    mawps_gold,
    qa_correct,
    qa_correct_normalized,
    qa_prediction,
)


def _jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_qa_prediction_is_official():
    assert qa_prediction("Let's think.\nThe answer is Paris ") == "paris"
    assert qa_prediction("The answer is 3. No, The answer is 4") == "4"
    assert qa_prediction("I do not know") == ""


def test_qa_case_quirk_and_corrected_score():
    assert not qa_correct(qa_prediction("The answer is Paris"), "Paris")  # official: gold not lower-cased
    assert qa_correct_normalized(qa_prediction("The answer is Paris"), "Paris")
    assert qa_correct(qa_prediction("The answer is paris"), "paris")


# official maxima of feeding the gold solutions as predictions (docs/official-code.md, 0.3)
@pytest.mark.parametrize("dataset,official_max", [("ECQA", 100.0), ("QASC", 81.86), ("OpenbookQA", 87.0),
                                                  ("ARC", 75.13)])
def test_gold_qa_solutions_reach_the_official_maximum(dataset, official_max):
    rows = _jsonl(official_file(f"QA/{dataset}/test.jsonl"))
    preds = [qa_prediction(r["solution"]) for r in rows]
    official = round(100 * sum(qa_correct(p, r["answer"]) for p, r in zip(preds, rows)) / len(rows), 2)
    corrected = round(100 * sum(qa_correct_normalized(p, r["answer"]) for p, r in zip(preds, rows)) / len(rows), 2)
    assert official == official_max
    assert corrected == 100.0


def test_qa_train_files_end_in_the_answer():
    for dataset in ("ECQA", "QASC"):
        rows = _jsonl(official_file(f"QA/{dataset}/train.jsonl"))
        assert all(qa_correct_normalized(qa_prediction(r["solution"]), r["answer"]) for r in rows)
        assert all("\nOptions:\n" in r["problem"] for r in rows)


@pytest.mark.parametrize("response,expected", [
    ("so the total is \\boxed{\\frac{1}{2}} and The answer is 3", "\\frac{1}{2}"),  # boxed first
    ("He has 5. The answer is: 18.", "18"),                                       # then 'he answer is'
    ("Therefore the final answer is 7", "7"),
    ("We get 1,234 apples and then 56 more", "56"),                                # else the last number
    ("nothing here", ""),
    ("\\boxed{4} The final answer is $5$. I hope it is correct.", "5"),     # Minerva format before all
])
def test_math_extraction_priority(response, expected):
    assert math_prediction(response) == expected


def test_math_equal_numeric_and_percentage():
    assert math_equal("43", "43.0")
    assert math_equal("0.43", "43")  # the harness's percentage leniency (gold/100)
    assert math_equal("1,000", "1000")
    assert not math_equal("42", "43")
    assert math_equal("x", "X")


def test_math_scoring_is_the_official_grader():
    from bmc.evaluation import math_grader

    assert math_equal is math_grader.math_equal
    assert is_correct("so $\\boxed{\\dfrac{1}{2}}$", "0.5", "math")            # symbolic, via the pool
    assert is_correct("The answer is 2\\sqrt{2}", "\\sqrt{8}", "math")
    assert not is_correct("The answer is 3", "\\sqrt{8}", "math")
    assert extract("The answer is \\$1,000.", "math") == "1,000" and extract("The answer is B", "qa") == "b"


def test_gold_gsm8k_answers_score_100():
    rows = _jsonl(official_file("math/gsm8k/test.jsonl"))
    assert len(rows) == 1319
    golds = [gsm8k_gold(r["answer"]) for r in rows]
    assert all(math_equal(math_prediction(f"The answer is {g}"), g) for g in golds)
    # the reference solutions themselves ("... #### 18") extract by the last-number rule
    assert sum(math_equal(math_prediction(r["answer"]), g) for r, g in zip(rows, golds)) == len(rows)


def test_gold_mawps_answers_score_100():
    rows = _jsonl(official_file("math/mawps/test.jsonl"))
    assert len(rows) == 2065
    assert all(is_correct(f"The answer is {mawps_gold(r['target'])}", mawps_gold(r["target"]), "math") for r in rows)
    assert mawps_gold(43.0) == "43"


def test_score_reports_the_official_grade_its_timeouts_and_math_verify_beside_it():
    from bmc.evaluation.answers import score

    rows = score(["so 1/2 of it. The answer is 0.5", "The answer is \\frac{1}{3}", "no idea"], ["\\frac{1}{2}", "0.5", "7"],
                 "math")
    assert [r["correct"] for r in rows] == [True, False, False]
    assert [r["correct_math_verify"] for r in rows] == [True, False, False]
    assert [r["timeout"] for r in rows] == [False, False, False] and rows[2]["prediction"] == ""
    qa = score(["The answer is Paris", "The answer is paris"], ["paris", "Paris"], "qa")
    assert [(r["correct"], r["correct_normalized"]) for r in qa] == [(True, True), (False, True)]
