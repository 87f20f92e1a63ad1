"""One place that knows how a response is scored for each prompt style (QA or math)."""

from __future__ import annotations

from bmc.scoring import (
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
    ``strip_string``-normalised: ``bmc.math_grader.parse_ground_truth``); a comparison that runs past
    the official 3 s counts as wrong, as in the harness (``bmc.math_grader.grade`` also reports it).
    """
    pred = extract(response, style)
    if style == "qa":
        return qa_correct_normalized(pred, gold) if normalized else qa_correct(pred, gold)
    try:
        return math_equal(pred, gold)
    except GradingTimeout:
        return False
