"""The paper's figures with matplotlib (no display needed): Table 1 as bars, the δ sweep, the edit-distance
splits (Figure 5), the KL curves (Figure 4), the token rewards (Figure 6) and the preference training curves."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bmc.io import atomic_path  # noqa: E402


def table1_figure(frame: pd.DataFrame, study: str, out_paths) -> None:
    """One panel per setup: each method's change in average accuracy over SFT, in points, this run beside
    the paper's Table 1 (the two are on very different scales; the comparison is of shape). ``frame`` is the
    tidy Table 1 (:func:`bmc.report.paper_tables.compare`); methods this run lacks are left out."""
    avg = frame[frame["column"] == "Avg"]
    setups = [s for s in dict.fromkeys(avg["setup"]) if avg.loc[avg["setup"] == s, "ours"].notna().any()]
    fig, axes = plt.subplots(1, len(setups), figsize=(5.2 * len(setups), 4.0), constrained_layout=True,
                             squeeze=False)
    width = 0.38
    for ax, setup in zip(axes[0], setups):
        part = avg[avg["setup"] == setup].set_index("row")
        methods = [m for m in part.index if m != "SFT" and pd.notna(part.loc[m, "ours"])]
        x = np.arange(len(methods))
        ours = part["ours"] - part.loc["SFT", "ours"]
        paper = part["paper"] - part.loc["SFT", "paper"]
        # error bars: the sample std over the method's seeds (the std column; none with one seed)
        spread = part["std"][methods].to_numpy(float) if "std" in part else np.full(len(methods), np.nan)
        seeds_note = ", ± std over seeds" if np.isfinite(spread).any() else ""
        b1 = ax.bar(x - width / 2, ours[methods], width, label=f"this run ({study} study{seeds_note})", color="#4C72B0",
                    yerr=np.where(np.isfinite(spread), spread, 0.0) if np.isfinite(spread).any() else None,
                    capsize=3, error_kw={"elinewidth": 1, "ecolor": "#222222"})
        b2 = ax.bar(x + width / 2, paper[methods], width, label="paper (Llama-2-7B-base)", color="#BBBBBB",
                    edgecolor="#777777", hatch="//")
        ax.bar_label(b1, fmt="%+.1f", fontsize=8, padding=2)
        ax.bar_label(b2, fmt="%+.1f", fontsize=8, padding=2)
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xticks(x, methods, rotation=30 if len(methods) > 5 else 0, ha="right" if len(methods) > 5 else "center")
        ax.set_ylabel("change in average accuracy vs SFT (points)")
        ax.set_title(f"{setup}: SFT {part.loc['SFT', 'ours']:.1f}% (this run), "
                     f"{part.loc['SFT', 'paper']:.1f}% (paper)", fontsize=10)
        spread = np.where(np.isfinite(spread), spread, 0.0)
        values = np.concatenate([ours[methods].to_numpy(float) - spread, ours[methods].to_numpy(float) + spread,
                                 paper[methods].to_numpy(float)])
        values = values[np.isfinite(values)]
        if values.size:
            lo, hi = min(values.min(), 0.0), max(values.max(), 0.0)
            pad = 0.15 * max(hi - lo, 1.0)
            ax.set_ylim(lo - pad, hi + 2 * pad)
        ax.legend(fontsize=8, loc="upper left", frameon=False)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("Table 1: preference methods after SFT, this run beside the paper", fontsize=11)
    save_figure(fig, out_paths)


def save_figure(fig, out_paths) -> None:
    """Save one figure to each path (format from the suffix: png at 150 dpi, pdf), atomically; close it."""
    for out_path in [out_paths] if isinstance(out_paths, (str, Path)) else out_paths:
        out_path = Path(out_path)
        with atomic_path(out_path) as tmp:
            fig.savefig(tmp, format=out_path.suffix.lstrip(".") or "png", dpi=150)
    plt.close(fig)


# ------------------------------------------------------------------------------------- sweeps (δ, splits)
METHOD_COLORS = {"DPO": "#4C72B0", "DPO-BC": "#55A868", "DPO-MC": "#C44E52", "DPO-BMC": "#8172B2"}


def _method_color(label: str, i: int) -> str:
    return METHOD_COLORS.get(label, plt.get_cmap("tab10")(i % 10))


def _pad_ylim(ax, values, pad_frac=0.12, min_span=1.0) -> None:
    values = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if values.size:
        lo, hi = values.min(), values.max()
        pad = pad_frac * max(hi - lo, min_span)
        ax.set_ylim(lo - pad, hi + 2 * pad)


def delta_figure(frame: pd.DataFrame, paper: pd.DataFrame | None, own_delta: dict, task_labels: dict, study: str,
                 out_paths) -> None:
    """Score against δ, one panel per task (:func:`bmc.report.sweeps.delta_frame`), the reference method's score as
    a dashed line and SFT's as a dotted one; the paper's QA curve (read from its plot) in a last panel."""
    tasks = list(dict.fromkeys(frame["task"]))
    n = len(tasks) + (paper is not None)
    fig, axes = plt.subplots(1, n, figsize=(4.8 * n, 4.0), constrained_layout=True, squeeze=False)
    for ax, task in zip(axes[0], tasks):
        part = frame[frame["task"] == task]
        method, ref = part["method"].iloc[0], part["reference_method"].iloc[0]
        ref_score, sft_score = part["reference_score"].iloc[0], part["sft_score"].iloc[0]
        ax.plot(part["delta"], part["score"], "o-", color=_method_color(method, 0), label=f"{method} (this run)")
        for d, s in zip(part["delta"], part["score"]):
            ax.annotate(f"{s:.1f}", (d, s), textcoords="offset points", xytext=(0, 7), ha="center", fontsize=8)
        ax.axhline(ref_score, color=_method_color(ref, 1), ls="--", lw=1.2, label=f"{ref}: {ref_score:.1f}")
        ax.axhline(sft_score, color="#777777", ls=":", lw=1.2, label=f"SFT: {sft_score:.1f}")
        if task in own_delta:
            ax.axvline(own_delta[task], color="#BBBBBB", lw=6, alpha=0.4, zorder=0,
                       label=f"δ of the main study ({own_delta[task]:g})")
        ax.set_xticks(part["delta"])
        ax.set_xlabel("δ (clamp of the BMC token weight)")
        ax.set_ylabel("average accuracy (%)")
        ax.set_title(f"{task_labels.get(task, task)}: this run ({study} study)", fontsize=10)
        _pad_ylim(ax, [*part["score"], ref_score, sft_score])
        ax.legend(fontsize=8, loc="lower right", frameon=False)
        ax.grid(alpha=0.3)
    if paper is not None:
        ax = axes[0][-1]
        bmc = paper[paper["delta"].notna()].sort_values("delta")
        dpo = paper.loc[paper["delta"].isna(), "qa_avg"]
        ax.plot(bmc["delta"], bmc["qa_avg"], "o-", color=METHOD_COLORS["DPO-BMC"], label="DPO-BMC (paper)")
        for d, s in zip(bmc["delta"], bmc["qa_avg"]):
            ax.annotate(f"{s:.1f}", (d, s), textcoords="offset points", xytext=(0, 7), ha="center", fontsize=8)
        if len(dpo):
            ax.axhline(dpo.iloc[0], color=METHOD_COLORS["DPO"], ls="--", lw=1.2, label=f"DPO: {dpo.iloc[0]:.1f}")
        ax.set_xticks(bmc["delta"])
        ax.set_xlabel("δ (clamp of the BMC token weight)")
        ax.set_ylabel("QA average accuracy (%)")
        ax.set_title("paper: QA, Llama-2-7B-base (read from its plot)", fontsize=10)
        _pad_ylim(ax, [*bmc["qa_avg"], *dpo])
        ax.legend(fontsize=8, loc="lower right", frameon=False)
        ax.grid(alpha=0.3)
    fig.suptitle("δ sweep: DPO-BMC's score against the clamp δ (paper Figure 3/4)", fontsize=11)
    save_figure(fig, out_paths)


def _split_ticks(ax, splits, first, second=None) -> None:
    labels = [f"{s}\n{a:.2f}" + (f" / {b:.2f}" if second is not None else "")
              for s, a, b in zip(splits, first, second if second is not None else first)]
    ax.set_xticks(list(splits), labels, fontsize=8)


def edit_distance_figure(frame: pd.DataFrame, paper: pd.DataFrame | None, task_labels: dict, study: str,
                         out_paths) -> None:
    """Edit-distance splits (:func:`bmc.report.sweeps.edit_distance_frame`): per task, each method's score (top) and
    mean gradient norm during training (bottom) per split, x labelled with the split's mean normalised edit
    distance of the original / bridged pair; the paper's Figure 5 (AlpacaEval 2 LC) in a last column."""
    tasks = list(dict.fromkeys(frame["task"]))
    n = len(tasks) + (paper is not None)
    fig, axes = plt.subplots(2, n, figsize=(4.8 * n, 7.2), constrained_layout=True, squeeze=False)
    for col, task in enumerate(tasks):
        part = frame[frame["task"] == task]
        top, bottom = axes[0][col], axes[1][col]
        for i, (method, rows) in enumerate(part.groupby("method", sort=False)):
            color = _method_color(method, i)
            label = f"{method} ({rows['trains_on'].iloc[0]} pairs)"
            top.plot(rows["split"], rows["score"], "o-", color=color, label=label)
            bottom.plot(rows["split"], rows["mean_grad_norm"], "o-", color=color, label=label)
        sft = part["sft_score"].iloc[0]
        top.axhline(sft, color="#777777", ls=":", lw=1.2, label=f"SFT: {sft:.1f}")
        per_split = part.drop_duplicates("split").sort_values("split")
        for ax in (top, bottom):
            _split_ticks(ax, per_split["split"], per_split["distance_mean"], per_split["bridged_distance_mean"])
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8, frameon=False)
        _pad_ylim(top, [*part["score"], sft])
        _pad_ylim(bottom, part["mean_grad_norm"], min_span=0.05)
        top.set_title(f"{task_labels.get(task, task)}: this run ({study} study), "
                      f"{int(per_split['pairs'].sum())} pairs", fontsize=10)
        top.set_ylabel("average accuracy (%)")
        bottom.set_ylabel("mean gradient norm during training")
        logged = part["grad_norm_logged_steps"]
        bottom.set_title(f"gradient norm: mean of {logged.min()}–{logged.max()} logged steps per run", fontsize=9)
        bottom.set_xlabel("split (mean edit distance: original / bridged pair)")
    if paper is not None:
        top, bottom = axes[0][-1], axes[1][-1]
        for i, (method, rows) in enumerate(paper.groupby("method", sort=False)):
            color = _method_color(method, i)
            label = f"{method} ({rows['pairs'].iloc[0]} pairs)"
            top.plot(rows["split"], rows["score"], "o-", color=color, label=label)
            bottom.plot(rows["split"], rows["grad_norm"], "o-", color=color, label=label)
        original = paper[paper["pairs"] == "original"].drop_duplicates("split").sort_values("split")
        bridged = paper[paper["pairs"] == "bridged"].drop_duplicates("split").sort_values("split")
        for ax in (top, bottom):
            _split_ticks(ax, original["split"], original["edit_distance"], bridged["edit_distance"].to_numpy())
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8, frameon=False)
        top.set_title("paper Figure 5: UltraFeedback, Llama-3-8B", fontsize=10)
        top.set_ylabel("AlpacaEval 2 LC win rate (%)")
        bottom.set_ylabel("average gradient norm")
        bottom.set_xlabel("split (mean edit distance: original / bridged pair)")
    fig.suptitle("Edit-distance splits: pairs sorted by normalised edit distance of (y_w, y_l), "
                 "one model per split and method (paper Figure 5)", fontsize=11)
    save_figure(fig, out_paths)


# ------------------------------------------------------------------------------------- analyses (KL, token rewards)
def kl_figure(frame: pd.DataFrame, task_labels: dict, study: str, out_paths) -> None:
    """KL(π_ref ‖ π_θ) per token on held-out chosen responses against the optimizer step, one line per method,
    one panel per task (:func:`bmc.analysis.rewards.kl_frame`); the paper's values at the end of training (read from
    its Figure 4, IF setup) in the caption line."""
    tasks = list(dict.fromkeys(frame["task"]))
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.2 * len(tasks), 4.0), constrained_layout=True,
                             squeeze=False)
    for ax, task in zip(axes[0], tasks):
        part = frame[frame["task"] == task]
        for i, (method, rows) in enumerate(part.groupby("method", sort=False)):
            rows = rows.sort_values("step")
            ax.plot(rows["step"], rows["kl"], "o-", ms=3, color=_method_color(method, i),
                    label=f"{method}: {rows['kl'].iloc[-1]:.3g} at step {rows['step'].iloc[-1]}")
        ax.set_xlabel("optimizer step")
        ax.set_ylabel("KL(π_ref ‖ π_θ) per token, held-out y_w (nats)")
        ax.set_title(f"{task_labels.get(task, task)}: this run ({study} study)", fontsize=10)
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8, frameon=False, loc="upper left")
        ax.grid(alpha=0.3)
    fig.suptitle("KL from the reference on held-out chosen responses during training (paper Figure 4)\n"
                 "paper, IF setup at ~step 450: DPO-BC 0.39 > DPO-BMC 0.30 > DPO 0.17 > DPO-MC 0.09", fontsize=10)
    save_figure(fig, out_paths)


def _token_rows(tokens: list[str], per_row: int) -> list[list[int]]:
    return [list(range(i, min(i + per_row, len(tokens)))) for i in range(0, len(tokens), per_row)]


def token_rewards_figure(data: dict, task_label: str, max_tokens: int, study: str, out_paths,
                         per_row: int = 16) -> None:
    """Heat map of per-token rewards β·log(π_θ/π_ref) of one held-out pair (:mod:`scripts.token_rewards`): one
    block per method and response (y_w, y_l), each token a cell coloured by its reward on one diverging scale
    centred at 0 shared by all blocks, the token's text in the cell and the reward under it; marked (differing)
    tokens framed. Above it, the mechanism over all held-out pairs: each method's mean token reward on the marked
    and the unmarked tokens of y_w and of y_l."""
    from matplotlib.colors import TwoSlopeNorm

    blocks = []
    for m in data["methods"].values():
        for side, name in (("chosen", "y_w (chosen)"), ("rejected", "y_l (rejected)")):
            tokens, rewards = m[side]["tokens"][:max_tokens], m[side]["rewards"][:max_tokens]
            marks = (m[side].get("marks") or [0] * len(tokens))[:max_tokens]
            cut = len(m[side]["tokens"]) - len(tokens)
            blocks.append((f"{m['label']}: {name}" + (f" (first {max_tokens} tokens, {cut} more)" if cut else ""),
                           tokens, rewards, sum(m[side]["rewards"]), marks))
    mechanism = [(m["label"], m["mechanism"]) for m in data["methods"].values() if "mechanism" in m]
    values = np.array([r for _, _, rs, _, _ in blocks for r in rs] or [0.0])
    bound = float(np.max(np.abs(values))) or 1.0
    exponent = int(np.floor(np.log10(bound)))
    scale = 10.0 ** -exponent if exponent < -1 else 1.0  # cell labels in units of 10^exponent when tiny
    unit = f" (cells ×10^{exponent})" if scale != 1.0 else ""
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-bound, vmax=bound)
    cmap = plt.get_cmap("RdBu_r")
    n_rows = sum(len(_token_rows(t, per_row)) for _, t, _, _, _ in blocks)
    table_h = 0.2 * (len(mechanism) + 3) if mechanism else 0.0  # inches of the mechanism table
    height = 0.62 * n_rows + 0.55 * len(blocks) + 1.6 + table_h
    fig = plt.figure(figsize=(per_row * 0.78 + 1.2, height))
    top = 0.92 - table_h / height
    ax = fig.add_axes([0.01, 0.13 * (height - table_h) / height, 0.98, top - 0.13 * (height - table_h) / height])
    ax.set_axis_off()
    total = n_rows * 1.0 + len(blocks) * 0.9
    ax.set_xlim(0, per_row)
    ax.set_ylim(total, 0)
    y = 0.0
    for title, tokens, rewards, seq_reward, marks in blocks:
        ax.text(0, y + 0.55, f"{title}: sequence reward {seq_reward:+.3g}", fontsize=9, weight="bold", va="bottom")
        y += 0.9
        for row in _token_rows(tokens, per_row):
            for j, k in enumerate(row):
                shade = float(norm(rewards[k]))
                ax.add_patch(plt.Rectangle((j + 0.03, y + 0.05), 0.94, 0.9, facecolor=cmap(shade),
                                           edgecolor="#F5A000" if marks[k] else "none", lw=2.4 if marks[k] else 0))
                ink = "white" if abs(shade - 0.5) > 0.32 else "black"
                text = tokens[k].replace("\n", "⏎").replace("$", r"\$") or "∅"
                ax.text(j + 0.5, y + 0.38, text, ha="center", va="center", fontsize=7, family="monospace",
                        clip_on=True, color=ink)
                ax.text(j + 0.5, y + 0.78, f"{rewards[k] * scale:+.2f}", ha="center", va="center", fontsize=5.5,
                        color=ink)
            y += 1.0
    sm = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
    cax = fig.add_axes([0.25, 0.085, 0.5, 0.018])
    fig.colorbar(sm, cax=cax, orientation="horizontal").set_label(f"token reward β·log(π_θ/π_ref){unit}",
                                                                  fontsize=8)
    problem = " ".join(data["problem"].split())
    fig.suptitle(f"Token-level rewards, {task_label}, held-out pair {data['row']} (this run, {study} study; "
                 f"paper Figure 6; framed in amber: marked tokens)\n"
                 f"{problem[:110]}{'…' if len(problem) > 110 else ''}",
                 fontsize=9)
    if mechanism:
        def cell(entry):
            return f"{entry['mean']:+.4f} ({entry['tokens']})" if entry["mean"] is not None else "— (0)"

        lines = [f"Mean token reward over all {mechanism[0][1]['pairs']} held-out pairs (tokens):",
                 f"{'method':<10}{'y_w marked':>20}{'y_w unmarked':>20}{'y_l marked':>20}{'y_l unmarked':>20}"]
        lines += [f"{label:<10}{cell(s['chosen_marked']):>20}{cell(s['chosen_unmarked']):>20}"
                  f"{cell(s['rejected_marked']):>20}{cell(s['rejected_unmarked']):>20}" for label, s in mechanism]
        fig.text(0.5, top + 0.005, "\n".join(lines), ha="center", va="bottom", fontsize=7.5, family="monospace")
    save_figure(fig, out_paths)


# ------------------------------------------------------------------------------------- training curves
def training_curves_figure(runs: list[dict], task_labels: dict[str, str], study: str, out_paths) -> None:
    """One row per task, one column per logged metric (loss, train reward accuracy, logps of chosen and
    rejected); a line per method and seed (seeds of a method share its colour). ``runs``: ``{task, method, label,
    seed, curve}`` with ``curve`` from :func:`bmc.analysis.training.curves`."""
    tasks = list(dict.fromkeys(r["task"] for r in runs))
    methods = list(dict.fromkeys(r["method"] for r in runs))
    palette = plt.get_cmap("tab10" if len(methods) <= 10 else "tab20")
    colors = {m: palette(i % palette.N) for i, m in enumerate(methods)}
    panels = [("loss", "train loss"), ("reward_accuracy", "train reward accuracy"),
              ("logps_chosen", "logps of chosen (solid) / rejected (dashed)")]
    fig, axes = plt.subplots(len(tasks), len(panels), figsize=(4.2 * len(panels), 3.0 * len(tasks)), squeeze=False)
    for i, task in enumerate(tasks):
        for j, (key, title) in enumerate(panels):
            ax = axes[i][j]
            for r in (r for r in runs if r["task"] == task):
                c = r["curve"]
                label = r["label"] if r["seed"] == min(x["seed"] for x in runs if x["method"] == r["method"]) else None
                ax.plot(c["step"], c[key], color=colors[r["method"]], linewidth=1, alpha=0.8, label=label)
                if key == "logps_chosen":
                    ax.plot(c["step"], c["logps_rejected"], color=colors[r["method"]], linewidth=1, alpha=0.8,
                            linestyle="--")
            if key == "loss":
                ax.axhline(np.log(2), color="grey", linestyle=":", linewidth=1)
            if key == "reward_accuracy":
                ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
            ax.set_title(f"{task_labels.get(task, task)}: {title}", fontsize=9)
            ax.set_xlabel("step", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7, loc="best")
    fig.suptitle(f"Preference training curves, every method and seed ({study}; dotted: ln 2 and chance)\n"
                 "At step 1 the policy is the reference: every reward is 0 and TRL counts the tie as not correct "
                 "(accuracy 0). Methods with BMC weights log weighted log-probs (what their loss sees).", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out_paths)
