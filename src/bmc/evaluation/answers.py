"""One place that knows how a response is scored for each prompt style (QA or math), as the official evaluation
does (``eval/QA`` and ``eval/math/eval/evaluate.py``; paper Table 1)."""

from __future__ import annotations

from bmc.evaluation.math_grader import grade, math_verify_grade
from bmc.evaluation.scoring import (
    GradingTimeout,
    math_equal,
    math_prediction,
    qa_correct,
    qa_correct_normalized,
    qa_prediction,
)


def extract(response: str, style: str) -> str:
    return qa_prediction(response) if style == "qa" else math_prediction(response)


def is_correct(response: str, gold: str, style: str, normalized: bool = False) -> bool:
    """Official comparison by default (QA: case quirk included); ``normalized`` gives the corrected one.

    Math: the harness's ``math_equal`` against ``gold`` as given (the official gold is already
    ``strip_string``-normalised: ``bmc.evaluation.math_parser.parse_ground_truth``); a comparison that runs past
    the official 3 s counts as wrong, as in the harness (``bmc.evaluation.math_grader.grade`` also reports it).
    """
    pred = extract(response, style)
    if style == "qa":
        return qa_correct_normalized(pred, gold) if normalized else qa_correct(pred, gold)
    try:
        return math_equal(pred, gold)
    except GradingTimeout:
        return False


def score(responses: list[str], golds: list[str], style: str) -> list[dict]:
    """Score many responses at once: per item ``prediction``, ``correct`` (official), ``correct_normalized``
    (corrected), and for math ``timeout`` (the official grader's 3 s per item ran out: wrong, and counted)
    and ``correct_math_verify`` (math-verify on the whole response, a secondary score)."""
    preds = [extract(r, style) for r in responses]
    if style == "qa":
        return [{"prediction": p, "correct": qa_correct(p, g), "correct_normalized": qa_correct_normalized(p, g)}
                for p, g in zip(preds, golds)]
    official = grade(preds, golds)
    verified = math_verify_grade(responses, golds)
    return [{"prediction": p, "correct": o["correct"], "correct_normalized": o["correct"], "timeout": o["timeout"],
             "correct_math_verify": v["correct"]} for p, o, v in zip(preds, official, verified)]
