"""The study costed before it runs (bmc.cluster.plan): compute per rule from the plan and the config's resources,
and the paid API calls (the GPT-4 editor, the Table 2 judges) as ranges."""

from __future__ import annotations

import math

import pytest

from bmc.cluster.plan import JUDGES, _pairs_range, api_table, main, planned_jobs, rule_table
from workflow_api import REPO


def job(rule, gpu=0, runtime=60, local=False, **wildcards):
    return {"rule": rule, "wildcards": wildcards, "resources": {"gpu": gpu, "runtime": runtime}, "local": local}


def test_rule_table_counts_requested_hours_and_gpu_hours():
    frame = rule_table([job("train_preference", 4, 720), job("train_preference", 4, 720), job("evaluate", 1, 180),
                        job("judge_alpaca_eval", 0, 60, local=True), job("table1", 0, 60)]).set_index("rule")
    assert frame.loc["train_preference", "jobs"] == 2 and frame.loc["train_preference", "gpu_hours"] == 96
    assert frame.loc["train_preference", "requested_hours"] == 24
    assert frame.loc["judge_alpaca_eval", "requested_hours"] == 0  # local: the host, no cluster time
    assert frame.loc["table1", "gpu_hours"] == 0
    assert frame.loc["total", "gpu_hours"] == 99 and frame.loc["total", "jobs"] == 5


def test_sampled_pairs_are_a_range_and_dataset_pairs_exact():
    config = {"sampling": {"num_samples": 5, "questions": None},
              "tasks": {"qa": {"sft_data": {"source": "qa_sft"}},
                        "if": {"pairs": {"source": "ultrafeedback_binarized"}}}}
    lo, hi, basis = _pairs_range(config, "qa")
    assert lo == round(15345 * (1 - 0.8 ** 5)) and hi == round(15345 * (1 - 0.4 ** 5)) and "15345" in basis
    assert _pairs_range(config, "if")[:2] == (61135, 61135)
    config["tasks"]["math"] = {"sft_data": {"source": "math_sft"}}  # a file not counted here: the paper's 40k
    lo, hi, basis = _pairs_range(config, "math")
    assert hi == round(40000 * (1 - 0.4 ** 5)) and "the paper's size of math_sft" in basis


def test_the_released_pairs_study_costs_the_judges_alone(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-key")
    jobs, config = planned_jobs([REPO / "configs" / "paper.yaml", REPO / "configs" / "paper_released.yaml"],
                                targets=["table1", "table2", "table5"])
    api = api_table(jobs, config, REPO)
    assert set(api["rule"]) - {"total"} == set(JUDGES)  # no editor request: the authors' pairs
    assert rule_table(jobs).set_index("rule").loc["released_pairs", "jobs"] == 4


@pytest.fixture(scope="module")
def paper_plan(monkeypatch_module):
    monkeypatch_module.setenv("OPENAI_API_KEY", "sk-test-not-a-key")  # judges are planned only with a key
    return planned_jobs([REPO / "configs" / "paper.yaml"])


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_the_paper_study_is_costed_before_it_runs(paper_plan):
    jobs, config = paper_plan
    rules = rule_table(jobs).set_index("rule")
    assert rules.loc["train_preference", "gpus_per_job"] == 4 and rules.loc["total", "gpu_hours"] > 1000
    api = api_table(jobs, config, REPO)
    bridging = api[api["rule"] == "bridge_pairs"]
    # every bridged set with the GPT-4 editor, none with the local Llama-3-70B editor (its cost is GPU time)
    assert not bridging.empty and (bridging["model"] == "gpt-4-0125-preview").all()
    assert not any("llama3_70b" in j for j in bridging["job"])
    assert (bridging["usd_low"] > 0).all() and (bridging["usd_high"] >= bridging["usd_low"]).all()
    judges = api[api["rule"].isin(list(JUDGES))]
    assert set(judges["rule"]) == set(JUDGES) and (judges["requests_low"] > 0).all()
    assert not math.isnan(api["usd_high"].sum())


def test_the_tiny_study_has_no_api_cost_and_no_gpu_hours(tmp_path, capsys):
    assert main(["--configfile", str(REPO / "configs" / "tiny.yaml"), "--out", str(tmp_path)]) == 0
    text = (tmp_path / "plan.md").read_text()
    assert "None: the study's editors run locally or by rule" in text
    assert "| total |" in text and (tmp_path / "rules.csv").is_file() and (tmp_path / "api.csv").is_file()
    jobs, _ = planned_jobs([REPO / "configs" / "tiny.yaml"])
    assert rule_table(jobs).set_index("rule").loc["total", "gpu_hours"] == 0
