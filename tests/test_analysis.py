"""The analyses behind Table 4 and Figures 4 and 6 as workflow stages: settings, the Table 4 cells, the KL frame,
the figures, and their place in the plan."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from PIL import Image
from workflow_api import REPO, plan

from bmc.analysis.rewards import kl_frame
from bmc.config import ConfigError, analysis_settings, kl_logged
from bmc.report.figures import kl_figure, token_rewards_figure
from bmc.report.paper_tables import compare, to_markdown
from bmc.report.rows import reward_cells, table_rows

TINY = REPO / "configs" / "tiny.yaml"
MICRO = REPO / "configs" / "micro.yaml"
METHODS = {"dpo": {"label": "DPO", "pairs": "original", "bmc_weights": False},
           "dpo_bmc": {"label": "DPO-BMC", "pairs": "bridged", "bmc_weights": True},
           "simpo": {"label": "SimPO", "loss": "simpo", "pairs": "original", "bmc_weights": False}}


def config(**extra):
    return {"seed": 3, "methods": METHODS, "tasks": {"qa": {"preference": {"kl_every_steps": 5}}},
            "preference": {"kl_every_steps": 0}} | extra


def test_analysis_defaults_and_overrides():
    s = analysis_settings(config())
    assert s["heldout_questions"] == 200 and s["kl_examples"] == 64 and s["seed"] == 3
    assert s["token_rewards"] == {"methods": ["dpo", "dpo_bmc"], "example": "median", "max_tokens": 48}
    s = analysis_settings(config(analysis={"heldout_questions": None, "token_rewards": {"example": 4}}))
    assert s["heldout_questions"] is None and s["token_rewards"]["example"] == 4


def test_token_reward_methods_must_exist_when_named():
    with pytest.raises(ConfigError, match=r"analysis\.token_rewards\.methods: \['ipo'\]"):
        analysis_settings(config(analysis={"token_rewards": {"methods": ["dpo", "ipo"]}}))
    no_bmc = config() | {"methods": {"dpo": METHODS["dpo"]}}
    assert analysis_settings(no_bmc)["token_rewards"]["methods"] == ["dpo"]  # defaults narrow silently


def test_kl_is_logged_per_task_and_method():
    cfg = config()
    assert kl_logged(cfg, "qa", "dpo")
    cfg["tasks"]["math"] = {}
    assert not kl_logged(cfg, "math", "dpo")


def test_table4_rows_are_the_dpo_family_on_the_main_set():
    cfg = {"methods": METHODS | {"dpo_bmc_deg": {"label": "x", "pairs": "bridged", "bridged_set": "deg",
                                                   "bmc_weights": True}}}
    assert table_rows(cfg, "table4") == {"dpo": "DPO", "dpo_bmc": "DPO-BMC"}


def test_table4_cells_sit_beside_the_papers_and_name_their_file():
    summaries = {("qa", "dpo"): ({"margin_mean": 0.0123, "accuracy": 0.75}, "results/t/analysis/qa/dpo/rewards.json"),
                 ("qa", "simpo"): ({"margin_mean": 1.0, "accuracy": 1.0}, "elsewhere")}
    cells = reward_cells(summaries, {"dpo": "DPO", "dpo_bmc": "DPO-BMC"}, {"qa": "QA"})
    assert [(c.row, c.column, c.value) for c in cells] == [("DPO", "reward margin", 0.0123),
                                                            ("DPO", "reward accuracy", 75.0)]
    frame = compare("table4", cells)
    paper = frame[frame["setup"] == "IF Llama3-8B"].set_index(["row", "column"])["paper"]
    assert paper[("DPO-BMC", "reward accuracy")] == 73.6 and paper[("DPO", "reward margin")] == 0.54
    ours = frame[frame["setup"] == "QA"].set_index(["row", "column"])
    assert ours.loc[("DPO", "reward margin"), "ours"] == 0.0123
    assert pd.isna(ours.loc[("DPO", "reward margin"), "paper"])  # the paper has no QA Table 4: left missing
    md = to_markdown("table4", frame, "tiny")
    assert "0.012" in md and "rule reward_analysis: results/t/analysis/qa/dpo/rewards.json" in md


def run_info(kls):
    return {"result": {"log_history": [{"loss": 0.69, "step": 1}],
                       "heldout_kl": [{"heldout_kl": k, "heldout_kl_sequence": 10 * k, "step": s} for s, k in kls]}}


def test_kl_frame_reads_the_logged_records_in_step_order():
    frame = kl_frame([{"task": "qa", "method": "DPO", "model": "m/dpo", "run_info": run_info([(5, 0.2), (0, 0.0)])},
                      {"task": "qa", "method": "DPO-BMC", "model": "m/bmc", "run_info": run_info([(0, 0.0)])}])
    assert frame[["method", "step", "kl"]].values.tolist() == [["DPO", 0, 0.0], ["DPO", 5, 0.2], ["DPO-BMC", 0, 0.0]]
    with pytest.raises(ValueError, match="m/x/run_info.json: no held-out KL records"):
        kl_frame([{"task": "qa", "method": "DPO", "model": "m/x", "run_info": run_info([])}])


def test_figures_are_written_as_png_and_pdf(tmp_path):
    frame = kl_frame([{"task": t, "method": m, "model": "x", "run_info": run_info([(0, 0.0), (10, k), (20, 2 * k)])}
                      for t in ("qa", "math") for m, k in (("DPO", 0.01), ("DPO-BMC", 0.02))])
    kl_figure(frame, {"qa": "QA", "math": "Math"}, "tiny", [tmp_path / "kl.png", tmp_path / "kl.pdf"])
    side = {"tokens": [" The", " answer", " is", " 7", "."] * 12, "rewards": [0.01, -0.02, 0.0, 0.3, -0.1] * 12,
            "token_ids": list(range(60))}
    data = {"row": 0, "problem": "What is 3 + 4?", "methods": {
        "dpo": {"label": "DPO", "chosen": side, "rejected": side},
        "dpo_bmc": {"label": "DPO-BMC", "chosen": side, "rejected": side | {"rewards": [-0.3] * 60}}}}
    token_rewards_figure(data, "Math", 48, "tiny", [tmp_path / "tr.png", tmp_path / "tr.pdf"])
    for name in ("kl", "tr"):
        assert (tmp_path / f"{name}.pdf").read_bytes()[:5] == b"%PDF-"
        width, height = Image.open(tmp_path / f"{name}.png").size
        assert width > 600 and height > 400


def test_the_analyses_are_in_the_tiny_plan(tmp_path):
    planned = plan(tmp_path, [TINY])
    r = "results/tiny"
    for task in ("qa", "math"):
        assert planned[f"{r}/heldout/{task}/chosen.jsonl"] == "heldout_chosen"
        assert planned[f"{r}/heldout/{task}/pairs.jsonl"] == "heldout_pairs"
        assert planned[f"{r}/analysis/{task}/token_rewards.json"] == "token_rewards"
        for m in ("dpo", "dpo_bc", "dpo_mc", "dpo_bmc"):
            assert planned[f"{r}/analysis/{task}/{m}/rewards.json"] == "reward_analysis"
    assert planned[f"{r}/tables/table4.md"] == "table4"
    assert planned[f"{r}/figures/kl.png"] == "figure_kl"
    assert planned[f"{r}/figures/token_rewards_qa.png"] == "figure_token_rewards"


def test_without_kl_logging_training_needs_no_heldout_data(tmp_path):
    planned = plan(tmp_path, [TINY], config={"preference": {"kl_every_steps": 0}})
    assert "results/tiny/figures/kl.png" not in planned
    assert "results/tiny/heldout/qa/chosen.jsonl" not in planned
    assert "results/tiny/tables/table4.md" in planned


def test_a_missing_token_reward_method_fails_before_any_job(tmp_path):
    with pytest.raises(Exception, match="analysis.token_rewards.methods"):
        plan(tmp_path, [MICRO], config={"analysis": {"token_rewards": {"methods": ["nope"]}}})
    assert not (tmp_path / "results").exists()
