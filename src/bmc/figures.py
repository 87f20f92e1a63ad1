"""Figures with matplotlib (no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bmc.io import atomic_path  # noqa: E402


def table1_figure(frame: pd.DataFrame, setups, study: str, out_path: str | Path) -> None:
    """Two panels: this run's setup averages by method, and the paper's, each with its SFT level marked."""
    methods = list(frame.index)
    panels = [
        (f"This run: {study} study", [f"{s.label} Avg" for s in setups], [s.label for s in setups]),
        ("Paper, Table 1 (Llama-2-7B-base)", [f"paper {s.paper_setup} Avg" for s in setups],
         [s.paper_setup for s in setups]),
    ]
    colors = ["#4C72B0", "#DD8452", "#55A868", "#C44E52"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    width = 0.8 / max(len(setups), 1)
    x = np.arange(len(methods))
    for ax, (title, cols, names) in zip(axes, panels):
        values = frame[cols].to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        for k, (col, name) in enumerate(zip(cols, names)):
            bars = ax.bar(x + (k - (len(cols) - 1) / 2) * width, frame[col], width, label=f"{name} avg",
                          color=colors[k % len(colors)])
            ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=1)
            if "SFT" in frame.index and np.isfinite(frame.loc["SFT", col]):
                ax.axhline(frame.loc["SFT", col], color=colors[k % len(colors)], lw=0.8, ls="--")
        ax.set_xticks(x, methods, rotation=20)
        ax.set_ylabel("accuracy (%)")
        ax.set_title(title, fontsize=10)
        if finite.size:
            lo, hi = finite.min(), finite.max()
            pad = max(2.0, 0.15 * (hi - lo))
            ax.set_ylim(max(0.0, lo - 3 * pad), min(100.0, hi + pad))
        ax.legend(fontsize=8, loc="upper left")
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("Table 1: SFT and preference methods (dashed: SFT level)", fontsize=11)
    out_path = Path(out_path)
    with atomic_path(out_path) as tmp:
        fig.savefig(tmp, format=out_path.suffix.lstrip(".") or "png", dpi=150)
    plt.close(fig)
