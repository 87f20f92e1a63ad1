"""Answer extraction and comparison as the official evaluation code does it.

QA (``eval/QA/*/eval.py``): the prediction is the text after the last "The answer is", stripped and
lower-cased, or "" when the phrase is absent; it is compared with ``==`` to the gold ``answer`` *as is*.
Gold answers with capitals can therefore never match (the "case quirk"); that official score is the
default, and a corrected score that normalises both sides is reported beside it.

Math (the ToRA/JiuZhang harness, ``parser.extract_answer``): the last ``\\boxed{...}``, else the text
after the last "he answer is", else after "final answer is", else the last number; compared numerically
(relative tolerance 1e-4, with the harness's percentage leniency) or as strings.
"""

from __future__ import annotations

import math
import re

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
_NUMBER = re.compile(r"-?\d*\.?\d+")


def _last_boxed(text: str) -> str | None:
    start = text.rfind("boxed")
    if start == -1:
        return None
    rest = text[start + len("boxed"):]
    if not rest.startswith("{"):
        # "\boxed 5" form: up to the next "$" or whitespace
        return rest.strip().split("$")[0].split()[0] if rest.strip() else None
    depth, out = 0, []
    for ch in rest:
        if ch == "{":
            depth += 1
            if depth == 1:
                continue
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return "".join(out)
        out.append(ch)
    return None


def math_prediction(response: str) -> str:
    """Extract the final answer in the harness's priority order: boxed, 'he answer is',
    'final answer is', last number."""
    text = response.replace("\u043a\u0438", "")  # the harness strips this stray token too
    boxed = _last_boxed(text) if "boxed" in text else None
    if boxed is not None:
        pred = boxed
    elif "he answer is" in text:
        pred = text.split("he answer is")[-1].strip()
    elif "final answer is" in text:
        pred = text.split("final answer is")[-1].strip()
    else:
        numbers = _NUMBER.findall(text.replace(",", ""))
        pred = numbers[-1] if numbers else ""
    pred = re.sub(r"\n\s*", "", pred).strip()
    if pred.startswith(":"):
        pred = pred[1:].strip()
    if pred.endswith("."):
        pred = pred[:-1]
    if pred.endswith("/"):
        pred = pred[:-1]
    return _strip_answer(pred)


def _strip_answer(s: str) -> str:
    s = s.replace("$", "").replace("\\%", "").replace("%", "").strip()
    s = re.sub(r"\\text\{[^}]*\}$", "", s).strip()
    if re.fullmatch(r"-?[\d,]*\.?\d+", s):
        s = s.replace(",", "")
        if "." in s:
            s = s.rstrip("0").rstrip(".") if s.split(".")[1].strip("0") == "" else s
    return s


def _to_number(s: str) -> float | None:
    s = s.replace(",", "").replace("%", "").strip()
    try:
        return float(s)
    except ValueError:
        return None


def math_equal(prediction: str, gold: str, include_percentage: bool = True) -> bool:
    """Numeric comparison (rel_tol 1e-4; with ``include_percentage`` the gold may also be read as
    gold/100 or gold*100, as the harness does), else case-insensitive string equality."""
    if prediction.strip().lower() == gold.strip().lower():
        return True
    p, g = _to_number(prediction), _to_number(gold)
    if p is None or g is None:
        return False
    candidates = [g / 100, g, g * 100] if include_percentage else [g]
    return any(math.isclose(p, c, rel_tol=1e-4) for c in candidates)


def gsm8k_gold(answer: str) -> str:
    """GSM8K's gold answer: the text after '####'."""
    return _strip_answer(answer.split("####")[-1].strip())


def mawps_gold(target: float | int | str) -> str:
    """MAWPS's gold ``target`` is a float such as 43.0; the harness normalises it to '43'."""
    return _strip_answer(str(target))
