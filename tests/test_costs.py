"""The cost table: benchmark files per rule, GPU-hours, and the editor's tokens and cost."""

from __future__ import annotations

import json
import math

import pytest

from bmc.report.costs import costs_markdown, editor_costs, read_benchmarks, stage_costs

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def bench(root, rule, job, seconds, rss, cpu):
    path = root / rule / f"{job}.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{seconds}\t0:00:01\t{rss}\t1\t1\t1\t0\t0\t50\t{cpu}\n")


def test_stage_costs_sum_jobs_and_count_gpu_hours(tmp_path):
    bench(tmp_path, "train_sft", "qa", 3600, 500, 3000)
    bench(tmp_path, "train_sft", "math", 1800, 700, 1000)
    bench(tmp_path, "evaluate", "qa/sft", 10, 300, "-")   # Snakemake writes "-" where it could not measure
    jobs = read_benchmarks(tmp_path)
    assert set(jobs["job"]) == {"qa", "math", "qa/sft"}
    table = stage_costs(jobs, {"train_sft": "sft", "evaluate": "evaluation"}, {"train_sft": 4}).set_index("rule")
    assert table.loc["train_sft", "jobs"] == 2 and table.loc["train_sft", "wall_s"] == 5400
    assert table.loc["train_sft", "longest_job_s"] == 3600 and table.loc["train_sft", "max_rss_mb"] == 700
    assert table.loc["train_sft", "gpu_hours"] == pytest.approx(6.0)     # 1.5 h x 4 GPUs
    assert table.loc["evaluate", "gpu_hours"] == 0 and math.isnan(table.loc["evaluate", "cpu_s"])
    assert list(table.index) == ["train_sft", "evaluate", "total"]      # pipeline order, total last
    assert table.loc["total", "wall_s"] == 5410 and table.loc["total", "gpu_hours"] == pytest.approx(6.0)


def test_a_file_that_is_not_a_benchmark_fails_naming_it(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "x.tsv").write_text("a\tb\n1\t2\n")
    with pytest.raises(ValueError, match=r"x\.tsv: not a Snakemake benchmark"):
        read_benchmarks(tmp_path)


def stats(tmp_path, name, editor="openai", model="gpt-4-0125-preview", cost=None, **usage):
    u = {"requests_answered_from_cache": 2, "requests_made": 8, "prompt_tokens": 1_000_000,
         "completion_tokens": 100_000, "cost_reported_by_endpoint": cost} | usage
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"editor": editor, "model": model, "pairs_sent_to_editor": 10, "seconds": 3.5,
                                "editor_usage": u}))
    return path


def test_editor_cost_from_price_from_endpoint_or_missing(tmp_path):
    files = {("qa", "main"): stats(tmp_path, "a"), ("qa", "reported"): stats(tmp_path, "b", cost=1.25),
             ("qa", "unpriced"): stats(tmp_path, "c"),
             ("qa", "rule"): stats(tmp_path, "d", editor="rule", model=None, prompt_tokens=0, completion_tokens=0)}
    prices = {"main": {"prompt": 10.0, "completion": 30.0}, "reported": {"prompt": 10.0, "completion": 30.0}}
    table = editor_costs(files, prices).set_index("bridged_set")
    assert table.loc["main", "cost_usd"] == pytest.approx(10.0 + 3.0)     # 1M x $10/M + 0.1M x $30/M
    assert table.loc["reported", "cost_usd"] == 1.25 and "reported" in table.loc["reported", "cost_basis"]
    assert math.isnan(table.loc["unpriced", "cost_usd"]) and table.loc["unpriced", "cost_basis"] == "no price configured"
    assert table.loc["rule", "cost_usd"] == 0.0 and table.loc["rule", "editor"] == "rule"
    md = costs_markdown(stage_costs(read_benchmarks(tmp_path / "none"), {}, {}), table.reset_index(), "tiny")
    assert "# Cost of the tiny study" in md and "gpt-4-0125-preview" in md


def test_stats_without_usage_fail_naming_file_and_field(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"editor": "rule", "model": None}))
    with pytest.raises(ValueError, match=r"s\.json: bridging stats lack field 'editor_usage'"):
        editor_costs({("qa", "main"): path}, {})
