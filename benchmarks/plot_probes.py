#!/usr/bin/env python3
"""The sweep figure of the tiny study's calibration: accuracy change against train and held-out reward accuracy.

    python benchmarks/plot_probes.py [--probes docs/data/preference_probes.jsonl] [--out docs/img/preference_probes.png]

One point per probe (``benchmarks/preference_probe.py``; DPO only), coloured by the version of the task and the pairs
it trained on, with the pre-registered bars drawn in (docs/methods.md).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--probes", type=Path, default=ROOT / "docs/data/preference_probes.jsonl")
    ap.add_argument("--out", type=Path, default=ROOT / "docs/img/preference_probes.png")
    a = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in a.probes.read_text().splitlines()]
    versions = list(dict.fromkeys(r["task_version"] for r in rows))
    colors = dict(zip(versions, plt.get_cmap("tab10").colors))
    markers = {"math": "o", "qa": "s"}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), sharey=True)
    for ax, key, bar, label in ((axes[0], "train_acc_last", 0.75, "train reward accuracy, last logged step"),
                                (axes[1], "heldout_acc", 0.60, "held-out reward accuracy (Table 4's measure)")):
        for r in rows:
            ax.scatter(r[key], r["delta_vs_sft"], color=colors[r["task_version"]], marker=markers[r["task"]],
                       s=36, edgecolor="black", linewidth=0.4)
        ax.axvline(bar, color="grey", linestyle="--", linewidth=1)
        ax.axhline(-1, color="grey", linestyle=":", linewidth=1)
        ax.axhline(0, color="black", linewidth=0.5)
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("setup-average accuracy − SFT (points)")
    handles = [plt.Line2D([], [], color=c, marker="o", linestyle="", label=v) for v, c in colors.items()]
    handles += [plt.Line2D([], [], color="grey", marker=m, linestyle="", label=t.upper() if t == "qa" else t)
                for t, m in markers.items()]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.suptitle("DPO probes of the tiny study's preference stage (one seed each; dashed: pre-registered bars)",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    a.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(a.out, dpi=120)
    print(a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
