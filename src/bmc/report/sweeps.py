"""The two sweeps of the paper's figures as tables: DPO-BMC against the clamp δ (paper Figure 3 of the
submission, Figure 4 of the camera-ready) and the edit-distance splits (Figure 5), from this run's score
files and training logs, with the paper's values (``bmc/report/paper/paper_*.csv``) beside them.

A score is a task's average accuracy (the official comparison, as Table 1), ``score_normalized`` the
corrected one. The gradient norm is the Trainer's logged pre-clipping norm (``grad_norm`` in a run's
``log_history``); the Trainer logs it every ``logging_steps`` optimiser steps (10 here), so a run's mean is
over those steps and ``grad_norm_logged_steps`` says how many. A run with none logged has NaN: never filled.
"""

from __future__ import annotations

import math
from importlib import resources
from io import StringIO

import pandas as pd

DELTA_COLUMNS = ["task", "delta", "method", "score", "score_normalized", "mean_grad_norm", "grad_norm_logged_steps",
                 "steps", "source", "reference_method", "reference_score", "sft_score"]
EDIT_DISTANCE_COLUMNS = ["task", "split", "pairs", "distance_min", "distance_max", "distance_mean",
                         "bridged_distance_mean", "method", "trains_on", "distance_trained", "score",
                         "score_normalized", "mean_grad_norm", "grad_norm_logged_steps", "steps", "sft_score"]


def _paper_csv(name: str) -> pd.DataFrame:
    text = resources.files("bmc.report").joinpath(f"paper/{name}").read_text(encoding="utf-8")
    return pd.read_csv(StringIO(text), comment="#")


def load_paper_delta() -> pd.DataFrame:
    """The paper's δ ablation: DPO-BMC rows (delta, qa_avg) and the DPO reference row (delta empty)."""
    return _paper_csv("paper_delta_sweep.csv")


def load_paper_edit_distance() -> pd.DataFrame:
    """The paper's Figure 5: split, method, pairs, edit_distance, score (AlpacaEval 2 LC %), grad_norm."""
    return _paper_csv("paper_edit_distance_splits.csv")


def grad_norm_stats(log_history: list[dict]) -> tuple[float, int]:
    """(mean, count) of the gradient norms a training run logged; (NaN, 0) when none was logged."""
    norms = [float(h["grad_norm"]) for h in log_history if h.get("grad_norm") is not None]
    norms = [n for n in norms if math.isfinite(n)]
    return (sum(norms) / len(norms), len(norms)) if norms else (float("nan"), 0)


def _run_columns(run_info: dict) -> dict:
    result = run_info["result"]
    mean, n = grad_norm_stats(result.get("log_history", []))
    return {"mean_grad_norm": mean, "grad_norm_logged_steps": n, "steps": result.get("steps")}


def _score_columns(scores: dict) -> dict:
    return {"score": scores["average"], "score_normalized": scores.get("average_normalized")}


def delta_frame(points: list[dict]) -> pd.DataFrame:
    """One row per (task, δ). Each point: task, delta, method (label), source ("sweep" or "main study"),
    scores and run_info (the trained model's), reference_method (label), reference_scores, sft_scores."""
    rows = []
    for p in points:
        rows.append({"task": p["task"], "delta": float(p["delta"]), "method": p["method"],
                     **_score_columns(p["scores"]), **_run_columns(p["run_info"]), "source": p["source"],
                     "reference_method": p["reference_method"], "reference_score": p["reference_scores"]["average"],
                     "sft_score": p["sft_scores"]["average"]})
    frame = pd.DataFrame(rows, columns=DELTA_COLUMNS)
    return frame.sort_values(["task", "delta"], kind="stable").reset_index(drop=True)


def edit_distance_frame(points: list[dict]) -> pd.DataFrame:
    """One row per (task, split, method). Each point: task, the split's summary (from
    :func:`bmc.analysis.splits.split_pairs`), method (label), trains_on ("original" or "bridged"), scores, run_info,
    sft_scores."""
    rows = []
    for p in points:
        s = p["split"]
        trained = s["distance_mean"] if p["trains_on"] == "original" else s["bridged_distance_mean"]
        rows.append({"task": p["task"], "split": s["split"], "pairs": s["pairs"], "distance_min": s["distance_min"],
                     "distance_max": s["distance_max"], "distance_mean": s["distance_mean"],
                     "bridged_distance_mean": s["bridged_distance_mean"], "method": p["method"],
                     "trains_on": p["trains_on"], "distance_trained": trained, **_score_columns(p["scores"]),
                     **_run_columns(p["run_info"]), "sft_score": p["sft_scores"]["average"]})
    return pd.DataFrame(rows, columns=EDIT_DISTANCE_COLUMNS)
