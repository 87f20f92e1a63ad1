"""The official math harness (ToRA / JiuZhang3.0 parser and grader) as bmc.evaluation.math_parser and
bmc.evaluation.math_grader reproduce it."""

from __future__ import annotations

import json

import pytest
from conftest import official_file

from bmc.evaluation import math_grader as mg
from bmc.evaluation.math_grader import (
    GradingTimeout,
    grade,
    math_equal,
    math_verify_correct,
    math_verify_grade,
    summarize,
)
from bmc.evaluation.math_parser import extract_answer, math_question, parse_ground_truth, strip_string


def _jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


# ----------------------------------------------------------------------- the official test files
@pytest.mark.parametrize("dataset,size", [("gsm8k", 1319), ("mawps", 2065)])
def test_gold_answers_as_predictions_score_100(dataset, size):
    rows = _jsonl(official_file(f"math/{dataset}/test.jsonl"))
    assert len(rows) == size
    golds = [parse_ground_truth(r, dataset) for r in rows]
    predictions = [extract_answer(f"The answer is {g}") for g in golds]
    metrics = summarize(grade(predictions, golds))
    assert metrics == {"num_samples": size, "timeout_samples": 0, "empty_samples": 0, "acc": 100.0}


def test_raw_gold_forms_also_score_100():
    gsm8k = _jsonl(official_file("math/gsm8k/test.jsonl"))
    golds = [parse_ground_truth(r, "gsm8k") for r in gsm8k]
    # the reference solutions themselves ("... <<9*2=18>>18 ... #### 18") extract by the last-number rule
    assert all(r["correct"] for r in grade([extract_answer(r["answer"]) for r in gsm8k], golds))
    mawps = _jsonl(official_file("math/mawps/test.jsonl"))
    golds = [parse_ground_truth(r, "mawps") for r in mawps]
    # the float target as written ("43.0") is normalised the same way
    assert all(r["correct"] for r in grade([extract_answer(f"The answer is {r['target']}.") for r in mawps], golds))
    assert golds[0] == "43" and mawps[0]["target"] == 43.0


# ----------------------------------------------------------------------- gold answers and questions
def test_parse_ground_truth_per_dataset():
    assert parse_ground_truth({"answer": "6 + 12 = <<6+12=18>>18\n#### 18"}, "gsm8k") == "18"
    assert parse_ground_truth({"answer": "so\n#### 1,600"}, "gsm8k") == "1,600"
    assert parse_ground_truth({"target": 43.0}, "mawps") == "43"
    assert parse_ground_truth({"target": 2.5}, "mawps") == "2.5"
    solution = "Not $\\boxed{1}$: the last boxed answer counts. Hence $x = \\boxed{\\dfrac{3}{4}}$."
    assert parse_ground_truth({"solution": solution}, "math-oai") == "\\frac{3}{4}"
    assert parse_ground_truth({"solution": "\\boxed{(1,\\infty)}"}, "math-oai") == "(1,\\infty)"


@pytest.mark.parametrize("answer,ans_type,expected", [
    ("1,200", "integer_number", "1200"),
    ("3/4", "decimal_number", "0.75"),
    ("25%", "decimal_number", "0.25"),
    ("7", "integer_number", "7"),
    ("12.50", "decimal_number", "12.5"),
    ("yes", "extractive_text", "yes"),
])
def test_tabmwp_gold(answer, ans_type, expected):
    assert parse_ground_truth({"answer": answer, "ans_type": ans_type}, "tabmwp") == expected


def test_questions():
    assert math_question({"question": " How many? ", "answer": "#### 3"}, "gsm8k") == "How many?"
    assert math_question({"input": "How many ?", "target": 3.0}, "mawps") == "How many ?"
    assert math_question({"problem": "Find $x$.", "solution": "$\\boxed{2}$"}, "math-oai") == "Find $x$."
    table = "Day | Cars\nMonday | 3"
    record = {"table_title": "Cars sold", "table": table, "question": "Is it more than 2?", "choices": ["yes", "no"],
              "answer": "yes", "ans_type": "extractive_text"}
    assert math_question(record, "tabmwp") == (
        'Read the following table regarding "Cars sold" and answer a question:\n'
        f"{table}\nIs it more than 2? Please select from the following options: ['yes', 'no'] (Yes or No)")
    record.update(table_title="", choices=None, answer="true")
    assert math_question(record, "tabmwp") == (
        f"Read the following table and answer a question:\n{table}\nIs it more than 2? (True or False)")
    with pytest.raises(ValueError, match="unknown math dataset"):
        parse_ground_truth({"answer": "1"}, "svamp")


# ----------------------------------------------------------------------- prediction extraction
@pytest.mark.parametrize("response,expected", [
    # boxed, brace-matched, the last one
    ("So $\\boxed{\\frac{1}{\\sqrt{2}}}$.", "\\frac{1}{\\sqrt{2}}"),
    ("first \\boxed{1}, finally \\boxed{2}", "2"),
    ("\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}", "(3,\\frac{\\pi}{2})"),
    ("unclosed \\boxed{12", "12"),
    ("\\boxed 5$ and more", "5"),
    # Minerva format comes first, even before a boxed answer
    ("Final Answer: The final answer is $\\frac{3}{4}$. I hope it is correct.", "\\frac{3}{4}"),
    ("\\boxed{5} ... The final answer is $6$. I hope it is correct.", "6"),
    # boxed before "he answer is"
    ("\\boxed{7}. The answer is 8", "7"),
    # "he answer is" (last one) before "final answer is" and before the last number
    # (each takes all the text after the phrase)
    ("The final answer is 3. No, the answer is 4.", "4"),
    ("After 99 steps, the answer is 4.", "4"),
    ("He has 5.\nThe answer is: $18.", "18"),
    ("After 99 steps, the final answer is 9.", "9"),
    # else the last number, commas removed
    ("We get 1,234 apples and -5.5 pears", "-5.5"),
    ("The total is 1,234", "1234"),
    ("Step ки 2 ки", "2"),
    ("no answer here", ""),
    ("", ""),
])
def test_extraction(response, expected):
    assert extract_answer(response) == expected


# ----------------------------------------------------------------------- strip_string
@pytest.mark.parametrize("raw,expected", [
    ("\\left( 1, 2 \\right)", "(1,2)"),
    ("90^\\circ", "90"),
    ("90^{\\circ}", "90"),
    ("\\$18", "18"),
    ("50\\%", "50"),
    ("50%", "50"),
    ("10\\text{ dollars}", "10"),
    ("10 feet", "10"),
    ("5 km", "5"),
    ("3 hours", "3"),
    ("\\dfrac{3}{4}", "\\frac{3}{4}"),
    ("\\tfrac34", "\\frac{3}{4}"),
    ("\\frac12", "\\frac{1}{2}"),
    ("1/2", "\\frac{1}{2}"),
    ("\\sqrt2", "\\sqrt{2}"),
    ("three", "3"),
    ("two hundred", "200"),
    ("x=3", "3"),
    ("k = 5", "5"),
    ("2.0", "2"),
    ("2.000", "2"),
    ("2.50", "2.50"),
    (".5", "0.5"),
    ("\\!1,\\!000", "1,000"),
    ("\\begin{bmatrix}1\\\\2\\end{bmatrix}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}"),
    ("infinity", "\\infty"),
])
def test_strip_string(raw, expected):
    assert strip_string(raw) == expected


def test_strip_string_official_quirks():
    """Kept as the official code has them: "dollars" is not one of its unit words, single letters such as
    "a" are, and "and" is deleted anywhere."""
    assert strip_string("10 dollars") == "10dollars"
    assert strip_string("\\frac{a}{2}") == "\\frac{}{2}"
    assert strip_string("candy") == "cy"
    assert strip_string("5 km", skip_unit=True) == "5km"
    # sympy's parse_latex, tried first, reads \pi as a plain symbol, so pi has no numeric value
    assert not math_equal("2\\pi", "6.28318")
    assert math_equal("2\\pi", "\\pi+\\pi")


# ----------------------------------------------------------------------- equivalence
def _equal(prediction, reference, **kwargs):
    return math_equal(strip_string(prediction), strip_string(reference), **kwargs)


@pytest.mark.parametrize("prediction,reference", [
    ("0.5", "\\frac{1}{2}"),
    ("1/2", "\\frac{1}{2}"),
    ("1/2", "0.5"),
    ("50%", "0.5"),      # percentage leniency: reference * 100
    ("0.43", "43"),      # and reference / 100
    ("x=3", "3"),
    ("3", "y = 3"),
    ("\\dfrac{1}{2}", "\\frac{1}{2}"),
    ("1,000", "1000"),
    ("10 \\text{dollars}", "10"),
    ("10 feet", "10"),
    ("two", "2"),
    ("43", "43.0"),
    ("1.0001", "1"),     # rel_tol 1e-4
    ("X", "x"),
    ("(1, 2)", "(1,2)"),
    ("[1,\\frac{9}{2}]", "[1,4.5]"),
    ("(-\\infty, 3)", "(-\\infty,3)"),
    ("(1,2)", "[1,2]"),  # brackets are not compared: an open interval matches a closed one
    ("\\begin{pmatrix}1\\\\0.5\\end{pmatrix}", "\\begin{pmatrix}1\\\\\\frac{1}{2}\\end{pmatrix}"),
    ("\\sqrt{8}", "2\\sqrt{2}"),
    ("x+1", "1+x"),
    ("\\frac{x}{7}+\\frac{2}{7}", "\\frac{x+2}{7}"),
    ("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}"),
    ("\\frac{100}{3}", "33.3333"),
])
def test_equivalent(prediction, reference):
    assert _equal(prediction, reference)


def test_equations_compare_lhs_minus_rhs():
    assert math_equal("2p+3q=6", "6=2p+3q")
    assert math_equal("p=2q", "p-2q=0")
    assert not math_equal("p=2q", "p=3q")


@pytest.mark.parametrize("prediction,reference", [
    ("3", "4"),
    ("1.001", "1"),
    ("0.5", "0.6"),
    ("\\frac{1}{3}", "0.3"),
    ("\\sqrt{8}", "3"),
    ("(1,2)", "(1,3)"),
    ("(1,2)", "(1,2,3)"),
    ("x+1", "x+2"),
    ("", "5"),
    ("10 dollars", "10"),  # see test_strip_string_official_quirks
])
def test_not_equivalent(prediction, reference):
    assert not _equal(prediction, reference)


def test_percentage_leniency_can_be_switched_off():
    assert math_equal("50", "0.5")
    assert not math_equal("50", "0.5", include_percentage=False)
    assert math_equal(None, "1") is False


def test_in_process_matches_pool():
    pairs = [("\\sqrt{8}", "2\\sqrt{2}"), ("(1,2)", "(1,3)"), ("x+1", "1+x"), ("0.5", "\\frac{1}{2}")]
    assert [math_equal(p, r, timeout_s=None) for p, r in pairs] == [r["correct"] for r in grade(*zip(*pairs))]


# ----------------------------------------------------------------------- timeouts
PATHOLOGICAL = "9^{9^{9}}"  # sympy tries to build 9**387420489 exactly


def test_timeout_counts_as_wrong_and_is_reported():
    results = grade([PATHOLOGICAL, "\\frac{1}{2}", "7"], ["1", "0.5", "7"], timeout_s=0.5)
    assert results[0] == {"prediction": PATHOLOGICAL, "correct": False, "timeout": True}
    assert [r["correct"] for r in results[1:]] == [True, True]  # the pool recovers
    assert summarize(results) == {"num_samples": 3, "timeout_samples": 1, "empty_samples": 0, "acc": 66.7}
    with pytest.raises(GradingTimeout):
        math_equal(PATHOLOGICAL, "1", timeout_s=0.5)


def test_is_correct_counts_a_timeout_as_wrong(monkeypatch):
    from bmc.evaluation import answers

    def timing_out(prediction, gold):
        raise GradingTimeout("too slow")

    monkeypatch.setattr(answers, "math_equal", timing_out)
    assert answers.is_correct("The answer is 1", "1", "math") is False


def test_worker_pool_is_reused_and_can_be_stopped():
    grade(["\\sqrt{4}"], ["2"])
    pool = mg._POOL
    assert pool is not None and pool.active
    grade(["\\sqrt{9}"], ["3"])
    assert mg._POOL is pool
    mg.shutdown_pool()
    assert mg._POOL is None
    assert grade(["\\sqrt{9}"], ["3"])[0]["correct"]


# ----------------------------------------------------------------------- math-verify (secondary)
@pytest.mark.parametrize("response,gold,expected", [
    ("The answer is $\\frac{1}{2}$", "0.5", True),
    ("So $\\boxed{2\\sqrt{2}}$.", "\\sqrt{8}", True),
    ("The answer is 1,000", "1000", True),
    ("We find $x = (1, 2)$.", "(1,2)", True),
    ("The answer is 3", "4", False),
    ("no answer at all", "4", False),
])
def test_math_verify(response, gold, expected):
    assert math_verify_correct(response, gold) is expected


def test_math_verify_errors_are_wrong_and_pooled_grading():
    assert math_verify_correct(None, "1") is False  # parse() raises on None: counted as wrong
    assert math_verify_grade(["The answer is $\\frac{1}{2}$", "The answer is 3"], ["0.5", "4"]) == [
        {"correct": True, "timeout": False}, {"correct": False, "timeout": False}]
