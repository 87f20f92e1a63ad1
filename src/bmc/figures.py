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
    """One panel per setup: each method's change in average accuracy over SFT, in points, this run beside
    the paper's Table 1 (the two are on very different scales; the comparison is of shape)."""
    methods = [m for m in frame.index if m != "SFT"]
    fig, axes = plt.subplots(1, len(setups), figsize=(5.2 * len(setups), 4.0), constrained_layout=True,
                             squeeze=False)
    x = np.arange(len(methods))
    width = 0.38
    for ax, s in zip(axes[0], setups):
        ours_col, paper_col = f"{s.label} Avg", f"paper {s.paper_setup} Avg"
        ours = frame[ours_col] - frame.loc["SFT", ours_col]
        paper = frame[paper_col] - frame.loc["SFT", paper_col]
        b1 = ax.bar(x - width / 2, ours[methods], width, label=f"this run ({study} study)", color="#4C72B0")
        b2 = ax.bar(x + width / 2, paper[methods], width, label="paper (Llama-2-7B-base)", color="#BBBBBB",
                    edgecolor="#777777", hatch="//")
        ax.bar_label(b1, fmt="%+.1f", fontsize=8, padding=2)
        ax.bar_label(b2, fmt="%+.1f", fontsize=8, padding=2)
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xticks(x, methods)
        ax.set_ylabel("change in average accuracy vs SFT (points)")
        ax.set_title(f"{s.label}: SFT {frame.loc['SFT', ours_col]:.1f}% (this run), "
                     f"{frame.loc['SFT', paper_col]:.1f}% (paper)", fontsize=10)
        values = np.concatenate([ours[methods].to_numpy(float), paper[methods].to_numpy(float)])
        values = values[np.isfinite(values)]
        if values.size:
            lo, hi = min(values.min(), 0.0), max(values.max(), 0.0)
            pad = 0.15 * max(hi - lo, 1.0)
            ax.set_ylim(lo - pad, hi + 2 * pad)
        ax.legend(fontsize=8, loc="upper left", frameon=False)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("Table 1: preference methods after SFT, this run beside the paper", fontsize=11)
    out_path = Path(out_path)
    with atomic_path(out_path) as tmp:
        fig.savefig(tmp, format=out_path.suffix.lstrip(".") or "png", dpi=150)
    plt.close(fig)
