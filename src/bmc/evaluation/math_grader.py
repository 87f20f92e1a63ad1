"""The official math harness's grader and scoring loop (official ``eval/math/eval/grader.py`` and
``eval/math/eval/evaluate.py``, the paper's experimental setup), reimplemented and tested; math-verify beside it.

This module reproduces the grader half of the JiuZhang3.0 copy of the ToRA / math-evaluation-harness code
(``docs/official-code.md`` section 1.2; the parser half is :mod:`bmc.evaluation.math_parser`):

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

DEFAULT_TIMEOUT_S = 3.0  # evaluate.py: pool.map(math_equal_process, params, timeout=3)


class GradingTimeout(TimeoutError):
    """A comparison ran past its time limit. The official harness counts it as wrong and counts it."""


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
