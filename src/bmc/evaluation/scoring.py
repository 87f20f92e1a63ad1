"""Answer extraction and comparison as the official evaluation code does it.

QA (``eval/QA/*/eval.py``): the prediction is the text after the last "The answer is", stripped and
lower-cased, or "" when the phrase is absent; it is compared with ``==`` to the gold ``answer`` *as is*.
Gold answers with capitals can therefore never match (the "case quirk"); that official score is the
default, and a corrected score that normalises both sides is reported beside it.

Math: the ToRA/JiuZhang harness, implemented in :mod:`bmc.evaluation.math_parser` and
:mod:`bmc.evaluation.math_grader` and re-exported here
(``math_equal``, ``grade``, ``strip_string``, ...). ``math_equal`` raises ``GradingTimeout`` when the
comparison runs past its time limit (3 s, official); the harness counts that as wrong.
"""

from __future__ import annotations

from bmc.evaluation.math_grader import (  # re-exported (__all__): the math half of this module
    GradingTimeout,
    grade,
    math_equal,
    math_verify_correct,
    summarize,
)
from bmc.evaluation.math_parser import extract_answer, parse_ground_truth, strip_string  # re-exported

__all__ = [
    "QA_MARKER", "qa_prediction", "qa_correct", "qa_correct_normalized",
    "math_prediction", "gsm8k_gold", "mawps_gold",
    "GradingTimeout", "extract_answer", "grade", "math_equal", "math_verify_correct", "parse_ground_truth",
    "strip_string", "summarize",
]

QA_MARKER = "The answer is"


# ---------------------------------------------------------------------------------------------- QA
def qa_prediction(response: str) -> str:
    """Official: ``response.split('The answer is')[-1].strip().lower()`` if the phrase occurs, else ''."""
    if QA_MARKER in response:
        return response.split(QA_MARKER)[-1].strip().lower()
    return ""


def qa_correct(prediction: str, gold: str) -> bool:
    """Official comparison, case quirk included: the gold answer is not lower-cased."""
    return prediction == gold


def qa_correct_normalized(prediction: str, gold: str) -> bool:
    """Corrected comparison: both sides lower-cased and stripped."""
    return prediction.strip().lower() == gold.strip().lower()


# -------------------------------------------------------------------------------------------- math
def math_prediction(response: str) -> str:
    """The official harness's prediction for a response (:func:`bmc.evaluation.math_parser.extract_answer`)."""
    return extract_answer(response)


def gsm8k_gold(answer: str) -> str:
    """GSM8K's gold answer: the text after '####', through ``strip_string``."""
    return parse_ground_truth({"answer": answer}, "gsm8k")


def mawps_gold(target: float | int | str) -> str:
    """MAWPS's gold ``target`` is a float such as 43.0; the harness normalises it to '43'."""
    return parse_ground_truth({"target": target}, "mawps")
