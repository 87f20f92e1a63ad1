"""Synthetic tasks: deterministic, in the real data's record schema, no leakage into the corpus."""

from __future__ import annotations

import pytest

from bmc.bridging.editors import BridgeRequest
from bmc.bridging.editors.rule import RuleEditor
from bmc.data.synthetic import TaskSizes, generate_task, pretraining_corpus
from bmc.evaluation.scoring import math_prediction, qa_prediction


@pytest.mark.parametrize("generator", ["multiple_choice", "arithmetic"])
def test_deterministic_and_disjoint(generator):
    a = generate_task(generator, TaskSizes(300, 100), seed=7)
    b = generate_task(generator, TaskSizes(300, 100), seed=7)
    c = generate_task(generator, TaskSizes(300, 100), seed=8)
    assert a == b and a != c
    assert len(a["train"]) == 300 and len(a["test"]) == 100
    train, test = {r["problem"] for r in a["train"]}, {r["problem"] for r in a["test"]}
    assert len(train) == 300 and not train & test


def test_multiple_choice_schema():
    rows = generate_task("multiple_choice", TaskSizes(200, 10), seed=1)["train"]
    assert {r["type"] for r in rows} == {"largest", "smallest", "category", "fact"}
    for r in rows:
        question, options = r["problem"].split("\nOptions:\n")
        opts = options.split("\n")
        assert len(opts) == 4 and r["answer"] in opts
        assert r["solution"].endswith(f"The answer is {r['answer']}")
        assert qa_prediction(r["solution"]) == r["answer"].lower()


def test_arithmetic_schema_and_correctness():
    rows = generate_task("arithmetic", TaskSizes(200, 10), seed=2)["train"]
    for r in rows:
        assert r["solution"].endswith(f"The answer is {r['answer']}")
        assert math_prediction(r["solution"]) == r["answer"]
        steps = int(r["type"][0])
        equations = [line for line in r["solution"].split("\n") if "=" in line]
        assert len(equations) == steps
        for eq in equations:  # every equation in the gold solution is right
            lhs, rhs = eq.rsplit("=", 1)
            a, op, b = lhs.split()[-3:]
            assert (int(a) + int(b) if op == "+" else int(a) - int(b)) == int(rhs.strip(" ."))
        assert int(r["answer"]) >= 0


def test_types_can_be_restricted():
    rows = generate_task("arithmetic", TaskSizes(50, 10), seed=2, types=["1-step"])["train"]
    assert {r["type"] for r in rows} == {"1-step"}
    with pytest.raises(ValueError, match="unknown generator"):
        generate_task("trivia", TaskSizes(1, 1), seed=0)


def test_corpus_excludes_given_problems_and_is_plain_text():
    rows = generate_task("arithmetic", TaskSizes(100, 100), seed=3)
    problems = {r["problem"] for split in rows.values() for r in split}
    lines = pretraining_corpus(0, 3000, problems, preamble_fraction=0.1, preamble="PREAMBLE ")
    assert len(lines) == 3000
    assert not any(p in line for line in lines for p in problems)
    assert not any("### Instruction" in line or "Options:" in line for line in lines)
    assert 150 < sum(line.startswith("PREAMBLE ") for line in lines) < 450


def test_paraphrases_keep_slots_aligned():
    """Gold solutions of the same problem in two wordings must mention the same slots in the same order,
    which is what lets the rule editor repair a losing response from the gold one."""
    import random

    from bmc.data.synthetic import _arithmetic

    r1 = _arithmetic(random.Random(5), 3, 20)
    r2 = _arithmetic(random.Random(5), 3, 20)
    assert r1 == r2
    edited = RuleEditor().edit([BridgeRequest(r1["problem"], r1["solution"], r1["solution"], r1["answer"])])[0]
    assert edited.text is None  # a correct response needs no edit
