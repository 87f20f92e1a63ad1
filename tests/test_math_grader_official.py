"""Differential test: bmc.evaluation.math_parser and math_grader against what the official math harness returns,
case by case.

The cases (tests/fixtures/math_grader_official_cases.jsonl, described in
tests/fixtures/math_grader_official_cases.md) are hand-written (response, gold) pairs: LaTeX text wrappers
(``\\text``, ``\\textbf``, ``\\mbox``) around answers and choice letters in the response and in the gold,
``\\boxed`` nesting, units, percentages, fractions, matrices, intervals, choice letters and a few others.
Each carries the official harness's gold, prediction and verdict, obtained by running the official
``parser.py``/``grader.py`` (tests/fixtures/label_official_math_cases.py). Those files are not part of this
repository; when BMC_OFFICIAL_MATH_EVAL names a folder holding them, the recorded labels are also
re-derived from the official functions themselves.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from bmc.evaluation.math_grader import GradingTimeout, math_equal
from bmc.evaluation.math_parser import extract_answer, parse_ground_truth

FIXTURES = Path(__file__).parent / "fixtures"
CASES_FILE = FIXTURES / "math_grader_official_cases.jsonl"
CASES = [json.loads(line) for line in CASES_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
CATEGORIES = {"text", "mbox", "boxed", "units", "percent", "fractions", "matrices", "intervals", "choice"}

sys.path.insert(0, str(FIXTURES))
from label_official_math_cases import record  # noqa: E402  (the record each gold field belongs in)


def test_the_suite_covers_what_it_should():
    assert len(CASES) >= 100
    counts = Counter(c["category"] for c in CASES)
    assert CATEGORIES <= set(counts), CATEGORIES - set(counts)
    assert all(counts[c] >= 5 for c in CATEGORIES), counts
    # both verdicts occur, and \text letters occur on both sides
    assert {c["official_correct"] for c in CASES} == {True, False}
    assert any("\\text{(" in c["response"] for c in CASES)
    assert any("\\text{(" in str(c["gold"]) for c in CASES)
    assert {c["dataset"] for c in CASES} == {"math-oai", "gsm8k", "mawps", "tabmwp"}


@pytest.mark.parametrize("case", CASES, ids=[f"{i}-{c['category']}" for i, c in enumerate(CASES)])
def test_ours_returns_what_the_official_code_returns(case):
    gold = parse_ground_truth(record(case["dataset"], case["gold"]), case["dataset"])
    assert gold == case["official_gold"], "gold answer (parse_ground_truth)"
    pred = extract_answer(case["response"])
    # the official run_execute returns None for an empty response; ours returns ""
    assert pred == (case["official_pred"] if case["official_pred"] is not None else ""), "prediction"
    if case["official_pred"] is None:
        assert case["official_correct"] is False  # math_equal(None, gold) is False
        return
    try:
        correct = math_equal(pred, gold)
    except GradingTimeout:
        correct = False
    assert correct == case["official_correct"], f"math_equal({pred!r}, {gold!r})"


def test_recorded_labels_are_what_the_official_code_returns(tmp_path):
    """Re-derive every label with the official functions, where they are at hand."""
    official = os.environ.get("BMC_OFFICIAL_MATH_EVAL")
    if not official or not (Path(official) / "grader.py").exists():
        pytest.skip("set BMC_OFFICIAL_MATH_EVAL to a folder with the official parser.py and grader.py")
    copy = tmp_path / CASES_FILE.name
    copy.write_text(CASES_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    subprocess.run([sys.executable, str(FIXTURES / "label_official_math_cases.py"), "--official", official,
                    "--cases", str(copy)], check=True)
    assert copy.read_text(encoding="utf-8") == CASES_FILE.read_text(encoding="utf-8")
