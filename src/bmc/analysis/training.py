"""Training diagnostics of preference training: what a researcher reads first when a method "does nothing", beside
the paper's Table 4 (held-out implicit rewards, §3.7) and the official trainer's logged metrics.

Per method, task and seed, from the run's own log (``run_info.json``: TRL's logged metrics), its held-out rewards
(Table 4's measure, paper §3.7) and its scores: the train loss first and last, the train reward accuracy and margin
at the last logged step, ``logps`` of chosen and rejected responses first -> last, the held-out reward accuracy and
margin, and the accuracy change against the SFT model. Optional pre-registered bars (``analysis.bars``) are judged
on one method, mean over seeds, per task. The training curves of every run (:func:`curves`) are drawn by
:func:`bmc.report.figures.training_curves_figure`.
"""

from __future__ import annotations

import math

import pandas as pd

# the logged metrics a row reads (TRL DPOTrainer's names) and what the row calls them
CURVE_KEYS = {"loss": "loss", "rewards/accuracies": "reward_accuracy", "rewards/margins": "reward_margin",
              "logps/chosen": "logps_chosen", "logps/rejected": "logps_rejected"}
COLUMNS = ["task", "method", "label", "seed", "steps", "loss_first", "loss_last", "train_reward_accuracy_last",
           "train_margin_last", "logps_chosen_first", "logps_chosen_last", "logps_rejected_first",
           "logps_rejected_last", "heldout_reward_accuracy", "heldout_margin", "heldout_logratio_margin", "beta",
           "accuracy", "sft_accuracy", "accuracy_vs_sft"]
BAR_METRICS = {  # bar name: (column, direction)
    "train_reward_accuracy": ("train_reward_accuracy_last", ">="),
    "train_loss": ("loss_last", "<="),
    "heldout_reward_accuracy": ("heldout_reward_accuracy", ">="),
    "heldout_margin": ("heldout_margin", ">="),
    "accuracy_vs_sft": ("accuracy_vs_sft", ">="),
}


def logged_steps(run_info: dict, where: str = "<run_info>") -> list[dict]:
    """The training log's entries that carry the loss (one per ``logging_steps``), in step order."""
    history = [h for h in run_info.get("result", {}).get("log_history", []) if "loss" in h]
    if not history:
        raise ValueError(f"{where}: no logged training step (result.log_history has no 'loss' entry)")
    return sorted(history, key=lambda h: h.get("step", 0))


def _get(entry: dict, key: str):
    value = entry.get(key)
    return None if value is None else float(value)


def run_row(task: str, method: str, label: str, seed: int, run_info: dict, scores: dict, sft_scores: dict,
            rewards: dict | None = None, where: str = "<run_info>") -> dict:
    """One run's diagnostics. ``rewards``: its held-out reward summary (bmc.analysis.rewards.reward_summary), or
    None where it was not measured."""
    history = logged_steps(run_info, where)
    first, last = history[0], history[-1]
    result = run_info["result"]
    beta = float(result.get("beta", math.nan))
    row = {"task": task, "method": method, "label": label, "seed": seed, "steps": result.get("steps"),
           "loss_first": _get(first, "loss"), "loss_last": _get(last, "loss"),
           "train_reward_accuracy_last": _get(last, "rewards/accuracies"),
           "train_margin_last": _get(last, "rewards/margins"),
           "logps_chosen_first": _get(first, "logps/chosen"), "logps_chosen_last": _get(last, "logps/chosen"),
           "logps_rejected_first": _get(first, "logps/rejected"),
           "logps_rejected_last": _get(last, "logps/rejected"), "beta": beta,
           "heldout_reward_accuracy": None, "heldout_margin": None, "heldout_logratio_margin": None,
           "accuracy": float(scores["average"]), "sft_accuracy": float(sft_scores["average"])}
    row["accuracy_vs_sft"] = row["accuracy"] - row["sft_accuracy"]
    if rewards is not None:
        row["heldout_reward_accuracy"] = float(rewards["accuracy"])
        row["heldout_margin"] = float(rewards["margin_mean"])
        row["heldout_logratio_margin"] = row["heldout_margin"] / beta if beta else None
    return row


def training_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS)


def bar_checks(frame: pd.DataFrame, bars: dict) -> pd.DataFrame:
    """Each pre-registered bar of ``bars`` (``{"method": m, <bar>: value or {task: value}}``) judged on method
    ``m``, mean over its seeds, per task: the mean, the bar, and whether it is met. A bar the runs cannot judge
    (a metric not measured) is reported as not met, never skipped."""
    method = bars["method"]
    lines = []
    for task, runs in frame[frame["method"] == method].groupby("task", sort=False):
        for name, (column, op) in BAR_METRICS.items():
            if name not in bars:
                continue
            bar = bars[name][task] if isinstance(bars[name], dict) else bars[name]
            values = runs[column].dropna()
            mean = float(values.mean()) if len(values) == len(runs) else math.nan
            met = (mean >= bar if op == ">=" else mean <= bar) if not math.isnan(mean) else False
            lines.append({"task": task, "method": method, "bar": name, "column": column, "mean_over_seeds": mean,
                          "seeds": len(runs), "rule": f"{op} {bar}", "met": bool(met)})
    if not lines:
        raise ValueError(f"analysis.bars: no run of method {method!r} to judge the bars on")
    return pd.DataFrame(lines)


def _fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.{digits}f}"


def markdown(frame: pd.DataFrame, checks: pd.DataFrame | None, study: str, task_labels: dict[str, str]) -> str:
    """The diagnostics as a reader sees them: one table per task (a row per method and seed), then the bars."""
    out = [f"# Training diagnostics of preference training ({study})", "",
           "Per run: train loss and the reward accuracy and margin at the first and last logged step (TRL's log), "
           "logps of chosen and rejected responses first → last, the implicit reward β·log(π_θ/π_ref) on the "
           "held-out pairs (Table 4's measure: reward accuracy, margin, and the margin divided by β), and the "
           "setup-average accuracy against the SFT model. For methods with BMC weights the logged logps, rewards and "
           "margins are of the weighted sums (what their loss sees); the held-out rewards are unweighted.", ""]
    for task, runs in frame.groupby("task", sort=False):
        out += [f"## {task_labels.get(task, task)}", "",
                "| method | seed | steps | loss first → last | train reward acc. (last) | train margin (last) | "
                "logps chosen | logps rejected | held-out reward acc. | held-out margin | margin / β | "
                "accuracy | vs SFT |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in runs.itertuples():
            out.append(
                f"| {r.label} | {r.seed} | {r.steps} | {_fmt(r.loss_first)} → {_fmt(r.loss_last)} | "
                f"{_fmt(r.train_reward_accuracy_last, 2)} | {_fmt(r.train_margin_last)} | "
                f"{_fmt(r.logps_chosen_first, 1)} → {_fmt(r.logps_chosen_last, 1)} | "
                f"{_fmt(r.logps_rejected_first, 1)} → {_fmt(r.logps_rejected_last, 1)} | "
                f"{_fmt(r.heldout_reward_accuracy, 3)} | {_fmt(r.heldout_margin, 4)} | "
                f"{_fmt(r.heldout_logratio_margin, 3)} | {_fmt(r.accuracy, 1)} | {r.accuracy_vs_sft:+.1f} |")
        out.append("")
    if checks is not None:
        out += ["## Pre-registered bars", "",
                f"Judged on {checks['method'].iloc[0]}, mean over its seeds, per task (`analysis.bars`; "
                "docs/methods.md says when and why they were fixed).", "",
                "| task | bar | metric | mean over seeds | rule | met |", "|---|---|---|---|---|---|"]
        for c in checks.itertuples():
            out.append(f"| {task_labels.get(c.task, c.task)} | {c.bar} | `{c.column}` | {_fmt(c.mean_over_seeds, 4)} "
                       f"| {c.rule} | {'yes' if c.met else '**no**'} |")
        out.append("")
    return "\n".join(out)


def curves(run_info: dict, where: str = "<run_info>") -> pd.DataFrame:
    """The logged training curve of one run: step and each of CURVE_KEYS that was logged."""
    rows = [{"step": h.get("step"), **{name: _get(h, key) for key, name in CURVE_KEYS.items()}}
            for h in logged_steps(run_info, where)]
    return pd.DataFrame(rows)
