"""Paired difference to DPO (Table 1): point estimate, bootstrap interval, determinism, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from bmc.analysis.significance import correctness, paired_difference


def _runs(rng, p_by_set, seeds=3, n=400):
    return [{name: (rng.random(n) < p).astype(np.int8) for name, p in p_by_set.items()} for _ in range(seeds)]


def test_point_estimate_is_the_difference_of_setup_averages():
    rng = np.random.default_rng(1)
    a, b = _runs(rng, {"x": 0.6, "y": 0.3}), _runs(rng, {"x": 0.5, "y": 0.3})
    d = paired_difference(a, b, "BMC", "DPO", "QA", resamples=2000)
    avg = lambda runs: np.mean([np.mean([r[k].mean() for k in ("x", "y")]) for r in runs])  # noqa: E731
    assert d.diff == pytest.approx(100 * (avg(a) - avg(b)))
    assert (d.method, d.reference, d.setup, d.seeds, d.questions) == ("BMC", "DPO", "QA", 3, 800)
    assert d.low < d.diff < d.high


def test_identical_methods_give_zero_and_a_degenerate_interval():
    runs = _runs(np.random.default_rng(2), {"x": 0.5})
    d = paired_difference(runs, runs)
    assert (d.diff, d.low, d.high, d.significant) == (0.0, 0.0, 0.0, False)


def test_a_clear_gain_is_significant_and_no_gain_is_not():
    rng = np.random.default_rng(3)
    base = _runs(rng, {"x": 0.4})
    better = [{"x": np.maximum(r["x"], (rng.random(400) < 0.1).astype(np.int8))} for r in base]  # only fixes errors
    assert paired_difference(better, base).significant
    noise = _runs(rng, {"x": 0.4})
    d = paired_difference(noise, base)
    assert d.low < 0 < d.high and not d.significant


def test_interval_width_matches_the_normal_approximation_with_one_seed():
    rng = np.random.default_rng(4)
    a, b = _runs(rng, {"x": 0.5}, seeds=1, n=2000), _runs(rng, {"x": 0.5}, seeds=1, n=2000)
    d = paired_difference(a, b, resamples=4000)
    diff = a[0]["x"].astype(float) - b[0]["x"]
    half = 1.96 * 100 * diff.std(ddof=1) / np.sqrt(len(diff))
    assert (d.high - d.low) / 2 == pytest.approx(half, rel=0.1)


def test_same_inputs_give_the_same_bytes():
    rng = np.random.default_rng(5)
    a, b = _runs(rng, {"x": 0.5, "y": 0.4}), _runs(rng, {"x": 0.45, "y": 0.4})
    assert paired_difference(a, b) == paired_difference(a, b)


def test_bad_inputs_fail_clearly():
    rng = np.random.default_rng(6)
    a = _runs(rng, {"x": 0.5})
    with pytest.raises(ValueError, match="same seeds"):
        paired_difference(a, a[:2])
    with pytest.raises(ValueError, match="different number of questions"):
        paired_difference(a, [{"x": r["x"][:10]} for r in a])
    with pytest.raises(ValueError, match="test sets"):
        paired_difference(a, [{"y": r["x"]} for r in a])
    with pytest.raises(ValueError, match=r"p\.jsonl, row 2, field 'test_set'"):
        correctness([{"test_set": "x", "correct": True}, {"test_set": "z", "correct": False}], ["x"], "p.jsonl")


def test_correctness_keeps_file_order_per_test_set():
    preds = [{"test_set": "b", "correct": True}, {"test_set": "a", "correct": False}, {"test_set": "b", "correct": False}]
    got = correctness(preds, ["a", "b"])
    assert list(got) == ["a", "b"] and got["b"].tolist() == [1, 0] and got["a"].tolist() == [0]
