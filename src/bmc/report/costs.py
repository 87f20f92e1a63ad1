"""What the study cost: wall time, CPU time, peak memory and GPU-hours per stage from the rules' ``benchmark:``
files, and the editor's requests, tokens and money from the bridging stats (the overhead analysis the paper's
reviewers asked for)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

PRICE_KEY = "price_usd_per_million_tokens"  # editors.<name>: {prompt: ..., completion: ...}, optional


def read_benchmarks(benchmark_dir: str | Path) -> pd.DataFrame:
    """One line per job: rule, job (the file's name under the rule), and Snakemake's benchmark columns.

    Files are ``<benchmark_dir>/<rule>/<job>.tsv`` (nested job names keep their folders). A file that is not a
    Snakemake benchmark table fails naming the file."""
    rows = []
    root = Path(benchmark_dir)
    for path in sorted(root.rglob("*.tsv")):
        rel = path.relative_to(root)
        frame = pd.read_csv(path, sep="\t")
        missing = {"s", "max_rss", "cpu_time"} - set(frame.columns)
        if missing:
            raise ValueError(f"{path}: not a Snakemake benchmark file (missing columns {sorted(missing)})")
        last = frame.iloc[-1]  # repeated benchmarks: the last repeat
        rows.append({"rule": rel.parts[0], "job": str(Path(*rel.parts[1:]).with_suffix("")),
                     "wall_s": float(last["s"]), "cpu_s": _num(last["cpu_time"]), "max_rss_mb": _num(last["max_rss"])})
    return pd.DataFrame(rows, columns=["rule", "job", "wall_s", "cpu_s", "max_rss_mb"])


def _num(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):  # Snakemake writes "-" where it could not measure
        return float("nan")


def stage_costs(jobs: pd.DataFrame, stage_of: dict[str, str], gpus_of: dict[str, int]) -> pd.DataFrame:
    """Per rule, in pipeline order of ``stage_of``: jobs, total and longest wall time, CPU time, peak RSS and
    GPU-hours (wall time x the rule's GPUs; 0 on CPU). Rules without benchmark files are left out."""
    order = {rule: i for i, rule in enumerate(stage_of)}
    out = []
    for rule, part in jobs.groupby("rule", sort=False):
        gpus = int(gpus_of.get(rule, 0) or 0)
        out.append({"stage": stage_of.get(rule, "?"), "rule": rule, "jobs": len(part),
                    "wall_s": part["wall_s"].sum(), "longest_job_s": part["wall_s"].max(),
                    "cpu_s": part["cpu_s"].sum(min_count=1), "max_rss_mb": part["max_rss_mb"].max(),
                    "gpus_per_job": gpus, "gpu_hours": part["wall_s"].sum() * gpus / 3600})
    frame = pd.DataFrame(out, columns=["stage", "rule", "jobs", "wall_s", "longest_job_s", "cpu_s", "max_rss_mb",
                                       "gpus_per_job", "gpu_hours"])
    frame["_o"] = frame["rule"].map(lambda r: order.get(r, len(order)))
    frame = frame.sort_values(["_o", "rule"]).drop(columns="_o").reset_index(drop=True)
    total = {"stage": "all", "rule": "total", "jobs": frame["jobs"].sum(), "wall_s": frame["wall_s"].sum(),
             "longest_job_s": frame["longest_job_s"].max(), "cpu_s": frame["cpu_s"].sum(),
             "max_rss_mb": frame["max_rss_mb"].max(), "gpus_per_job": float("nan"),
             "gpu_hours": frame["gpu_hours"].sum()}
    return pd.concat([frame, pd.DataFrame([total])], ignore_index=True)


def editor_costs(stats_files: dict[tuple[str, str], str | Path], prices: dict[str, dict | None]) -> pd.DataFrame:
    """Per bridged set and task: editor, requests (made, from cache), tokens, and cost in USD: the endpoint's
    reported cost where it reported one, else tokens x the configured price (``editors.<name>.price_usd_per_
    million_tokens``), else missing. ``stats_files`` maps (task, bridged set) to its stats file; ``prices`` maps
    the bridged set to its editor's price block."""
    rows = []
    for (task, bset), path in stats_files.items():
        stats = json.loads(Path(path).read_text(encoding="utf-8"))
        try:
            usage = stats["editor_usage"]
            prompt, completion = int(usage["prompt_tokens"]), int(usage["completion_tokens"])
            made, cached = int(usage["requests_made"]), int(usage["requests_answered_from_cache"])
            reported = usage.get("cost_reported_by_endpoint")
            editor, sent, seconds = stats["model"] or stats["editor"], stats["pairs_sent_to_editor"], stats["seconds"]
        except KeyError as err:
            raise ValueError(f"{path}: bridging stats lack field {err}") from None
        price = prices.get(bset)
        if reported is not None:
            cost, basis = float(reported), "reported by the endpoint"
        elif price:
            cost = (prompt * price["prompt"] + completion * price["completion"]) / 1e6
            basis = f"${price['prompt']}/M prompt, ${price['completion']}/M completion tokens"
        elif stats["editor"] == "rule":
            cost, basis = 0.0, "rule editor (no model calls)"
        else:
            cost, basis = float("nan"), "no price configured"
        rows.append({"task": task, "bridged_set": bset, "editor": editor, "pairs_sent": sent,
                     "requests_made": made, "from_cache": cached, "prompt_tokens": prompt,
                     "completion_tokens": completion, "cost_usd": cost, "cost_basis": basis, "seconds": seconds})
    return pd.DataFrame(rows, columns=["task", "bridged_set", "editor", "pairs_sent", "requests_made", "from_cache",
                                       "prompt_tokens", "completion_tokens", "cost_usd", "cost_basis", "seconds"])


def costs_markdown(stages: pd.DataFrame, editors: pd.DataFrame, study: str) -> str:
    shown = stages.copy()
    shown["wall"] = shown["wall_s"].map(_duration)
    shown["longest job"] = shown["longest_job_s"].map(_duration)
    shown["CPU"] = shown["cpu_s"].map(_duration)
    shown["peak RSS (MB)"] = shown["max_rss_mb"].round(0)
    shown["GPU-hours"] = shown["gpu_hours"].round(2)
    parts = [f"# Cost of the {study} study", "",
             "## Compute per rule (from each rule's `benchmark:` files; wall time summed over its jobs)", "",
             shown[["stage", "rule", "jobs", "wall", "longest job", "CPU", "peak RSS (MB)", "GPU-hours"]]
             .to_markdown(index=False), "",
             "Wall time is the sum over jobs, not the study's elapsed time (jobs run side by side). GPU-hours are "
             "wall time x the GPUs the rule requests.", "",
             "## Bridging: the editor's requests, tokens and cost", "",
             editors.to_markdown(index=False, floatfmt=".4f") if len(editors) else "(no bridged sets)", ""]
    return "\n".join(parts)


def _duration(seconds: float) -> str:
    if pd.isna(seconds):
        return "–"
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"
