"""The official math evaluation's answer extraction and equivalence, reimplemented and tested.

DPO-BMC scores GSM8K, MATH-500 ("math-oai"), MAWPS and TabMWP with the JiuZhang3.0 copy of the ToRA /
math-evaluation-harness code (``eval/math/eval/{parser,grader,evaluate}.py``, see
``docs/official-code.md`` section 1.2). This module reproduces what those files do, function by function:

* :func:`parse_ground_truth` and :func:`math_question` are ``parser.parse_ground_truth`` (the answer half)
  and ``parser.parse_question`` for the four BMC test sets.
* :func:`extract_answer` is ``parser.run_execute`` for a chain-of-thought response:
  ``strip_string(parser.extract_answer(response))``. :func:`strip_string` is ``parser.strip_string``,
  quirks included (the MathQA unit words, "and" and single letters such as "a" or "s" are deleted).
* :func:`math_equal` is ``grader.math_equal``, :func:`symbolic_equal` is ``grader.symbolic_equal``.
* :func:`grade` is ``evaluate.evaluate``'s scoring loop: every comparison gets ``timeout_s`` (3 s) in a
  ``pebble.ProcessPool``; a timeout counts as wrong and is reported. Unlike the official loop, the cheap
  string and numeric checks run in this process first, so only the undecided items (answers that need
  sympy) are sent to the pool; they decide exactly as the official code would.

:func:`math_verify_correct` is a secondary score with Hugging Face's ``math-verify``, which the paper
does not use.

One deliberate deviation, for safety: sympy's ``parse_expr`` evaluates its input with ``eval``, so
:func:`symbolic_equal` does not hand it strings containing a double underscore (a Python attribute
escape; never part of a math answer). Such strings stay unparsed, as any other unparsable string does.
"""

from __future__ import annotations

import atexit
import logging
import math
import multiprocessing
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import TimeoutError as FutureTimeoutError
from typing import Any

log = logging.getLogger(__name__)

MATH_DATASETS = ("gsm8k", "math-oai", "mawps", "tabmwp")
DEFAULT_TIMEOUT_S = 3.0  # evaluate.py: pool.map(math_equal_process, params, timeout=3)


class GradingTimeout(TimeoutError):
    """A comparison ran past its time limit. The official harness counts it as wrong and counts it."""


# ------------------------------------------------------------------------------ ground truth, questions
def parse_ground_truth(record: dict, dataset: str) -> str:
    """The gold answer as ``parser.parse_ground_truth`` makes it (its second return value).

    * gsm8k: the text after "####" in ``answer``;
    * math-oai (MATH-500; "math" is accepted too): the last ``\\boxed{}`` of ``solution``, extracted as a
      prediction would be;
    * mawps: ``target``, a float such as 43.0 (which ``strip_string`` turns into "43");
    * tabmwp: ``answer``, turned into a float for ``integer_number``/``decimal_number`` answers ("a/b" is
      divided, commas dropped, "p%" becomes p/100).

    Every gold then goes through :func:`strip_string`.
    """
    if dataset in ("math-oai", "math"):
        gold: Any = _extract_answer_once(record["solution"])
    elif dataset == "gsm8k":
        gold = record["answer"].split("####")[-1]
    elif dataset == "mawps":
        gold = record["target"]
    elif dataset == "tabmwp":
        gold = record["answer"]
        if record["ans_type"] in ("integer_number", "decimal_number"):
            if "/" in gold:
                numerator, denominator = gold.split("/")[:2]
                gold = int(numerator) / int(denominator)
            elif "," in gold:
                gold = float(gold.replace(",", ""))
            elif "%" in gold:
                gold = float(gold.split("%")[0]) / 100
            else:
                gold = float(gold)
    else:
        raise ValueError(f"unknown math dataset {dataset!r}; expected one of {MATH_DATASETS}")
    return strip_string(gold)


def math_question(record: dict, dataset: str) -> str:
    """The question text as ``parser.parse_question`` builds it (before the prompt template).

    gsm8k uses ``question``, math-oai ``problem``, mawps ``input``. TabMWP becomes
    'Read the following table regarding "<title>" and answer a question:\\n<table>\\n<question>' (the
    'regarding ...' part only when there is a title), plus ' Please select from the following options:
    <choices>' when there are choices. When the gold answer is true/false or yes/no, ' (True or False)'
    or ' (Yes or No)' is appended. The result is stripped.
    """
    if dataset == "tabmwp":
        title = f'regarding "{record["table_title"]}" ' if record.get("table_title") else ""
        question = f"Read the following table {title}and answer a question:\n"
        question += f'{record["table"]}\n{record["question"]}'
        if record.get("choices"):
            question += f' Please select from the following options: {record["choices"]}'
    elif dataset in ("gsm8k", "math-oai", "math", "mawps"):
        question = next((record[k] for k in ("question", "problem", "Question", "input") if k in record), "")
    else:
        raise ValueError(f"unknown math dataset {dataset!r}; expected one of {MATH_DATASETS}")
    gold = parse_ground_truth(record, dataset).lower()
    if gold in ("true", "false"):
        question += " (True or False)"
    if gold in ("yes", "no"):
        question += " (Yes or No)"
    return question.strip()


# ------------------------------------------------------------------------------ prediction extraction
_LAST_NUMBER = re.compile(r"-?\d*\.?\d+")


def _boxed_content(after_boxed: str) -> str:
    """What follows the last "boxed": the brace-matched ``{...}`` group (an unclosed group runs to the
    end), or for ``\\boxed 5`` the text up to the next "$"."""
    if not after_boxed.startswith("{"):
        return after_boxed.split("$")[0].strip()
    depth, out = 1, []
    for ch in after_boxed[1:]:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                break
        out.append(ch)
    return "".join(out)


def _extract_answer_once(response: str, skip_unit: bool = False) -> str:
    """``parser.extract_answer`` for the BMC test sets: the first rule that applies of

    1. Minerva's "final answer is $...$. I hope" (the first such answer);
    2. the last ``boxed`` (brace matching);
    3. the text after the last "he answer is";
    4. the text after the last "final answer is";
    5. the last number ``-?\\d*\\.?\\d+`` once commas are removed;

    then newlines (with following spaces) are removed, one leading ":" and one trailing "." and "/"
    dropped, and the result passed through :func:`strip_string`.
    """
    text = response.replace("\u043a\u0438", "")  # Math-Shepherd's step tag "ки"
    if "final answer is $" in text and "$. I hope" in text:
        pred = text.split("final answer is $", 1)[1].split("$. I hope", 1)[0].strip()
    elif "boxed" in text:
        after = text.split("boxed")[-1]
        if not after:
            return ""
        pred = _boxed_content(after)
    elif "he answer is" in text:
        pred = text.split("he answer is")[-1].strip()
    elif "final answer is" in text:
        pred = text.split("final answer is")[-1].strip()
    else:
        numbers = _LAST_NUMBER.findall(text.replace(",", ""))
        pred = numbers[-1] if numbers else ""
    pred = re.sub(r"\n\s*", "", pred)
    if pred.startswith(":"):
        pred = pred[1:]
    if pred.endswith("."):
        pred = pred[:-1]
    if pred.endswith("/"):
        pred = pred[:-1]
    return strip_string(pred, skip_unit=skip_unit)


def extract_answer(response: str, skip_unit: bool = False) -> str:
    """The prediction the official harness scores for a chain-of-thought response.

    ``parser.run_execute`` returns ``strip_string(extract_answer(response))`` and ``extract_answer``
    already ends in ``strip_string``, so the string is stripped twice, as here (see
    :func:`_extract_answer_once` for the extraction rules). An empty response, or the literal "error",
    gives "" (the official ``None``). ``skip_unit`` is only set for carp_en / minerva_math, never for
    the BMC test sets.
    """
    if not response or response == "error":
        return ""
    return strip_string(_extract_answer_once(response, skip_unit=skip_unit), skip_unit=skip_unit)


# ------------------------------------------------------------------------------ strip_string
# parser.unit_texts: unit words, mainly from MathQA, in the official order; their plurals ("+s") follow
# all of them. They are regular expressions as written ("q ." matches "q" + any character).
_UNIT_WORDS = [
    "east", "degree", "mph", "kmph", "ft", "m sqaure", " m east", "sq m", "deg", "mile",
    "q .", "monkey", "prime", "ratio", "profit of rs", "rd", "o", "gm",
    "p . m", "lb", "tile", "per", "dm", "lt", "gain", "ab", "way", "west",
    "a .", "b .", "c .", "d .", "e .", "f .", "g .", "h .", "t", "a", "h",
    "no change", "men", "soldier", "pie", "bc", "excess", "st",
    "inches", "noon", "percent", "by", "gal", "kmh", "c", "acre", "rise",
    "a . m", "th", "π r 2", "sq", "mark", "l", "toy", "coin",
    "sq . m", "gallon", "° f", "profit", "minw", "yr", "women",
    "feet", "am", "pm", "hr", "cu cm", "square", "v â € ™", "are",
    "rupee", "rounds", "cubic", "cc", "mtr", "s", "ohm", "number",
    "kmph", "day", "hour", "minute", "min", "second", "man", "woman",
    "sec", "cube", "mt", "sq inch", "mp", "∏ cm ³", "hectare", "more",
    "sec", "unit", "cu . m", "cm 2", "rs .", "rs", "kg", "g", "month",
    "km", "m", "cm", "mm", "apple", "liter", "loss", "yard",
    "pure", "year", "increase", "decrease", "d", "less", "Surface",
    "litre", "pi sq m", "s .", "metre", "meter", "inch",
]
UNIT_TEXTS = _UNIT_WORDS + [w + "s" for w in _UNIT_WORDS]
# (pattern, literal): a word without "." can only match where it occurs literally, which lets most of
# the ~330 substitutions be skipped with a substring test; the result is the same.
_UNIT_PATTERNS = [(re.compile(r"(^|\W)" + w + r"($|\W)"), None if "." in w else w) for w in UNIT_TEXTS]


def _fix_fracs(s: str) -> str:
    """``\\frac12`` -> ``\\frac{1}{2}``, ``\\frac1{72}`` -> ``\\frac{1}{72}`` (Hendrycks MATH)."""
    parts = s.split("\\frac")
    out = parts[0]
    for part in parts[1:]:
        out += "\\frac"
        if part.startswith("{"):
            out += part
            continue
        if len(part) < 2:
            return s
        a, b, rest = part[0], part[1], part[2:]
        out += "{" + a + "}" + ("{" + b + "}" if b != "{" else b) + rest
    return out


def _fix_a_slash_b(s: str) -> str:
    """"a/b" with integer a and b (or sqrt terms) -> ``\\frac{a}{b}``; anything else is left alone."""
    parts = s.split("/")
    if len(parts) != 2:
        return s
    a, b = parts
    try:
        a_val = a if "sqrt" in a else int(a)
        b_val = b if "sqrt" in b else int(b)
    except ValueError:
        return s
    if s != f"{a_val}/{b_val}":  # "01/2", " 1/2" and the like are not rewritten
        return s
    return f"\\frac{{{a_val}}}{{{b_val}}}"


def _fix_sqrt(s: str) -> str:
    """``\\sqrt2`` -> ``\\sqrt{2}``."""
    return re.sub(r"\\sqrt(\w+)", r"\\sqrt{\1}", s)


def _word_number(s: str) -> str:
    """Number words to digits with ``word2number`` ("two hundred" -> "200"); other strings unchanged."""
    from word2number import w2n

    try:
        return str(w2n.word_to_num(s))
    except Exception:  # w2n raises ValueError (and IndexError on some inputs) for non-number text
        return s


def strip_string(s: Any, skip_unit: bool = False) -> str:
    """``parser.strip_string``: normalise an answer string, step for step as the official code does.

    Removes line breaks and trailing "."s and ``\\!``; turns array/bmatrix into pmatrix and
    tfrac/dfrac into frac; shortens ``\\neq``/``\\leq``/``\\geq``; removes ``\\left``/``\\right`` and escaped
    braces; drops a trailing ``\\text{...}`` unit; unless ``skip_unit``, deletes the MathQA unit words
    (twice over); removes ``^\\circ``, dollar signs and ``\\(``/``\\)``; converts number words to digits;
    unwraps ``\\text{...}``; deletes "x=", "y\\in", ...; maps ``\\emptyset`` and (-inf, inf); removes
    percent signs; writes " .5" as " 0.5"; spells infinity ``\\infty``; deletes "and", ``\\mathbf`` and
    ``\\mbox{...}``; j -> i when there is no i; drops trailing ".0"s; removes a short (<= 2 characters)
    "k=" prefix; fixes ``\\sqrt2``; removes spaces; fixes ``\\frac12`` and "a/b".
    """
    s = str(s).strip()
    s = s.replace("\n", "")
    s = s.rstrip(".")
    s = s.replace("\\!", "")
    # matrices
    s = re.sub(r"\\begin\{array\}\{.*?\}", r"\\begin{pmatrix}", s)
    s = re.sub(r"\\end\{array\}", r"\\end{pmatrix}", s)
    s = s.replace("bmatrix", "pmatrix")
    s = s.replace("tfrac", "frac").replace("dfrac", "frac")
    s = s.replace("\\neq", "\\ne").replace("\\leq", "\\le").replace("\\geq", "\\ge")
    s = s.replace("\\left", "").replace("\\right", "")
    s = s.replace("\\{", "{").replace("\\}", "}")
    # a trailing \text{unit}, unless that leaves nothing
    without_unit = re.sub(r"\\text{.*?}$", "", s).strip()
    if without_unit != "" and without_unit != s:
        s = without_unit
    if not skip_unit:
        for _ in range(2):
            for pattern, literal in _UNIT_PATTERNS:
                if literal is not None and literal not in s:
                    continue
                replaced = pattern.sub(r"\1\2", s)
                if replaced != "":
                    s = replaced
    s = s.replace("^{\\circ}", "").replace("^\\circ", "")
    s = s.replace("\\$", "").replace("$", "")
    s = s.replace("\\(", "").replace("\\)", "")
    s = _word_number(s)
    s = re.sub(r"\\text\{(.*?)\}", r"\1", s)
    for key in ("x=", "y=", "z=", "x\\in", "y\\in", "z\\in", "x\\to", "y\\to", "z\\to"):
        s = s.replace(key, "")
    s = s.replace("\\emptyset", "{}")
    s = s.replace("(-\\infty,\\infty)", "\\mathbb{R}")
    s = s.replace("\\%", "").replace("%", "")
    s = s.replace(" .", " 0.").replace("{.", "{0.")
    # Official: strip enclosing {} () [] when the whole string is alphanumeric, which can never hold
    # for a string that starts with a bracket; kept for the record.
    if s[:1] + s[-1:] in ("{}", "()", "[]") and s.isalnum():
        s = s[1:-1]
    s = s.replace("infinity", "\\infty")
    if "\\infty" not in s:
        s = s.replace("inf", "\\infty")
    s = s.replace("+\\inity", "\\infty")
    s = s.replace("and", "")
    s = s.replace("\\mathbf", "")
    s = re.sub(r"\\mbox{.*?}", "", s)
    # (the official code also calls s.replace("'", "") and s.replace('"', "") but drops the results)
    if "j" in s and "i" not in s:
        s = s.replace("j", "i")
    # 2.000 -> 2, 2.0x -> 2x
    s = re.sub(r"(\d+)\.0*([^\d])", r"\1\2", s)
    s = re.sub(r"(\d+)\.0*$", r"\1", s)
    if not s:
        return s
    if s[0] == ".":
        s = "0" + s
    sides = s.split("=")
    if len(sides) == 2 and len(sides[0]) <= 2:
        s = sides[1]
    s = _fix_sqrt(s)
    s = s.replace(" ", "")
    s = _fix_fracs(s)
    s = _fix_a_slash_b(s)
    return s


# ------------------------------------------------------------------------------ equivalence
def parse_digits(num: Any) -> float | None:
    """``grader.parse_digits``: a float after removing commas; "p%" (or "p\\%") gives p/100; else None."""
    num = str(num).replace(",", "")
    try:
        return float(num)
    except ValueError:
        if num.endswith("%"):
            num = num[:-1]
            if num.endswith("\\"):
                num = num[:-1]
            try:
                return float(num) / 100
            except ValueError:
                pass
    return None


def is_digit(num: Any) -> bool:
    return parse_digits(num) is not None


def numeric_equal(prediction: float, reference: float) -> bool:
    """``grader.numeric_equal``: ``math.isclose`` with a relative tolerance of 1e-4."""
    return math.isclose(reference, prediction, rel_tol=1e-4)


def str_to_pmatrix(text: str) -> str:
    """``grader.str_to_pmatrix``: "{a,b}" groups become pmatrix column vectors."""
    groups = re.findall(r"\{.*,.*\}", text.strip())
    return ", ".join(r"\begin{pmatrix}" + g.strip("{}").replace(",", "\\") + r"\end{pmatrix}" for g in groups)


def _quick_verdict(prediction: Any, reference: Any, include_percentage: bool = True) -> bool | None:
    """The first, cheap steps of ``grader.math_equal``; None when they do not decide.

    None on either side is wrong; case-insensitive string equality is right; when both sides are
    numbers, the answer is right if the prediction is within rel_tol 1e-4 of the reference, or (with
    ``include_percentage``) of reference/100 or reference*100, and wrong otherwise; an empty prediction
    is wrong.
    """
    if prediction is None or reference is None:
        return False
    prediction, reference = str(prediction), str(reference)
    if prediction.strip().lower() == reference.strip().lower():
        return True
    if is_digit(prediction) and is_digit(reference):
        pred, ref = parse_digits(prediction), parse_digits(reference)
        candidates = [ref / 100, ref, ref * 100] if include_percentage else [ref]
        return any(numeric_equal(pred, c) for c in candidates)
    if not prediction:
        return False
    return None


_BRACKETED = re.compile(r"(\(|\[).+(\)|\])")
_MATRIX_OPEN = ("\\begin{pmatrix}", "\\begin{bmatrix}")
_MATRIX_CLOSE = ("\\end{pmatrix}", "\\end{bmatrix}")


def _matrix_rows(matrix: str) -> list[list[str]]:
    body = matrix[len("\\begin{pmatrix}"):-len("\\end{pmatrix}")]
    return [line.strip().split("&") for line in body.split("\\\\") if line.strip()]


def _math_equal(prediction: Any, reference: Any, include_percentage: bool = True) -> bool:
    """``grader.math_equal`` in full, in this process and without a time limit (what a pool worker runs).

    After :func:`_quick_verdict`: a pmatrix prediction turns a "{a,b}" reference into pmatrix; brackets
    are stripped ("[...]"/"(...)" prediction against a reference not opened the other way) and all
    braces and parentheses removed before a case-insensitive comparison; bracketed tuples/intervals
    of equal length are compared element by element; pmatrix/bmatrix entries likewise; two equations
    are compared as ``lhs - (rhs)`` (either sign) with :func:`symbolic_equal`; a short "x=" on one side
    only is dropped and the comparison repeated; finally :func:`symbolic_equal`.
    """
    verdict = _quick_verdict(prediction, reference, include_percentage)
    if verdict is not None:
        return verdict
    reference, prediction = str(reference).strip(), str(prediction).strip()

    if "pmatrix" in prediction and "pmatrix" not in reference:
        reference = str_to_pmatrix(reference)

    pred_str, ref_str = prediction, reference
    if (prediction.startswith("[") and prediction.endswith("]") and not reference.startswith("(")) or (
            prediction.startswith("(") and prediction.endswith(")") and not reference.startswith("[")):
        pred_str, ref_str = pred_str.strip("[]()"), ref_str.strip("[]()")
    for ch in "{}()":
        pred_str, ref_str = pred_str.replace(ch, ""), ref_str.replace(ch, "")
    if pred_str.lower() == ref_str.lower():
        return True

    # [a, b] vs [c, d]: a == c and b == d
    if _BRACKETED.match(prediction) and _BRACKETED.match(reference):
        pred_parts, ref_parts = prediction[1:-1].split(","), reference[1:-1].split(",")
        if len(pred_parts) == len(ref_parts) and all(
                _math_equal(p, r, include_percentage) for p, r in zip(pred_parts, ref_parts)):
            return True

    if (prediction.startswith(_MATRIX_OPEN) and prediction.endswith(_MATRIX_CLOSE)
            and reference.startswith(_MATRIX_OPEN) and reference.endswith(_MATRIX_CLOSE)):
        pred_rows, ref_rows = _matrix_rows(prediction), _matrix_rows(reference)
        if len(pred_rows) == len(ref_rows) and all(
                len(pred_row) == len(ref_row)
                and all(_math_equal(p, r, include_percentage) for p, r in zip(pred_row, ref_row))
                for pred_row, ref_row in zip(pred_rows, ref_rows)):
            return True

    if prediction.count("=") == 1 and reference.count("=") == 1:
        lhs, rhs = prediction.split("=")
        pred_eq = f"{lhs.strip()} - ({rhs.strip()})"
        lhs, rhs = reference.split("=")
        ref_eq = f"{lhs.strip()} - ({rhs.strip()})"
        if symbolic_equal(pred_eq, ref_eq) or symbolic_equal(f"-({pred_eq})", ref_eq):
            return True
    elif prediction.count("=") == 1 and len(prediction.split("=")[0].strip()) <= 2 and "=" not in reference:
        if _math_equal(prediction.split("=")[1], reference, include_percentage):
            return True
    elif reference.count("=") == 1 and len(reference.split("=")[0].strip()) <= 2 and "=" not in prediction:
        if _math_equal(prediction, reference.split("=")[1], include_percentage):
            return True

    return symbolic_equal(prediction, reference)


def _parse_math(s: str) -> Any:
    """``grader.symbolic_equal._parse``: sympy's ``parse_latex``, then ``parse_expr``, then latex2sympy2's
    ``latex2sympy``, each tried with "\\\\" replaced by "\\" and then as is; the string itself if none
    parses."""
    from latex2sympy2 import latex2sympy
    from sympy.parsing.latex import parse_latex
    from sympy.parsing.sympy_parser import parse_expr

    for parser in (parse_latex, parse_expr, latex2sympy):
        if parser is parse_expr and "__" in s:
            continue  # parse_expr runs eval(): no attribute escapes (see the module docstring)
        for text in (s.replace("\\\\", "\\"), s):
            try:
                return parser(text)
            except Exception:
                pass
    return s


def symbolic_equal(a: str, b: str) -> bool:
    """``grader.symbolic_equal``: parse both sides (:func:`_parse_math`), then right if any of
    ``str(a) == str(b)`` or ``a == b``; ``a.equals(b)`` or ``simplify(a - b) == 0``; equal
    ``|lhs - rhs|`` for equations; ``isclose(N(a), N(b), rel_tol=1e-4)``; equal matrices after
    rounding entries to 3 decimals. Every check that raises counts as not equal."""
    from sympy import N, simplify

    a, b = _parse_math(a), _parse_math(b)
    try:
        if str(a) == str(b) or a == b:
            return True
    except Exception:
        pass
    try:
        if a.equals(b) or simplify(a - b) == 0:
            return True
    except Exception:
        pass
    try:
        if abs(a.lhs - a.rhs).equals(abs(b.lhs - b.rhs)):
            return True
    except Exception:
        pass
    try:
        if numeric_equal(float(N(a)), float(N(b))):
            return True
    except Exception:
        pass
    try:
        if a.shape == b.shape and a.applyfunc(lambda x: round(x, 3)).equals(b.applyfunc(lambda x: round(x, 3))):
            return True
    except Exception:
        pass
    return False


def math_equal(prediction: Any, reference: Any, include_percentage: bool = True,
               timeout_s: float | None = DEFAULT_TIMEOUT_S) -> bool:
    """``grader.math_equal`` under the official per-item time limit.

    The cheap checks (:func:`_quick_verdict`) run here; an undecided pair runs :func:`_math_equal` in
    the worker pool with ``timeout_s``. Raises :class:`GradingTimeout` when it runs out of time (the
    official harness counts that as wrong); ``timeout_s=None`` runs everything in this process.
    """
    verdict = _quick_verdict(prediction, reference, include_percentage)
    if verdict is not None:
        return verdict
    if timeout_s is None:
        return _math_equal(prediction, reference, include_percentage)
    (value, timed_out), = run_with_timeout(_math_equal, [(prediction, reference, include_percentage)], timeout_s)
    if timed_out:
        raise GradingTimeout(f"math_equal({prediction!r}, {reference!r}) took over {timeout_s} s")
    return bool(value)


def grade(predictions: Sequence[Any], references: Sequence[Any], timeout_s: float = DEFAULT_TIMEOUT_S,
          include_percentage: bool = True, workers: int = 1) -> list[dict]:
    """Score extracted predictions against gold answers as ``evaluate.evaluate`` does.

    Returns one ``{"prediction", "correct", "timeout"}`` per item. Pairs the cheap checks cannot decide
    go to a ``pebble`` process pool (``workers`` processes; the official code uses one) with
    ``timeout_s`` each; a timeout is wrong and flagged. A worker that fails (which stops the official
    script) is logged and counted as wrong.
    """
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    results = [{"prediction": p, "correct": False, "timeout": False} for p in predictions]
    pending = []
    for i, (pred, ref) in enumerate(zip(predictions, references)):
        verdict = _quick_verdict(pred, ref, include_percentage)
        if verdict is None:
            pending.append(i)
        else:
            results[i]["correct"] = verdict
    outcomes = run_with_timeout(_math_equal, [(predictions[i], references[i], include_percentage) for i in pending],
                                timeout_s, workers=workers)
    for i, (value, timed_out) in zip(pending, outcomes):
        results[i]["correct"] = bool(value) and not timed_out
        results[i]["timeout"] = timed_out
    return results


def summarize(results: Sequence[dict]) -> dict:
    """The official metrics file's fields: ``acc`` (mean * 100, one decimal), ``num_samples``,
    ``timeout_samples`` and ``empty_samples`` (empty predictions)."""
    n = len(results)
    return {
        "num_samples": n,
        "timeout_samples": sum(r["timeout"] for r in results),
        "empty_samples": sum(not r["prediction"] for r in results),
        "acc": round(100 * sum(r["correct"] for r in results) / n, 1) if n else 0.0,
    }


# ------------------------------------------------------------------------------ worker pool
_POOL_LOCK = threading.Lock()
_POOL: Any = None
_POOL_WORKERS = 0


def _warm_up() -> None:
    """Load sympy's ANTLR LaTeX parser and latex2sympy2 once, so that forked workers start ready and
    the per-item time limit is not spent on imports."""
    _parse_math("\\frac{1}{2}")


def _pool(workers: int):
    """The module's pebble pool (created on first use, recreated for another worker count).

    Workers are forked, as in the official harness: a forked child needs no re-import of ``__main__``
    (spawn/forkserver would re-run a script's top level) and inherits the warmed-up parsers.
    """
    global _POOL, _POOL_WORKERS
    from pebble import ProcessPool

    with _POOL_LOCK:
        if _POOL is not None and (_POOL_WORKERS != workers or not _POOL.active):
            _stop_pool_locked()
        if _POOL is None:
            _warm_up()
            forkable = "fork" in multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork") if forkable else multiprocessing.get_context()
            _POOL = ProcessPool(max_workers=workers, context=context)
            _POOL_WORKERS = workers
        return _POOL


def _stop_pool_locked() -> None:
    global _POOL
    if _POOL is not None:
        _POOL.stop()
        _POOL.join()
        _POOL = None


def shutdown_pool() -> None:
    """Stop the worker processes (also done at exit)."""
    with _POOL_LOCK:
        _stop_pool_locked()


atexit.register(shutdown_pool)


def run_with_timeout(fn: Callable, arg_tuples: Sequence[tuple], timeout_s: float, workers: int = 1
                     ) -> list[tuple[Any, bool]]:
    """Run ``fn(*args)`` for each tuple in the worker pool, each call limited to ``timeout_s`` seconds of
    running time; return ``(value, timed_out)`` per call (value None when it timed out or failed).
    A call that overruns is killed with its worker, which pebble replaces."""
    if not arg_tuples:
        return []
    pool = _pool(workers)
    futures = [pool.schedule(fn, args=args, timeout=timeout_s) for args in arg_tuples]
    out = []
    for args, future in zip(arg_tuples, futures):
        try:
            out.append((future.result(), False))
        except FutureTimeoutError:
            log.warning("timed out after %s s: %s%r", timeout_s, fn.__name__, args)
            out.append((None, True))
        except Exception as error:  # the worker died or fn raised
            log.warning("failed: %s%r: %r", fn.__name__, args, error)
            out.append((None, False))
    return out


# ------------------------------------------------------------------------------ math-verify (secondary)
def math_verify_correct(prediction_text: str, reference: str) -> bool:
    """Secondary score with ``math-verify`` (not used by the paper): ``verify(parse(gold), parse(text))``.

    The gold is wrapped in "$...$" (unless it already has "$" or a ``\\boxed``) so that LaTeX golds such
    as "(1,2)" or "\\sqrt{8}" are read as math. math-verify's own timeouts use SIGALRM, which only
    works in the main thread, so they are switched off (``parsing_timeout=None``,
    ``timeout_seconds=None``); run it through :func:`run_with_timeout` (as :func:`math_verify_grade`
    does) to bound its time. Any exception counts as wrong.
    """
    from math_verify import parse, verify

    logging.getLogger("math_verify").setLevel(logging.ERROR)  # it warns on every call that timeouts are off
    gold_text = str(reference)
    if "$" not in gold_text and "\\boxed" not in gold_text:
        gold_text = f"${gold_text}$"
    try:
        gold = parse(gold_text, parsing_timeout=None)
        pred = parse(prediction_text, parsing_timeout=None)
        return bool(verify(gold, pred, timeout_seconds=None))
    except Exception:
        return False


def math_verify_grade(responses: Sequence[str], references: Sequence[str],
                      timeout_s: float = DEFAULT_TIMEOUT_S, workers: int = 1) -> list[dict]:
    """:func:`math_verify_correct` for many items in the worker pool, ``timeout_s`` each; returns
    ``{"correct", "timeout"}`` per item (a timeout is wrong)."""
    if len(responses) != len(references):
        raise ValueError(f"{len(responses)} responses for {len(references)} references")
    outcomes = run_with_timeout(math_verify_correct, list(zip(responses, references)), timeout_s, workers=workers)
    return [{"correct": bool(value) and not timed_out, "timeout": timed_out} for value, timed_out in outcomes]
