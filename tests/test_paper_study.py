"""The paper study (configs/paper.yaml): its plan lists every paper output, offline, with the resources each job
would ask SLURM for; the rules that read the paper's data and models (hub datasets, hub models, pinned files)
run on small local files in the hub's formats."""

from __future__ import annotations

import json
import os
from pathlib import Path
from unittest import mock

import pytest
import yaml

from bmc.runtime import OFFLINE_ENV
from conftest import official_file
from workflow_api import REPO, plan, plan_jobs

PAPER = REPO / "configs/paper.yaml"
MICRO = REPO / "configs/micro.yaml"
PAPER_TASKS = ("qa", "math", "if_llama3", "if_mistral")
TRAINING_RULES = {"train_sft", "train_preference", "train_seed", "train_delta", "train_split"}
NETWORK_RULES = {"fetch_base_model", "fetch_sft_model", "fetch_source", "prepare_sft_data", "dataset_pairs",
                 "dataset_heldout", "prepare_test_set", "prepare_prompt_set", "nltk_stopwords", "judge_alpaca_eval",
                 "judge_arena_hard"}


@pytest.fixture(scope="module")
def paper_jobs(tmp_path_factory):
    """The plan of `snakemake -n --configfile configs/paper.yaml all`, offline; with a judge key set (its value is
    never used by a dry run) so that Table 2 is planned too."""
    workdir = tmp_path_factory.mktemp("paper")
    with mock.patch.dict(os.environ, {**OFFLINE_ENV, "OPENAI_API_KEY": "sk-dry-run-never-used"}):
        jobs = plan_jobs(workdir, [PAPER])
    assert not (workdir / "results").exists()  # a plan writes nothing
    return jobs


def _outputs(jobs, rule=None):
    return {f for j in jobs if rule in (None, j["rule"]) for f in j["output"]}


def test_every_paper_output_is_in_the_plan(paper_jobs):
    out = _outputs(paper_jobs)
    tables = [f"results/paper/tables/table{n}.csv" for n in (1, 2, 3, 4, 5, 9)]
    figures = ["results/paper/figures/table1.png", "results/paper/figures/kl.png",
               *[f"results/paper/figures/token_rewards_{t}.png" for t in PAPER_TASKS],
               "results/paper/sweeps/delta/delta.png", "results/paper/sweeps/edit_distance/edit_distance.png"]
    missing = [f for f in tables + figures + ["results/paper/run/config.yaml", "results/paper/tables/cost.csv"]
               if f not in out]
    assert not missing


def test_each_setup_gets_its_data_and_models_from_the_paper_sources(paper_jobs):
    rules_for = {}
    for j in paper_jobs:
        for f in j["output"]:
            rules_for[f] = j["rule"]
    # QA and math: Llama-2-7B fine-tuned on the SFT sets; y_l sampled; Table 1's test sets
    assert rules_for["results/paper/models/base"] == "fetch_base_model"
    for task in ("qa", "math"):
        assert rules_for[f"results/paper/data/{task}/train.jsonl"] == "prepare_sft_data"
        assert rules_for[f"results/paper/data/{task}/test.jsonl"] == "test_split"
        assert rules_for[f"results/paper/models/sft/{task}"] == "train_sft"
        assert rules_for[f"results/paper/pairs/{task}/sampled.jsonl"] == "sample_losing"
    assert {f.rsplit("/", 1)[1] for f in _outputs(paper_jobs, "prepare_test_set")} == {
        "ecqa.jsonl", "qasc.jsonl", "openbookqa.jsonl", "strategyqa.jsonl", "gsm8k.jsonl", "math_full.jsonl",
        "mawps.jsonl", "tabmwp.jsonl"}
    assert _outputs(paper_jobs, "fetch_source") == {  # the official QA and math SFT sets, two test files
        "resources/sources/qa_sft/train-00000-of-00001.parquet",
        "resources/sources/math_sft/train-00000-of-00001.parquet", "resources/sources/mawps/test.jsonl",
        "resources/sources/tabmwp/problems_test.json"}
    # IF: the public SFT checkpoints, UltraFeedback pairs, no SFT training, no accuracy evaluation
    for task in ("if_llama3", "if_mistral"):
        assert rules_for[f"results/paper/models/sft/{task}"] == "fetch_sft_model"
        assert rules_for[f"results/paper/pairs/{task}/sampled.jsonl"] == "dataset_pairs"
        assert rules_for[f"results/paper/heldout/{task}/pairs.jsonl"] == "dataset_heldout"
        assert not any(f"/eval/{task}/" in f for f in _outputs(paper_jobs, "evaluate"))
        assert f"results/paper/if/alpaca_eval/{task}/dpo_bmc/model_outputs.json" in rules_for


def test_tables_5_and_9_take_their_if_column_from_the_alpacaeval_judge(paper_jobs):
    for table in ("table5", "table9"):
        inputs = next(j["input"] for j in paper_jobs if j["rule"] == table)
        assert "results/paper/if/alpaca_eval/if_llama3/dpo_bmc/judge.json" in inputs
        assert "results/paper/eval/qa/dpo_bmc/scores.json" in inputs
        assert not any("arena_hard" in f for f in inputs)
    table5 = next(j["input"] for j in paper_jobs if j["rule"] == "table5")
    assert "results/paper/if/alpaca_eval/if_llama3/simpo_bmc/judge.json" in table5


def test_every_method_is_trained_on_every_setup_and_replicated_over_the_seeds(paper_jobs):
    config = yaml.safe_load(PAPER.read_text())
    methods = set(config["methods"])
    trained = {tuple(f.split("/")[3:5]) for f in _outputs(paper_jobs, "train_preference")}
    assert trained == {(m, t) for m in methods for t in PAPER_TASKS}
    replicas = {tuple(f.split("/")[3:7]) for f in _outputs(paper_jobs, "train_seed")}
    assert replicas == {(f"seed{s}", "models", m, t) for s in (43, 44) for m in methods for t in ("qa", "math")}
    assert len(_outputs(paper_jobs, "evaluate_seed")) == 2 * len(replicas)  # predictions and scores


def test_jobs_ask_for_the_paper_scale_resources(paper_jobs):
    by_rule = {}
    for j in paper_jobs:
        by_rule.setdefault(j["rule"], []).append(j)
    for rule in TRAINING_RULES:
        for j in by_rule[rule]:
            r = j["resources"]
            assert (r["gpu"], r["cpus_per_gpu"], r["mem_mb"]) == (4, 8, 400000), (rule, r)
            assert r["runtime"] >= 720 and not j["local"]
    for rule in ("evaluate", "sample_losing", "generate_alpaca_eval", "reward_analysis"):
        assert {j["resources"]["gpu"] for j in by_rule[rule]} == {1}, rule
    # bridging through the OpenAI API asks for no GPU; the Llama-3-70B editor runs in the job on 4
    bridge = {j["output"][0].rsplit("/", 1)[1]: j["resources"]["gpu"] for j in by_rule["bridge_pairs"]}
    assert bridge["main.jsonl"] == 0 and bridge["llama3_70b.jsonl"] == 4
    # what reaches the network runs on the host (local rules), never as a compute-node job
    assert {j["rule"] for j in paper_jobs if j["local"]} == NETWORK_RULES


def test_the_slurm_profile_runs_the_paper_study_by_default():
    profile = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())
    assert profile["configfile"] == "configs/paper.yaml" and profile["executor"] == "slurm"


def test_paper_hyperparameters(tmp_path):
    from bmc.config import preference_settings, sft_settings

    config = yaml.safe_load(PAPER.read_text())
    assert sft_settings(config, "qa").epochs == 1 and sft_settings(config, "math").epochs == 2
    assert sft_settings(config, "qa").global_batch_size == 128 and sft_settings(config, "qa").learning_rate == 2e-5
    for task, beta, delta in (("qa", 0.05, 3.0), ("math", 0.05, 2.5), ("if_llama3", 0.01, 2.0)):
        s = preference_settings(config, task, "dpo_bmc")
        assert (s.beta, s.delta, s.learning_rate, s.global_batch_size, s.seed) == (beta, delta, 5e-7, 128, 42)
    assert config["editors"][config["bridging"]["editor"]]["model"] == "gpt-4-0125-preview"


# ------------------------------------------------------------------------------ task sources, checked early
def _micro():
    return yaml.safe_load(MICRO.read_text())


@pytest.mark.parametrize("change, named", [
    ({"sft_data": {"source": "qa_sft"}}, r"tasks\.qa: give exactly one data source"),   # a generator and a dataset
    ({"test_sets": {"X": ["gsm8k"]}, "generator": None}, r"tasks\.qa\.test_sets\.X: 'gsm8k' belongs to the paper's Math"),
    ({"pairs": {"source": "ultrafeedback_binarized"}, "sft_model": {"hub": "o/m"}, "generator": None},
     r"tasks\.qa: \['test_sets'\] do not apply"),
])
def test_a_task_with_mixed_or_wrong_sources_fails_naming_it(tmp_path, change, named):
    config = _micro()
    qa = config["tasks"]["qa"]
    for k, v in change.items():
        if v is None:  # no generator: drop its keys
            for key in ("generator", "seed", "train_size", "test_size"):
                qa.pop(key)
            if "sft_model" not in change:
                qa["sft_data"] = {"source": "qa_sft", "data_files": "x.parquet"}
        else:
            qa[k] = v
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(Exception, match=named):
        plan(tmp_path, [path])
    assert not (tmp_path / "results").exists()


def test_seeds_add_replicates_and_the_table_averages_them(tmp_path):
    planned = plan(tmp_path, [MICRO], config={"seeds_in_one_job": False, "models_in_one_job": False,
                                                     "tasks": {"qa": {"seeds": [0, 7]}}},
                   targets=("table1",))
    assert "results/micro/seeds/seed7/eval/qa/dpo_bmc/scores.json" in planned
    assert planned["results/micro/seeds/seed7/models/dpo_bmc/qa"] == "train_seed"
    assert not any("seeds/seed0" in f or "seeds/seed7/eval/qa/sft" in f for f in planned)  # main run; one SFT


def test_models_in_one_job_needs_seeds_in_one_job(tmp_path):
    with pytest.raises(Exception, match=r"models_in_one_job needs seeds_in_one_job"):
        plan(tmp_path, [MICRO], config={"seeds_in_one_job": False}, targets=("table1",))


def test_models_in_one_job_by_stage(tmp_path):
    """A list names the stages with one job per task: rewards alone needs no seeds_in_one_job; evaluation does."""
    planned = plan(tmp_path, [MICRO], config={"seeds_in_one_job": False, "models_in_one_job": ["rewards"]},
                   targets=("table1", "table4"))
    assert planned["results/micro/analysis/qa/dpo_bmc/rewards.json"] == "reward_analysis"
    assert planned["results/micro/eval/qa/dpo_bmc/scores.json"] == "evaluate"
    assert planned["results/micro/seeds/seed1/eval/qa/dpo_bmc/scores.json"] == "evaluate_seed"
    planned = plan(tmp_path, [MICRO], config={"models_in_one_job": ["evaluation"]}, targets=("table1",))
    assert planned["results/micro/eval/qa/sft/scores.json"] == "evaluate_task"
    with pytest.raises(Exception, match=r"models_in_one_job"):
        plan(tmp_path, [MICRO], config={"models_in_one_job": ["training"]}, targets=("table1",))


def test_seeds_in_one_job_need_the_same_seeds_in_every_task(tmp_path):
    with pytest.raises(Exception, match=r"seeds_in_one_job.*tasks\.qa\.seeds is \[0, 7\]"):
        plan(tmp_path, [MICRO], config={"tasks": {"qa": {"seeds": [0, 7]}}}, targets=("table1",))


def test_table_cells_are_mean_and_std_over_seeds():
    from bmc.report.paper_tables import compare, to_markdown
    from bmc.report.rows import accuracy_cells

    runs = [({"test_sets": {"World": {"accuracy": a}}, "average": a}, f"p{i}") for i, a in enumerate((40.0, 44.0))]
    cells = accuracy_cells({("qa", "dpo"): runs}, {"dpo": "DPO"}, {"qa": "QA"}, per_test_set=True)
    avg = next(c for c in cells if c.column == "Avg")
    assert (avg.value, round(avg.std, 3), avg.seeds) == (42.0, 2.828, 2) and "p0; p1" in avg.source
    frame = compare("table1", cells)
    assert "42.0 ± 2.8" in to_markdown("table1", frame, "t")
    one = accuracy_cells({("qa", "dpo"): runs[0]}, {"dpo": "DPO"}, {"qa": "QA"}, per_test_set=False)
    assert one[0].std is None and one[0].seeds == 1


# ------------------------------------------------------------------------------ the paper's data sources
def _parquet(path: Path, rows: list[dict]) -> Path:
    import datasets

    datasets.Dataset.from_list(rows).to_parquet(str(path))
    return path


def test_official_qa_sft_set_becomes_training_records():
    official = official_file("training_data/qa_sft/train-00000-of-00001.parquet")
    from bmc.data.training_data import prepare
    from bmc.templates import response_prefix

    records, summary = prepare("qa_sft", "sft", "train", data_files=str(official))
    assert summary["rows"] == len(records) == 15345
    first = records[0]
    assert first["answer"] == "bloody mess" and first["solution"].endswith("The answer is bloody mess")
    assert not first["solution"].startswith(response_prefix("qa"))  # the prefix is put back by the stages
    assert {r["type"] for r in records} == {"qa"}


def test_metamathqa_subset_is_seeded_and_a_bad_row_is_named(tmp_path):
    from bmc.data.training_data import prepare
    from bmc.io import RecordError

    rows = [{"query": f"What is {i} + 1?", "response": f"{i} + 1 = {i + 1}.\nThe answer is: {i + 1}",
             "type": "GSM_AnsAug", "original_question": ""} for i in range(50)]
    src = _parquet(tmp_path / "mm.parquet", rows)
    a, summary = prepare("metamathqa", "sft", "train", data_files=str(src), size=10, seed=3, check_size=False)
    b, _ = prepare("metamathqa", "sft", "train", data_files=str(src), size=10, seed=3, check_size=False)
    assert a == b and len(a) == 10 and summary["subset_seed"] == 3
    assert all(r["answer"] == str(int(r["problem"].split()[2]) + 1) for r in a)
    with pytest.raises(ValueError, match="expected 395000 rows"):
        prepare("metamathqa", "sft", "train", data_files=str(src))
    rows[4]["response"] = "no final answer here"
    bad = _parquet(tmp_path / "bad.parquet", rows)
    with pytest.raises(RecordError, match=r"row 5, field 'response'"):
        prepare("metamathqa", "sft", "train", data_files=str(bad), check_size=False)


def _ultrafeedback_rows(n: int) -> list[dict]:
    return [{"prompt": f"Write line {i}.", "prompt_id": f"id{i}",
             "chosen": [{"role": "user", "content": f"Write line {i}."}, {"role": "assistant", "content": f"Line {i}."}],
             "rejected": [{"role": "user", "content": f"Write line {i}."}, {"role": "assistant", "content": "No."}],
             "messages": [], "score_chosen": 8.0, "score_rejected": 2.0} for i in range(n)]


def test_ultrafeedback_pairs_are_open_ended_pairs(tmp_path):
    from bmc.data.training_data import prepare, test_records_from_pairs
    from bmc.io import PAIR_FIELDS, RecordError

    src = _parquet(tmp_path / "uf.parquet", _ultrafeedback_rows(6))
    pairs, summary = prepare("ultrafeedback_binarized", "pairs", "test_prefs", data_files={"test_prefs": str(src)},
                             check_size=False)
    assert pairs[1] == {"id": "id1", "problem": "Write line 1.", "answer": "", "type": "ultrafeedback",
                        "y_w": "Line 1.", "y_l": "No."}
    assert all(isinstance(p[k], t) for p in pairs for k, t in PAIR_FIELDS.items())
    assert test_records_from_pairs(pairs)[1]["solution"] == "Line 1."
    rows = _ultrafeedback_rows(3)
    rows[2]["rejected"] = [{"role": "user", "content": "x"}]
    bad = _parquet(tmp_path / "bad.parquet", rows)
    with pytest.raises(RecordError, match=r"row 3, field 'rejected'.*assistant"):
        prepare("ultrafeedback_binarized", "pairs", "train_prefs", data_files={"train_prefs": str(bad)},
                check_size=False)


def test_a_task_test_split_from_the_official_test_sets(tmp_path):
    from bmc.data.test_sets import test_split
    from bmc.evaluation.answers import is_correct

    qa = test_split({"ecqa": official_file("QA/ECQA/test.jsonl")})
    assert len(qa) == 2194 and qa[0]["type"] == "ecqa"
    assert all(is_correct(r["solution"], r["answer"], "qa") for r in qa[:200])
    math = test_split({"gsm8k": official_file("math/gsm8k/test.jsonl"), "mawps": official_file("math/mawps/test.jsonl")})
    assert [sum(r["type"] == n for r in math) for n in ("gsm8k", "mawps")] == [1319, 2065]
    # the gold response (held-out y_w) states the official gold answer, which the official grader accepts
    assert all(is_correct(r["solution"], r["answer"], "math") for r in math[:100] + math[-100:])


def test_a_bad_test_record_is_named(tmp_path):
    from bmc.data.test_sets import test_split
    from bmc.io import RecordError

    f = tmp_path / "gsm8k.jsonl"
    f.write_text(json.dumps({"question": "q", "idx": 0}) + "\n")
    with pytest.raises(RecordError, match=r"gsm8k.jsonl, row 1: not a gsm8k record"):
        test_split({"gsm8k": f})


# ------------------------------------------------------------------------------ hub models and pinned files
def _fake_hub_cache(cache: Path, repo_id: str, model_dir: Path, commit: str = "0" * 40) -> None:
    """A Hugging Face cache holding ``model_dir`` as ``repo_id`` at ``commit`` (the layout huggingface_hub reads)."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snap = repo / "snapshots" / commit
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snap.mkdir(parents=True)
    for f in model_dir.iterdir():
        (snap / f.name).write_bytes(f.read_bytes())


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory):
    """A tiny Llama without a pad token or chat template, like a hub base model."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from bmc.models.tokenizer import train_tokenizer

    out = tmp_path_factory.mktemp("tiny-llama")
    tok = train_tokenizer([f"word{i} and more words {i}" for i in range(200)], 300)
    tok.pad_token, tok.chat_template = None, None
    tok.save_pretrained(out)
    LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                 intermediate_size=32)).save_pretrained(out)
    return out


def test_a_hub_model_is_linked_from_the_cache_with_the_studys_template(tmp_path, tiny_llama):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from bmc.models.hub_models import SOURCE_FILE, fetch_model
    from bmc.templates import CHAT_TEMPLATE

    cache = tmp_path / "hub"
    _fake_hub_cache(cache, "org/tiny-base", tiny_llama, commit="a" * 40)
    out = tmp_path / "models/base"
    source = fetch_model("org/tiny-base", out, chat_template=CHAT_TEMPLATE, cache_dir=cache)
    assert source["commit"] == "a" * 40 and (out / SOURCE_FILE).is_file()
    weights = out / "model.safetensors"
    assert weights.is_symlink() and str(cache) in os.path.realpath(weights)  # not copied
    assert not (out / "tokenizer.json").is_symlink()  # written here: the cache is never written through
    tok = AutoTokenizer.from_pretrained(out)
    assert tok.chat_template == CHAT_TEMPLATE and tok.pad_token == tok.eos_token
    AutoModelForCausalLM.from_pretrained(out)
    with pytest.raises(RuntimeError, match=r"org/absent@main: it is not in the Hugging Face cache"):
        fetch_model("org/absent", tmp_path / "models/x", cache_dir=cache)
    assert not (tmp_path / "models/x").exists()


def test_a_pinned_source_file_is_checked(tmp_path):
    from bmc.data.sources import fetch, sha256_of

    src = tmp_path / "src.jsonl"
    src.write_text('{"a": 1}\n')
    digest = sha256_of(src)
    assert fetch(src.as_uri(), tmp_path / "out/src.jsonl", digest) == digest
    assert (tmp_path / "out/src.jsonl.sha256").read_text().startswith(digest)
    with pytest.raises(ValueError, match="differs from the pinned"):
        fetch(src.as_uri(), tmp_path / "out2/src.jsonl", "0" * 64)
    assert not (tmp_path / "out2/src.jsonl").exists()


# ------------------------------------------------------------------------------ a paper-shaped study, run
ZEPHYR_LIKE = ("{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}{{ eos_token }}\n{% endfor %}"
               "{% if add_generation_prompt %}<|assistant|>\n{% endif %}")


def _hub_model(cache: Path, repo_id: str, texts: list[str], chat_template: str | None) -> None:
    """A tiny Llama as ``repo_id`` in the Hugging Face cache ``cache``: a base model (no chat template, no pad
    token) or an SFT checkpoint with its own chat template."""
    import tempfile

    from transformers import LlamaConfig, LlamaForCausalLM

    from bmc.models.tokenizer import train_tokenizer

    tok = train_tokenizer(texts, 400)
    tok.pad_token, tok.chat_template = None, chat_template
    with tempfile.TemporaryDirectory() as d:
        tok.save_pretrained(d)
        LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                     intermediate_size=64, max_position_embeddings=256)).save_pretrained(d)
        _fake_hub_cache(cache, repo_id, Path(d), commit=("b" if chat_template else "c") * 40)


@pytest.mark.slow
def test_a_paper_shaped_study_runs_from_hub_files(tmp_path, monkeypatch):
    """configs/paper.yaml's shape at toy size, offline: a base model and an SFT checkpoint from a Hugging Face
    cache, a MetaMathQA-format SFT set, UltraFeedback-format pairs, hub-format test sets, a pinned source
    file, an OpenAI-compatible editor (a local stub), two seeds. Tables 1 and 4 come out."""
    from openai_stub import StubServer

    from bmc.data.sources import sha256_of

    fixtures = REPO / "tests/fixtures/hub"
    mm = [{"query": f"What is {i} plus {i % 7}?", "response": f"{i} + {i % 7} = {i + i % 7}.\nThe answer is: {i + i % 7}",
           "type": "GSM_AnsAug", "original_question": ""} for i in range(60)]
    uf = _ultrafeedback_rows(40)
    for r in uf:
        r["rejected"][-1]["content"] = "I am not sure about " + r["prompt"].lower()
    cache = tmp_path / "hf-cache"
    texts = [r["query"] + " " + r["response"] for r in mm] + [r["prompt"] for r in uf] * 2
    _hub_model(cache, "test/tiny-base", texts, None)
    _hub_model(cache, "test/tiny-chat", texts, ZEPHYR_LIKE)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))  # the jobs' Hugging Face cache
    data = tmp_path / "data"
    data.mkdir()
    _parquet(data / "metamathqa.parquet", mm)
    _parquet(data / "uf_train.parquet", uf[:30])
    _parquet(data / "uf_test.parquet", uf[30:])
    mawps = fixtures / "mawps/test.jsonl"
    config = yaml.safe_load(MICRO.read_text())
    for key in ("corpus", "tokenizer", "resources"):
        config.pop(key)
    config |= {
        "study": "hubmini",
        "seeds_in_one_job": False,  # as the paper study: one job per seed (the IF task has one seed, math two)
        "models_in_one_job": False,
        "base_model": {"hub": "test/tiny-base"},
        "sources": {"mawps": {"url": mawps.as_uri(), "sha256": sha256_of(mawps)}},
        "paper_data": {"sets": {"gsm8k": {"data_files": str(fixtures / "gsm8k/main/test.parquet"), "check_size": False},
                                "mawps": {"data_files": "resources/sources/mawps/test.jsonl", "check_size": False}}},
        "tasks": {
            "math": {"label": "Math", "paper_setup": "Math", "prompt_style": "math", "seeds": [0, 1],
                     "sft_data": {"source": "metamathqa", "data_files": str(data / "metamathqa.parquet"),
                                  "size": 40, "check_size": False},
                     "test_sets": {"GSM8k": ["gsm8k"], "MAWPS": ["mawps"]},
                     "preference": {"beta": 0.05, "delta": 2.5}},
            "chat": {"label": "Tiny", "paper_setup": "IF", "prompt_style": "chat",
                     "editor_prompts": "instruction_following", "sft_model": {"hub": "test/tiny-chat"},
                     "pairs": {"source": "ultrafeedback_binarized", "check_size": False,
                               "data_files": {"train_prefs": str(data / "uf_train.parquet"),
                                              "test_prefs": str(data / "uf_test.parquet")}},
                     "preference": {"beta": 0.01, "delta": 2.0}},
        },
        "methods": {m: c for m, c in config["methods"].items() if m in ("dpo", "dpo_bmc")},
        "bridging": {**config["bridging"], "editor": "stub", "ablations": {},
                     "filters": {"max_length_ratio": 20.0, "answer_check": True}},
        "analysis": {"heldout_questions": 12, "kl_examples": 4, "batch_size": 4,
                     "token_rewards": {"methods": ["dpo", "dpo_bmc"]}},
    }
    config.pop("sweeps", None)  # micro's names its tasks; the defaults sweep this study's (not run here)
    with StubServer() as server:
        config["editors"] = {"stub": {"kind": "openai", "model": "stub-model", "base_url": server.url,
                                      "api_key_env": None, "backoff_initial_s": 0.01}}
        path = tmp_path / "hubmini.yaml"
        path.write_text(yaml.safe_dump(config))
        from workflow_api import run

        run(tmp_path, [path], targets=("table1", "table4"), cores=2)
    out = tmp_path / "results/hubmini"
    base = json.loads((out / "models/base/hub_source.json").read_text())
    assert base["repo_id"] == "test/tiny-base" and base["commit"] == "c" * 40
    chat = json.loads((out / "models/sft/chat/hub_source.json").read_text())
    assert "chat_template" not in chat["tokenizer"]  # the checkpoint keeps its own template (a pad token added)
    assert (out / "data/math/train.jsonl").read_text().count("\n") == 40
    assert {json.loads(line)["type"] for line in (out / "data/math/test.jsonl").read_text().splitlines()} == {
        "gsm8k", "mawps"}
    assert json.loads((out / "pairs/chat/sampled_stats.json").read_text())["pairs"] == 30
    chat_bridge = json.loads((out / "pairs/chat/bridged/main_stats.json").read_text())
    assert chat_bridge["pairs_sent_to_editor"] == 30
    table1 = (out / "tables/table1.md").read_text()
    assert "± " in table1 and "Math" in table1 and "IF Tiny" not in table1  # two seeds; IF has no accuracy
    table4 = (out / "tables/table4.csv").read_text()
    assert "IF Tiny" in table4 and "reward accuracy" in table4
    seeds = json.loads((out / "seeds/seed1/models/dpo_bmc/math/run_info.json").read_text())
    assert seeds["seed"] == 1


def test_paper_table_rows_line_up_with_the_papers():
    from bmc.report.paper_tables import load_paper
    from bmc.report.rows import table_rows

    config = yaml.safe_load(PAPER.read_text())
    for table in ("table1", "table3", "table5", "table9"):
        paper_rows = set(load_paper(table)["row"])
        ours = set(table_rows(config, table).values())
        assert paper_rows <= ours, (table, paper_rows - ours)
