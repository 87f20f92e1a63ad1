"""The paper's own training data: the official math SFT set and the bridged pairs the authors released
(training_data/*_dpo_bmc in YJiangcm/BMC), read from files in alignment-handbook's preference format, matched to
their original y_w, described like an editor's output, planned from pinned URLs and (slow) trained on by a study.
Offline: every file here is a fixture written in the released files' format."""

from __future__ import annotations

import json
import os
from unittest import mock

import pytest
import yaml

from bmc.io import RecordError
from bmc.runtime import OFFLINE_ENV
from workflow_api import REPO, plan_jobs

PAPER = REPO / "configs/paper.yaml"
RELEASED = REPO / "configs/paper_released.yaml"
MICRO = REPO / "configs/micro.yaml"


def _m(*turns):
    return [{"role": r, "content": c} for r, c in turns]


def _parquet(path, rows):
    import datasets

    datasets.Dataset.from_list(rows).to_parquet(str(path))
    return str(path)


def _released_row(i, prompt=None, *, system=None, earlier=()):
    """A row as scripts/run_dpo_bmc.py reads it: chosen (the pseudo-winning response) and rejected (y_l) are whole
    conversations; a ``prompt`` column (text or messages) when given."""
    head = ([("system", system)] if system else []) + list(earlier) + [("user", f"Question {i}?")]
    row = {"prompt_id": f"p{i}", "chosen": _m(*head, ("assistant", f"Fixed answer {i}.")),
           "rejected": _m(*head, ("assistant", f"Wrong answer {i}.")),
           "messages": _m(*head, ("assistant", f"Fixed answer {i}."))}
    if prompt == "text":
        row["prompt"] = f"Question {i}?"
    elif prompt == "messages":
        row["prompt"] = _m(*head)
    return row


def _read(path, **kw):
    from bmc.data.training_data import prepare

    return prepare(kw.pop("source", "qa_dpo_bmc"), "released_pairs", kw.pop("split", "train"), str(path), **kw)


# ------------------------------------------------------------------------------------------------ reading
@pytest.mark.parametrize("prompt", [None, "text", "messages"])
def test_single_turn_rows_with_and_without_a_prompt_column(tmp_path, prompt):
    f = _parquet(tmp_path / "r.parquet", [_released_row(i, prompt) for i in range(3)])
    pairs, summary = _read(f)
    assert summary["rows"] == summary["records"] == 3
    assert pairs[1] == {"id": "p1", "problem": "Question 1?", "answer": "", "type": "released", "y_w": "",
                        "y_l": "Wrong answer 1.", "bridged_chosen": "Fixed answer 1.",
                        "bridged_rejected": "Wrong answer 1.", "y_w_from": None}


def test_a_multi_turn_prompt_is_kept_whole_and_trained_on_as_a_conversation(tmp_path):
    from bmc.training.preference import preference_dataset, unpaired_dataset

    earlier = [("user", "Hi."), ("assistant", "Hello.")]
    rows = [_released_row(0, system="Be brief.", earlier=earlier), _released_row(1, "messages", system="Be brief.")]
    pairs, _ = _read(_parquet(tmp_path / "r.parquet", rows))
    assert pairs[0]["prompt_messages"] == _m(("system", "Be brief."), *earlier, ("user", "Question 0?"))
    assert pairs[1]["prompt_messages"] == _m(("system", "Be brief."), ("user", "Question 1?"))
    assert pairs[0]["problem"] == "Question 0?"  # the last user turn: what gold responses are matched by
    ds = preference_dataset(pairs, "bridged")
    assert ds[0]["prompt"] == pairs[0]["prompt_messages"] and ds[0]["chosen"][0]["content"] == "Fixed answer 0."
    assert unpaired_dataset(pairs, "bridged")[1]["prompt"] == pairs[0]["prompt_messages"]


def test_a_prompt_the_chat_template_refuses_is_named(tokenizer):
    from bmc.templates import CHAT_TEMPLATE
    from bmc.training.preference import check_lengths

    assert tokenizer.chat_template == CHAT_TEMPLATE  # user and assistant turns only, as the QA and math setups
    pairs = [{"problem": "Q?", "y_w": "A.", "y_l": "B.", "bridged_chosen": "A.", "bridged_rejected": "B."}] * 2
    pairs[1] = pairs[1] | {"prompt_messages": _m(("system", "Be brief."), ("user", "Q?"))}
    assert check_lengths(pairs[:1], "bridged", tokenizer, 64, "error", "main.jsonl")[1]["pairs"] == 1
    with pytest.raises(RecordError, match=r"main\.jsonl, row 2, field 'prompt_messages'.*only user and assistant"):
        check_lengths(pairs, "bridged", tokenizer, 64, "error", "main.jsonl")


@pytest.mark.parametrize("as_messages", [True, False])
def test_an_original_y_w_column_is_used(tmp_path, as_messages):
    rows = [_released_row(i) for i in range(2)]
    for i, row in enumerate(rows):
        gold = f"Gold {i}."
        row["original_chosen"] = _m((("user", f"Question {i}?")), ("assistant", gold)) if as_messages else gold
    pairs, _ = _read(_parquet(tmp_path / "r.parquet", rows))
    assert [(p["y_w"], p["y_w_from"]) for p in pairs] == [("Gold 0.", "file"), ("Gold 1.", "file")]


def _break(row, how):
    if how == "chosen_ends_with_user":
        row["chosen"] = row["chosen"][:-1]
    elif how == "rejected_other_prompt":
        row["rejected"][0]["content"] = "Another question?"
    elif how == "prompt_not_messages":
        row["prompt"] = 7
    elif how == "prompt_ends_with_assistant":
        row["prompt"] = _m(("user", "Q?"), ("assistant", "A."))
    elif how == "bad_role":
        row["chosen"][0]["role"] = "tool"
    elif how == "no_rejected":
        del row["rejected"]
    return row


@pytest.mark.parametrize("how, field", [
    ("chosen_ends_with_user", "chosen"), ("rejected_other_prompt", "rejected"), ("prompt_not_messages", "prompt"),
    ("prompt_ends_with_assistant", "prompt"), ("bad_role", "chosen"), ("no_rejected", "rejected")])
def test_a_malformed_row_fails_naming_file_row_and_column(tmp_path, how, field):
    from bmc.data.training_data import convert_released_pairs

    rows = [_released_row(i) for i in range(4)]
    rows[2] = _break(rows[2], how)
    with pytest.raises(RecordError, match=rf"released\.parquet, row 3, field '{field}'"):
        convert_released_pairs(rows, "released.parquet")


def test_a_malformed_row_in_a_parquet_file_names_it(tmp_path):
    good = _parquet(tmp_path / "train-00000-of-00002.parquet", [_released_row(i, "text") for i in range(3)])
    rows = [_released_row(i, "text") for i in range(3, 6)]
    rows[1]["prompt"] = ""
    rows[1]["chosen"] = rows[1]["chosen"][-1:]  # no turns before the response and no prompt column
    rows[1]["rejected"] = rows[1]["rejected"][-1:]
    bad = _parquet(tmp_path / "train-00001-of-00002.parquet", rows)
    from bmc.data.training_data import prepare

    with pytest.raises(RecordError, match=r"train-00001-of-00002\.parquet, row 2, field 'prompt'"):
        prepare("ultrafeedback_dpo_bmc", "released_pairs", "train", [good, bad])
    pairs, summary = prepare("ultrafeedback_dpo_bmc", "released_pairs", "train", [good, good])
    assert len(pairs) == summary["rows"] == 6


def test_the_math_sft_set_becomes_training_records(tmp_path):
    from bmc.data.training_data import prepare

    rows = [{"prompt_id": f"gsm_{i}", "messages": _m(("user", f"What is {i} + 2?"),
                                                     ("assistant", f"{i} + 2 = {i + 2}.\nThe answer is: {i + 2}"))}
            for i in range(5)]
    records, summary = prepare("math_sft", "sft", "train", _parquet(tmp_path / "m.parquet", rows))
    assert records[3] == {"problem": "What is 3 + 2?", "solution": "3 + 2 = 5.\nThe answer is: 5", "answer": "5",
                          "type": "gsm"}
    rows[4]["messages"][1]["content"] = "I do not know."
    with pytest.raises(RecordError, match=r"bad\.parquet, row 5, field 'messages'.*The answer is"):
        prepare("math_sft", "sft", "train", _parquet(tmp_path / "bad.parquet", rows))


# ------------------------------------------------------------------------------------ original y_w, stats
def test_original_y_w_is_matched_by_prompt_and_counted():
    from bmc.data.training_data import match_originals
    from bmc.training.preference import with_original

    pairs = [{"problem": p, "y_w": w, "answer": ""} for p, w in
             (("Q  one?", ""), ("Q two?", "from file"), ("Q three?", ""), ("Q one?", ""))]
    refs = [{"problem": "Q one?", "y_w": "Gold one.", "answer": "1"}, {"problem": "Q two?", "y_w": "Gold two."}]
    counts = match_originals(pairs, refs, "y_w", "train.jsonl")
    assert counts == {"from_file": 1, "matched": 2, "unmatched": 1, "references": "train.jsonl"}
    assert [p["y_w"] for p in pairs] == ["Gold one.", "from file", "", "Gold one."]
    assert pairs[0]["answer"] == "1" and pairs[0]["y_w_from"] == "matched" and pairs[2]["y_w_from"] is None
    kept, left_out = with_original(pairs, "original")
    assert len(kept) == 3 and left_out == 1
    assert with_original(pairs, "bridged") == (pairs, 0)  # the bridged pair needs no y_w
    with pytest.raises(ValueError, match="two different references for the prompt 'Q one\\?'"):
        match_originals(pairs, refs + [{"problem": "Q one?", "y_w": "Other."}], "y_w", "train.jsonl")


def test_released_stats_have_the_form_of_an_editors(tokenizer):
    from bmc.bridging.bridge import bridge, released_stats
    from bmc.bridging.editors.rule import RuleEditor
    from bmc.settings import BridgeSettings

    pairs = [{"problem": "What is 2 + 2?", "answer": "4", "y_w": "2 + 2 = 4.\nThe answer is 4",
              "y_l": "2 + 2 = 5.\nThe answer is 5", "bridged_chosen": "2 + 2 = 4.\nThe answer is 4",
              "bridged_rejected": "2 + 2 = 5.\nThe answer is 5"},
             {"problem": "Say hi.", "answer": "", "y_w": "", "y_l": "Hi.", "bridged_chosen": "Hi.",
              "bridged_rejected": "Hi."}]
    stats = released_stats(pairs, tokenizer, "math_dpo_bmc", "m.parquet", {"matched": 1})
    _, ours = bridge(pairs[:1], RuleEditor(), tokenizer, BridgeSettings(), style="math")
    shared = {"editor", "model", "direction", "pairs_in", "pairs_out", "pairs_modified", "identical_pairs",
              "identical_share", "mean_token_edit_distance"}
    assert shared <= set(stats) and shared <= set(ours)
    assert {k: stats[k] for k in ("pairs_out", "pairs_modified", "identical_pairs", "identical_share")} == {
        "pairs_out": 2, "pairs_modified": 1, "identical_pairs": 1, "identical_share": 0.5}
    d = stats["mean_token_edit_distance"]
    assert d["pairs_with_original_y_w"] == 1 and d["original_pair (y_w, y_l)"] > 0
    assert d["bridged_pair"] == d["original_pair (y_w, y_l)"] / 2  # the identical pair's distance is 0
    assert set(d) >= {"original_pair (y_w, y_l)", "bridged_pair"} and set(ours["mean_token_edit_distance"]) >= {
        "original_pair (y_w, y_l)", "bridged_pair"}


# ------------------------------------------------------------------------------------------ configs, plans
def test_the_official_files_are_pinned_to_the_official_tree():
    sources = yaml.safe_load(PAPER.read_text())["sources"]
    commit = "958d49e54778ed41e15bb65c0a4184b04df7933b"
    # git ls-tree -r 958d49e training_data (the official repository)
    tree = {"math_sft": "faa3a2b4e5576edc46bd886e79c228dc6b58d8ff",
            "qa_dpo_bmc": "507fa0b7fd896886a8b8f97d6f78753ed419ec3f",
            "math_dpo_bmc": "9e431f73c54ed1772612d2e7b8fe63c13bb1de26",
            "ultrafeedback_dpo_bmc_train0": "14e43cf9137635109f57ad711e8b2147563bde13",
            "ultrafeedback_dpo_bmc_train1": "e50733eef4092a7f255c93f1947e53c26cb0ffad",
            "ultrafeedback_dpo_bmc_test": "a22e23dcd89d8e70995223e2b3c7d0d6b733d671"}
    for name, blob in tree.items():
        assert sources[name]["git_blob"] == blob and f"/BMC/{commit}/training_data/" in sources[name]["url"]


def test_a_file_pinned_by_its_git_object_id_is_checked(tmp_path):
    import subprocess

    from bmc.data.sources import fetch, git_blob_of

    src = tmp_path / "src.parquet"
    src.write_bytes(b"PAR1" + bytes(range(256)) * 40)
    expected = subprocess.run(["git", "hash-object", str(src)], capture_output=True, text=True,
                              check=True).stdout.strip()
    assert git_blob_of(src) == expected
    fetch(src.as_uri(), tmp_path / "ok/src.parquet", git_blob=expected)
    with pytest.raises(ValueError, match="git object id .* differs from the pinned"):
        fetch(src.as_uri(), tmp_path / "bad/src.parquet", git_blob="0" * 40)
    assert not (tmp_path / "bad/src.parquet").exists()


@pytest.mark.parametrize("change, named", [
    ({"source": "qa_sft"}, r"schema|qa_sft"),
    ({"source": "qa_dpo_bmc", "split": "test"}, r"tasks\.qa\.released_pairs\.split: 'test'"),
])
def test_a_bad_released_pairs_block_fails_naming_it(tmp_path, change, named):
    from workflow_api import plan

    config = yaml.safe_load(MICRO.read_text())
    config["tasks"]["qa"]["released_pairs"] = {"data_files": "x.parquet", **change}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(Exception, match=named):
        plan(tmp_path, [path])


def test_the_released_study_trains_every_setup_without_sampling_or_an_editor(tmp_path):
    with mock.patch.dict(os.environ, {**OFFLINE_ENV, "OPENAI_API_KEY": "sk-dry-run-never-used"}):
        jobs = plan_jobs(tmp_path, [PAPER, RELEASED], targets=("table1", "table2", "table5"))
    rules = {f: j["rule"] for j in jobs for f in j["output"]}
    r = "results/paper_released"
    for task, files in (("qa", ["qa_dpo_bmc/train-00000-of-00001.parquet"]),
                        ("math", ["math_dpo_bmc/train-00000-of-00001.parquet"]),
                        ("if_llama3", ["ultrafeedback_dpo_bmc_train0/train-00000-of-00002.parquet",
                                       "ultrafeedback_dpo_bmc_train1/train-00001-of-00002.parquet"])):
        assert rules[f"{r}/pairs/{task}/bridged/main.jsonl"] == "released_pairs"
        job = next(j for j in jobs if f"{r}/pairs/{task}/bridged/main.jsonl" in j["output"])
        assert all(rules[f"resources/sources/{f}"] == "fetch_source" for f in files)
        assert {f"resources/sources/{f}" for f in files} <= set(job["input"])
        assert job["input"][-2:] == [f"{r}/{'pairs' if task.startswith('if') else 'data'}/{task}/"
                                     f"{'sampled' if task.startswith('if') else 'train'}.jsonl",
                                     f"{r}/models/sft/{task}"]
    names = {j["rule"] for j in jobs}
    assert not names & {"sample_losing", "bridge_pairs"}  # the Modeling phase alone
    assert {"train_preference", "table2", "judge_alpaca_eval"} <= names
    # the official math SFT set trains math's SFT model in both studies
    assert rules[f"{r}/data/math/train.jsonl"] == "prepare_sft_data"
    assert rules["resources/sources/math_sft/train-00000-of-00001.parquet"] == "fetch_source"


# --------------------------------------------------------------------------------------- a study, run
@pytest.mark.slow
def test_a_study_trains_on_released_pairs(tmp_path):
    """The micro study's QA task with a released bridged set in the handbook's format instead of its editor: two
    of the file's prompts are not training questions (their y_w cannot be matched), one pair is multi-turn; DPO and
    DPO-BMC train and are evaluated, with no sampling and no editor job."""
    from workflow_api import plan, run

    config = yaml.safe_load(MICRO.read_text())
    config["study"] = "released"
    config["tasks"] = {"qa": config["tasks"]["qa"]}
    config["methods"] = {m: config["methods"][m] for m in ("dpo", "dpo_bmc")}
    config["bridging"]["ablations"] = {}
    config.pop("sweeps", None)
    config["analysis"] = {**config.get("analysis", {}), "token_rewards": {"methods": ["dpo", "dpo_bmc"]}}
    path = tmp_path / "released.yaml"
    path.write_text(yaml.safe_dump(config))
    out = tmp_path / "results/released"
    run(tmp_path, [path], targets=(str(out.relative_to(tmp_path) / "data/qa/train.jsonl"),))
    train = [json.loads(line) for line in (out / "data/qa/train.jsonl").read_text().splitlines()]
    rows = []
    for i, r in enumerate(train[:20]):
        gold = "Let's think step by step.\n" + r["solution"]
        wrong = gold.replace(f"The answer is {r['answer']}", "The answer is Z")
        fixed = wrong.replace("The answer is Z", f"The answer is {r['answer']}").replace(".", " .", 1)
        rows.append({"prompt_id": f"qa_{i}", "prompt": r["problem"],
                     "chosen": _m(("user", r["problem"]), ("assistant", fixed)),
                     "rejected": _m(("user", r["problem"]), ("assistant", wrong))})
    for i in range(2):  # prompts the training split does not have
        rows.append(_released_row(100 + i, "text"))
    rows.append(_released_row(200, earlier=[("user", "Hi."), ("assistant", "Hello.")]))  # multi-turn
    released = _parquet(tmp_path / "qa_dpo_bmc.parquet", rows)
    config["tasks"]["qa"]["released_pairs"] = {"source": "qa_dpo_bmc", "data_files": released}
    path.write_text(yaml.safe_dump(config))
    planned = set(plan(tmp_path, [path], targets=("table1",)).values())
    assert "released_pairs" in planned and not planned & {"sample_losing", "bridge_pairs"}
    run(tmp_path, [path], targets=("table1",))
    stats = json.loads((out / "pairs/qa/bridged/main_stats.json").read_text())
    assert stats["pairs_out"] == 23 and stats["identical_pairs"] == 0
    assert stats["original_y_w"] == {"from_file": 0, "matched": 20, "unmatched": 3,
                                     "references": "results/released/data/qa/train.jsonl"}
    assert stats["mean_token_edit_distance"]["pairs_with_original_y_w"] == 20
    pairs = [json.loads(line) for line in (out / "pairs/qa/bridged/main.jsonl").read_text().splitlines()]
    assert pairs[0]["y_w"].endswith(train[0]["solution"]) and pairs[-1]["prompt_messages"][1]["role"] == "assistant"
    dpo = json.loads((out / "models/dpo/qa/run_info.json").read_text())["result"]
    bmc = json.loads((out / "models/dpo_bmc/qa/run_info.json").read_text())["result"]
    assert dpo["length_checks"]["dropped_without_original_y_w"] == 3 and dpo["examples"] == 20
    assert bmc["length_checks"]["dropped_without_original_y_w"] == 0 and bmc["examples"] == 23
    assert "DPO-BMC" in (out / "tables/table1.md").read_text()
