"""The workflow as a whole: the plan of the tiny study, config validation, and the micro study end to end."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from workflow_api import REPO, plan, rule_names, run

TINY = REPO / "configs" / "tiny.yaml"
MICRO = REPO / "configs" / "micro.yaml"
TASKS = ["qa", "math"]
METHODS = ["dpo", "dpo_bc", "dpo_mc", "dpo_bmc"]
# Table 3: DPO-BMC on the other three synthesis directions, each its own bridged set
TABLE3_METHODS = ["dpo_bmc_no_reference", "dpo_bmc_degrade", "dpo_bmc_degrade_no_reference"]
TABLE3_SETS = ["no_reference", "degrade", "degrade_no_reference"]
TINY_METHODS = METHODS  # Table 3's directions: configs/tiny_table3.yaml
TINY_SETS = ("main", *TABLE3_SETS)


def expected_outputs(study, methods=TINY_METHODS, bridged_sets=TINY_SETS, seeds=(0, 1, 2),
                     eval_rules=("evaluate", "evaluate_seeds")):
    """Every output of `all` and its rule; ``seeds``: the tasks' seeds, trained in one job per method
    (seeds_in_one_job): the first seed's under results/<study>/, the others' under seeds/seed<s>/. ``eval_rules``:
    the rules that evaluate the SFT model and each method's seeds: evaluate and evaluate_seeds (one job per method,
    the tiny study), or evaluate_task for both (models_in_one_job: [evaluation, ...], the micro study)."""
    r = f"results/{study}"
    out = {f"{r}/data/corpus.jsonl": "pretraining_corpus", f"{r}/models/tokenizer": "train_tokenizer",
           f"{r}/models/base": "pretrain_base"}
    for t in TASKS:
        out |= {f"{r}/data/{t}/train.jsonl": "synthetic_task", f"{r}/data/{t}/test.jsonl": "synthetic_task",
                f"{r}/models/sft/{t}": "train_sft",
                f"{r}/pairs/{t}/sampled.jsonl": "sample_losing", f"{r}/pairs/{t}/sampled_stats.json": "sample_losing",
                }
        for b in bridged_sets:
            out |= {f"{r}/pairs/{t}/bridged/{b}.jsonl": "bridge_pairs",
                    f"{r}/pairs/{t}/bridged/{b}_stats.json": "bridge_pairs"}
        for s in seeds:
            where = r if s == seeds[0] else f"{r}/seeds/seed{s}"
            for m in methods:
                out[f"{where}/models/{m}/{t}"] = "train_preference"
                out[f"{where}/eval/{t}/{m}/predictions.jsonl"] = eval_rules[1]
                out[f"{where}/eval/{t}/{m}/scores.json"] = eval_rules[1]
        out[f"{r}/eval/{t}/sft/predictions.jsonl"] = eval_rules[0]
        out[f"{r}/eval/{t}/sft/scores.json"] = eval_rules[0]
    dpo_family = [m for m in methods if m in METHODS]  # Table 4 rows: the DPO loss on the main bridged set
    for t in TASKS:
        out |= {f"{r}/heldout/{t}/chosen.jsonl": "heldout_chosen", f"{r}/heldout/{t}/pairs.jsonl": "heldout_pairs",
                f"{r}/heldout/{t}/pairs_stats.json": "heldout_pairs",
                f"{r}/analysis/{t}/token_rewards.json": "token_rewards",
                f"{r}/figures/token_rewards_{t}.png": "figure_token_rewards",
                f"{r}/figures/token_rewards_{t}.pdf": "figure_token_rewards"}
        for m in dpo_family:  # every seed's held-out rewards (tables/training.md; Table 4 reads the first seed's)
            for s in seeds:
                where = r if s == seeds[0] else f"{r}/seeds/seed{s}"
                out |= {f"{where}/analysis/{t}/{m}/rewards.json": "reward_analysis",
                        f"{where}/analysis/{t}/{m}/rewards.jsonl": "reward_analysis"}
    out |= {f"{r}/analysis/kl.csv": "figure_kl", f"{r}/figures/kl.png": "figure_kl", f"{r}/figures/kl.pdf": "figure_kl"}
    out |= {f"{r}/tables/training.{e}": "training_diagnostics" for e in ("csv", "md")}
    out |= {f"{r}/figures/training.{e}": "training_diagnostics" for e in ("png", "pdf")}
    for table in ("table1", "table3", "table4", "table5", "table9"):
        for ext in ("csv", "md", "tex", "html"):
            out[f"{r}/tables/{table}.{ext}"] = table
    out[f"{r}/tables/table1_paired.csv"] = "table1"  # paired differences to DPO
    out |= {f"{r}/figures/table1.png": "figure_table1", f"{r}/figures/table1.pdf": "figure_table1",
            f"{r}/run/config.yaml": "study_config", f"{r}/tables/cost.csv": "cost_table",
            f"{r}/tables/cost.md": "cost_table", f"{r}/tables/cost_editor.csv": "cost_table"}
    return out


def test_dry_run_of_the_tiny_study_lists_every_output(tmp_path):
    planned = plan(tmp_path, [TINY])
    assert planned == expected_outputs("tiny")


def test_default_config_is_the_tiny_study(tmp_path):
    assert plan(tmp_path) == expected_outputs("tiny")  # no --configfile: configs/tiny.yaml


def test_rules_are_the_stages():
    assert rule_names(REPO) == {"all", "synthetic_task", "pretraining_corpus", "train_tokenizer", "pretrain_base",
                                "train_sft", "sample_losing", "bridge_pairs", "released_pairs", "train_preference", "evaluate",
                                "table1", "nltk_stopwords", "prepare_test_set", "table3", "table5", "table9",
                                "figure_table1", "study_config", "cost_table", "table4",
                                # analyses on held-out data (Table 4, Figures 4 and 6)
                                "heldout_chosen", "heldout_pairs", "reward_analysis", "token_rewards",
                                "figure_token_rewards", "figure_kl", "training_diagnostics",
                                # instruction following (Table 2), only with an instruction_following block
                                "prepare_prompt_set", "generate_alpaca_eval", "generate_arena_hard",
                                "judge_alpaca_eval", "judge_arena_hard", "table2",
                                # sweeps (named targets, not in all)
                                "train_delta", "evaluate_delta", "figure_delta", "split_pairs", "train_split",
                                "evaluate_split", "figure_edit_distance", "sweeps",
                                # every seed of a method evaluated in one job (seeds_in_one_job); with
                                # models_in_one_job: [evaluation] evaluate_task, with one job per seed
                                # train_seed and evaluate_seed
                                "evaluate_seeds",
                                # data and models of the paper study (hub datasets, hub models, pinned files);
                                # the tiny study pretrains its base model, so fetch_base_model is not defined
                                "prepare_sft_data", "test_split", "fetch_source", "fetch_sft_model",
                                "dataset_pairs", "dataset_heldout"}


def test_table3_directions_are_an_overlay_on_the_same_study(tmp_path):
    """The default target trains Table 1's four methods; configs/tiny_table3.yaml adds Table 3's other synthesis
    directions to the same study folder (same SFT models and pairs)."""
    default = plan(tmp_path, [TINY], targets=("table3",))
    assert not any("dpo_bmc_degrade" in f for f in default)
    planned = plan(tmp_path, [TINY, REPO / "configs" / "tiny_table3.yaml"], targets=("table3",))
    trained = {f.split("/")[3] for f, rule in planned.items() if rule == "train_preference"}
    assert {"dpo_bmc_no_reference", "dpo_bmc_degrade", "dpo_bmc_degrade_no_reference"} <= trained
    assert all(f.startswith("results/tiny/") for f in planned)


def test_the_full_grid_is_a_config_overlay(tmp_path):
    planned = plan(tmp_path, [TINY, REPO / "configs" / "grid.yaml"])
    trained = {f.split("/")[3] for f, rule in planned.items() if rule == "train_preference" and "/seeds/" not in f}
    assert trained == {*TINY_METHODS, "figa", "ipo", "kto", "orpo", "tdpo", "rdpo", "simpo", "ipo_bmc", "orpo_bmc",
                       "rdpo_bmc", "simpo_bmc"}


def test_nltk_stopwords_come_from_their_rule(tmp_path):
    planned = plan(tmp_path, [TINY], config={"preference": {"stopwords": "nltk"}},
                   targets=("results/tiny/models/dpo_bmc/qa",))
    assert planned["resources/nltk/stopwords_english.txt"] == "nltk_stopwords"


def test_one_model_plans_only_its_upstream(tmp_path):
    planned = plan(tmp_path, [TINY], targets=("results/tiny/models/dpo_bmc/qa",))
    # heldout_chosen: the held-out gold responses the KL curve is logged on during training (no model needed)
    assert sorted(set(planned.values())) == ["bridge_pairs", "heldout_chosen", "pretrain_base", "pretraining_corpus",
                                             "sample_losing", "synthetic_task", "train_preference", "train_sft",
                                             "train_tokenizer"]
    assert [f for f, r in planned.items() if r == "train_preference"] == [  # one job: the method's three seeds
        "results/tiny/models/dpo_bmc/qa", "results/tiny/seeds/seed1/models/dpo_bmc/qa",
        "results/tiny/seeds/seed2/models/dpo_bmc/qa"]
    assert "results/tiny/models/sft/math" not in planned


@pytest.mark.parametrize("override,named", [
    ({"preference": {"learning_rat": 1e-5}}, "learning_rat"),
    ({"seed": "zero"}, "seed"),
    ({"tasks": {"qa": {"sft": {"epochs": "six"}}}}, "epochs"),
    ({"methods": {"dpo": {"label": "DPO", "pairs": "bridge", "bmc_weights": False}}}, "bridge"),
    ({"bridging": {"direction": "sideways"}}, "sideways"),
    ({"bridging": {"editor": "gpt4"}}, "gpt4"),
    ({"editors": {"x": {"kind": "openai", "model": "m", "api_key": "sk-123"}}}, "api_key"),
    ({"bridging": {"ablations": {"main": {}}}}, "main"),
    ({"methods": {"dpo_bc": {"label": "DPO-BC", "pairs": "bridged", "bmc_weights": False,
                             "bridged_set": "nope"}}}, "nope"),
])
def test_bad_config_fails_before_any_job_naming_the_key(tmp_path, override, named):
    with pytest.raises(Exception) as err:
        plan(tmp_path, [TINY], config=override)
    assert named in str(err.value)
    assert not (tmp_path / "results").exists()


def test_semantic_config_errors_name_the_key(tmp_path):
    cfg = {"tasks": {"qa": {"test_sets": {"World": ["fact", "category"], "Numbers": ["largest", "smallest"],
                                          "Odd": ["prime"]}}}}
    with pytest.raises(Exception, match=r"tasks\.qa\.test_sets\.Odd"):
        plan(tmp_path, [TINY], config=cfg)


MICRO_METHODS = [*METHODS, "dpo_bmc_degraded", "ipo_bmc", "kto", "orpo_bmc", "rdpo_bmc", "simpo_bmc", "tdpo", "figa"]


@pytest.mark.slow
def test_micro_study_end_to_end(micro_study):
    tmp_path = micro_study
    r = tmp_path / "results" / "micro"
    for f in expected_outputs("micro", MICRO_METHODS, ("main", "half_degraded"), seeds=(0, 1),
                                eval_rules=("evaluate_task", "evaluate_task")):
        assert (tmp_path / f).exists(), f
    table = pd.read_csv(r / "tables" / "table1.csv")
    ours = table[table["ours"].notna()]
    assert list(dict.fromkeys(ours["row"])) == ["SFT", "FIGA", "KTO", "TDPO", "DPO", "DPO-BMC", "DPO-BC", "DPO-MC",
                                                "IPO-BMC", "ORPO-BMC", "R-DPO-BMC", "SimPO-BMC"]
    avg = table[table["column"] == "Avg"].set_index(["row", "setup"])
    assert avg.loc[("DPO-BMC", "QA"), "paper"] == 65.1
    assert avg.loc[("DPO-BMC", "QA"), "source"] == ("rule evaluate_task (2 seeds): results/micro/eval/qa/dpo_bmc/"
                                                    "scores.json; results/micro/seeds/seed1/eval/qa/dpo_bmc/scores.json")
    assert avg.loc[("SFT", "QA"), "source"] == "rule evaluate_task: results/micro/eval/qa/sft/scores.json"
    paired = pd.read_csv(r / "tables" / "table1_paired.csv")
    assert set(paired["row"]) == {"DPO-BC", "DPO-MC", "DPO-BMC", "FIGA", "KTO", "TDPO", "IPO-BMC", "ORPO-BMC",
                                  "R-DPO-BMC", "SimPO-BMC"} and (paired["reference"] == "DPO").all()
    assert (paired["low"] <= paired["diff"]).all() and (paired["diff"] <= paired["high"]).all()
    assert (paired["seeds"] == 2).all() and (paired["questions"] == 24).all()
    seed1 = json.loads((r / "seeds/seed1/models/dpo_bmc/qa/run_info.json").read_text())
    assert seed1["seed"] == 1 and "heldout_kl" not in seed1["result"]  # the KL curve: the main seed only
    assert avg.loc[[(m, s) for m in ours["row"].unique() for s in ("QA", "Math")], "ours"].notna().all()
    for method, loss in [("kto", "kto"), ("tdpo", "tdpo"), ("rdpo_bmc", "rdpo")]:
        info = json.loads((r / "models" / method / "math" / "run_info.json").read_text())["result"]
        assert info["loss"] == loss and info["steps"] > 0
    rdpo = json.loads((r / "models" / "rdpo_bmc" / "qa" / "run_info.json").read_text())["result"]
    assert rdpo["mask_scope"] == "per_pair" and rdpo["bmc_delta"] == 3.0
    assert not (r / "checkpoints").exists() or not any((r / "checkpoints").rglob("checkpoint-*"))
    half = json.loads((r / "pairs" / "qa" / "bridged" / "half_degraded_stats.json").read_text())
    assert half["direction"] == "degrade_winning_with_reference" and half["fraction"] == 0.5
    assert half["pairs_sent_to_editor"] == round(half["pairs_in"] / 2)
    md = (r / "tables" / "table1.md").read_text()
    assert "## Paper (Jiang et al., ICLR 2025; not this run)" in md and "### Paired difference to DPO" in md
    assert "ECQA" not in md.split("## Paper")[0]  # this run's block: only the test sets the study has
    assert (r / "figures" / "table1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    info = json.loads((r / "models" / "dpo_bmc" / "qa" / "run_info.json").read_text())
    assert info["result"]["bmc_delta"] == 3.0 and info["result"]["reference_weights"] == "reference"
    assert json.loads((r / "models" / "dpo_bc" / "qa" / "run_info.json").read_text())["result"]["bmc_delta"] == 0.0
    # the analyses: KL logged during training from step 0, rewards on every held-out pair
    kl = info["result"]["heldout_kl"]
    assert kl[0]["step"] == 0 and kl[0]["heldout_kl"] == 0 and kl[-1]["step"] == info["result"]["steps"]
    rewards = json.loads((r / "analysis" / "qa" / "dpo_bmc" / "rewards.json").read_text())
    held = sum(1 for _ in (r / "heldout" / "qa" / "pairs.jsonl").open())
    assert rewards["n"] == held > 0 and 0 <= rewards["accuracy"] <= 1
    t4 = pd.read_csv(r / "tables" / "table4.csv").set_index(["row", "setup", "column"])
    assert t4.loc[("DPO-BMC", "QA", "reward accuracy"), "ours"] == pytest.approx(100 * rewards["accuracy"], abs=0.01)
    for rule in ("train_sft", "train_preference", "evaluate_task", "reward_analysis"):
        assert any((r / "benchmarks" / rule).rglob("*.tsv")), rule
        assert any((r / "logs" / rule).rglob("*.log")), rule
    # a second run has nothing to do
    assert plan(tmp_path, [MICRO]) == {}


@pytest.mark.slow
def test_a_changed_setting_reruns_only_what_uses_it(micro_study):
    """Changing one task's preference beta reruns that task's preference training and what reads it, never its
    data, base model, SFT, sampling or bridging (the data rule's params are the generator settings only)."""
    planned = plan(micro_study, [MICRO], config={"tasks": {"qa": {"preference": {"beta": 0.3}}}}, targets=("table1",))
    rules = set(planned.values())
    assert "train_preference" in rules and "table1" in rules
    assert not rules & {"synthetic_task", "pretraining_corpus", "train_tokenizer", "pretrain_base", "train_sft",
                        "sample_losing", "bridge_pairs"}, sorted(rules)
    assert all("/math" not in f for f, rule in planned.items() if rule == "train_preference")


def test_micro_plan_has_the_ablation_set(tmp_path):
    planned = plan(tmp_path, [MICRO])
    assert planned == expected_outputs("micro", MICRO_METHODS, ("main", "half_degraded"), seeds=(0, 1),
                                eval_rules=("evaluate_task", "evaluate_task"))
    assert "results/micro/models/dpo_bmc_degraded/qa" in planned


LLM_EDITORS = {
    "openai": {"kind": "openai", "model": "gpt-4-0125-preview", "base_url": "https://api.openai.com/v1",
               "api_key_env": "OPENAI_API_KEY"},
    "vllm": {"kind": "vllm", "model": "meta-llama/Meta-Llama-3-70B-Instruct", "tensor_parallel_size": 4},
    "transformers": {"kind": "transformers", "model": "results/tiny/models/sft/math"},
}


@pytest.mark.parametrize("kind", sorted(LLM_EDITORS))
def test_any_editor_is_a_config_change(tmp_path, kind):
    cfg = {"editors": {"ed": LLM_EDITORS[kind]}, "bridging": {"editor": "ed"}}
    planned = plan(tmp_path, [TINY], config=cfg, targets=("results/tiny/pairs/qa/bridged/main.jsonl",))
    assert planned["results/tiny/pairs/qa/bridged/main.jsonl"] == "bridge_pairs"
    # a workflow-built editor model is an input of the bridging job
    assert ("results/tiny/models/sft/math" in planned) == (kind == "transformers")


def test_bridging_through_an_openai_compatible_server(tmp_path):
    from openai_stub import StubServer

    target = "results/micro/pairs/math/bridged/main.jsonl"
    with StubServer() as server:
        cfg = {"editors": {"stub": {"kind": "openai", "model": "stub-model", "base_url": server.url,
                                    "api_key_env": None, "backoff_initial_s": 0.01}},
               "bridging": {"editor": "stub"}}
        run(tmp_path, [MICRO], config=cfg, targets=(target,))
        made = len(server.requests)
    stats = json.loads((tmp_path / target.replace(".jsonl", "_stats.json")).read_text())
    assert stats["editor"] == "openai" and stats["model"] == "stub-model"
    assert made == stats["pairs_sent_to_editor"] == stats["editor_usage"]["requests_made"] > 0
    assert stats["editor_usage"]["cost_reported_by_endpoint"] == pytest.approx(0.001 * made)
    assert stats["prompt_template_sha256"] and (tmp_path / stats["cache"]).exists()
    # the stub answers with y_w, so every pseudo-winning response is y_w and passes the answer check
    rows = [json.loads(line) for line in (tmp_path / target).read_text().splitlines()]
    assert rows and all(r["bridged_chosen"] == r["y_w"] for r in rows)
    # a rerun with a changed stats-irrelevant setting is answered from the cache: no request
    with StubServer() as server:
        cfg["editors"]["stub"] |= {"base_url": server.url, "concurrency": 2}
        run(tmp_path, [MICRO], config=cfg, targets=(target,))
        assert len(server.requests) == 0


@pytest.mark.slow
def test_bridging_with_a_workflow_model_as_transformers_editor(tmp_path):
    target = "results/micro/pairs/math/bridged/main.jsonl"
    cfg = {"editors": {"local": {"kind": "transformers", "model": "results/micro/models/sft/math",
                                 "batch_size": 16}},
           "bridging": {"editor": "local", "decoding": {"max_tokens": 16}}}
    run(tmp_path, [MICRO], config=cfg, targets=(target,))
    stats = json.loads((tmp_path / target.replace(".jsonl", "_stats.json")).read_text())
    assert stats["editor"] == "transformers" and stats["pairs_sent_to_editor"] == stats["pairs_in"] > 0
    assert stats["editor_usage"]["requests_made"] == stats["pairs_in"]
    assert stats["editor_usage"]["completion_tokens"] > 0
    # a tiny untrained editor writes nonsense: the filters drop it, and say why
    assert stats["pairs_out"] + sum(stats["dropped"].values()) == stats["pairs_in"]
    assert len((tmp_path / stats["cache"]).read_text().splitlines()) == stats["pairs_in"]


@pytest.mark.slow
def test_a_killed_training_job_resumes_from_its_checkpoint(tmp_path):
    """SIGKILL snakemake (and its job) mid-training; the rerun resumes from the last checkpoint."""
    import os
    import signal
    import subprocess
    import sys
    import time

    target = "results/micro/models/dpo/qa"
    overlay = tmp_path / "long.yaml"
    overlay.write_text("checkpoints: {every_steps: 3}\npreference: {epochs: 12}\n")
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(tmp_path),
           "--configfile", str(MICRO), str(overlay), "--cores", "1", target]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    ckpt_dir = tmp_path / "results/micro/checkpoints/train_preference/dpo/qa/seed0"  # the job trains seeds 0 and 1
    deadline = time.time() + 300
    while time.time() < deadline and not list(ckpt_dir.glob("checkpoint-*/trainer_state.json")):
        assert proc.poll() is None, "the job ended before writing a checkpoint"
        time.sleep(0.2)
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # complete checkpoints only: the kill may cut a newer one off mid-save (the rerun removes it)
    saved = sorted(int(p.parent.name.split("-")[1]) for p in ckpt_dir.glob("checkpoint-*/trainer_state.json"))
    assert saved and not (tmp_path / target).exists()
    # a SIGKILL leaves Snakemake's lock behind: unlock, then rerun
    subprocess.run(cmd + ["--unlock"], check=True, capture_output=True, timeout=120)
    rerun = subprocess.run(cmd + ["--rerun-incomplete"], capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    info = json.loads((tmp_path / target / "run_info.json").read_text())["result"]
    assert info["resumed_from"] and info["resumed_from"].endswith(f"checkpoint-{saved[-1]}")
    assert info["steps"] > saved[-1] and not ckpt_dir.exists()
    log = (tmp_path / "results/micro/logs/train_preference/dpo/qa.log").read_text()
    assert "resuming from checkpoint" in log


def test_a_paper_test_set_is_built_by_its_rule_from_local_hub_files(tmp_path):
    """rules/paper_data.smk: a hub-format file given in the config becomes the official record format."""
    source = REPO / "tests/fixtures/hub/gsm8k/main/test.parquet"
    overlay = {"paper_data": {"sets": {"gsm8k": {"data_files": str(source), "check_size": False}}}}
    target = "results/micro/data/math/test/gsm8k.jsonl"
    assert plan(tmp_path, [MICRO], config=overlay, targets=(target,)) == {target: "prepare_test_set"}
    run(tmp_path, [MICRO], config=overlay, targets=(target,), cores=1)
    rows = [json.loads(line) for line in (tmp_path / target).read_text().splitlines()]
    assert rows and set(rows[0]) == {"question", "answer", "idx"} and "####" in rows[0]["answer"]


def test_snakemake_lint_is_clean(tmp_path):
    """`snakemake --lint` finds nothing: helper functions live in rules/common.smk, environment variables the
    workflow passes on are declared (envvars), no absolute path in a rule."""
    import os
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "snakemake", "--lint", "--snakefile", str(REPO / "Snakefile"),
                          "--directory", str(tmp_path)], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Lints for" not in out.stdout + out.stderr, out.stdout + out.stderr
