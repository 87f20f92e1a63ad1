"""Table 1 beside the paper's numbers: this run's accuracies per test set and setup average, and the
paper's Table 1 rows for the same methods (Llama-2-7B-base), clearly labelled as such."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from io import StringIO

import pandas as pd


@dataclass(frozen=True)
class SetupColumns:
    task: str          # task id in the study config (e.g. "qa")
    label: str         # column prefix in the table (e.g. "QA")
    paper_setup: str   # the paper setup it stands in for: "QA" or "Math"
    test_sets: tuple[str, ...]


def load_paper_table1() -> pd.DataFrame:
    text = resources.files("bmc").joinpath("data/paper_table1.csv").read_text(encoding="utf-8")
    return pd.read_csv(StringIO(text), comment="#").set_index("method")


def table1_frame(scores: dict[tuple[str, str], dict], setups: list[SetupColumns], methods: list[str]) -> pd.DataFrame:
    """Rows = methods (in the given order); columns = each setup's test sets, its average, and the paper's
    average for the same method and setup. ``scores[(task, method)]`` is an evaluation summary (see
    :func:`bmc.evaluation.summarize`); a missing score stays missing (NaN), it is never filled."""
    paper = load_paper_table1()
    rows = []
    for method in methods:
        row = {"method": method}
        for s in setups:
            summary = scores.get((s.task, method))
            for ts in s.test_sets:
                row[f"{s.label} {ts}"] = summary["test_sets"][ts]["accuracy"] if summary else float("nan")
            row[f"{s.label} Avg"] = summary["average"] if summary else float("nan")
        for s in setups:
            col = f"{s.paper_setup} Avg"
            row[f"paper {col}"] = paper.loc[method, col] if method in paper.index else float("nan")
        rows.append(row)
    return pd.DataFrame(rows).set_index("method")


def table1_markdown(frame: pd.DataFrame, setups: list[SetupColumns], study: str, notes: list[str]) -> str:
    ours = frame[[c for c in frame.columns if not c.startswith("paper ")]]
    paper = load_paper_table1()
    paper_rows = paper.loc[[m for m in frame.index if m in paper.index]]
    paper_setups = list(dict.fromkeys(s.paper_setup for s in setups))
    paper_cols = [c for c in paper.columns if any(c == f"{p} Avg" or _belongs(c, p) for p in paper_setups)]
    delta = ours.sub(ours.loc["SFT"], axis=1) if "SFT" in ours.index else None
    parts = [
        f"# Table 1: {study} study",
        "",
        f"## This run ({study} study): accuracy (%)",
        "",
        ours.to_markdown(floatfmt=".1f"),
        "",
    ]
    if delta is not None:
        parts += ["### Change vs SFT (points)", "", delta.to_markdown(floatfmt="+.1f"), ""]
    parts += [
        "## Paper, Table 1 (Llama-2-7B-base; not this run): accuracy (%)",
        "",
        paper_rows[paper_cols].to_markdown(floatfmt=".1f"),
        "",
        "## Notes",
        "",
        *[f"- {n}" for n in notes],
        "",
    ]
    return "\n".join(parts)


_PAPER_SETS = {"QA": ("ECQA", "QASC", "OBQA", "StrategyQA"), "Math": ("GSM8k", "MATH", "MAWPS", "TabMWP")}


def _belongs(column: str, setup: str) -> bool:
    return column in _PAPER_SETS.get(setup, ())
