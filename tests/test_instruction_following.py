"""Instruction following (Table 2): prompt files as the official ones, chat templates as the official code
renders them, answers on the tiny model in the formats alpaca_eval and arena-hard-auto read, the config block,
Table 2 cells, and the workflow plan with and without the block."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import REPO, official_file

from bmc.config import ConfigError
from bmc.models.generation import ResumableGenerator, TransformersGenerator
from bmc.instruction_following.answers import (
    CHAT_TEMPLATES,
    IFDecoding,
    count_bos,
    decoding_for,
    generate_answers,
    render_prompt,
    stop_token_ids,
    write_answers,
)
from bmc.data.converters import SizeError
from bmc.instruction_following.prompt_sets import prepare_prompt_set, read_prompt_set
from bmc.instruction_following.study import if_jobs, if_settings, judge_key_missing, table2_cells
from bmc.io import RecordError

# The official prompts (eval/alpacaeval2/alpaca_eval_inference.py, eval/arenahard/arena_hard_inference.py).
OFFICIAL_LLAMA3 = ("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n{}<|eot_id|>"
                   "<|start_header_id|>assistant<|end_header_id|>\n\n")
OFFICIAL_ZEPHYR = "<|user|>\n{}</s>\n<|assistant|>\n"


# ------------------------------------------------------------------------------------------ prompt files
def test_alpaca_eval_prompt_file_reproduces_the_official_file_byte_for_byte(tmp_path):
    official = official_file("alpacaeval2/alpaca_eval.json")
    rows = json.loads(official.read_text(encoding="utf-8"))
    hub = tmp_path / "alpaca_eval.json"  # the hub's raw file: the same list, serialised differently
    hub.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    assert hub.read_bytes() != official.read_bytes()
    out = tmp_path / "prompts.json"
    summary = prepare_prompt_set("alpaca_eval", out, data_files=[str(hub)])
    assert summary["records"] == 805
    assert out.read_bytes() == official.read_bytes()


def test_arena_hard_prompt_file_reproduces_the_official_file_byte_for_byte(tmp_path):
    import pandas as pd

    official = official_file("arenahard/arena_hard.jsonl")
    rows = [json.loads(line) for line in official.read_text(encoding="utf-8").splitlines()]
    hub = tmp_path / "train-00000-of-00001.parquet"  # lmarena-ai/arena-hard-auto-v0.1 is a parquet dataset
    pd.DataFrame(rows).to_parquet(hub)
    out = tmp_path / "prompts.jsonl"
    summary = prepare_prompt_set("arena_hard", out, data_files=[str(hub)])
    assert summary["records"] == 500
    assert out.read_bytes() == official.read_bytes()


def _alpaca_rows(n):
    return [{"dataset": "helpful_base", "instruction": f"Name {i + 1} colours.", "output": f"ref {i}",
             "generator": "gpt4_1106_preview"} for i in range(n)]


def _arena_rows(n):
    return [{"question_id": f"q{i}", "category": "arena-hard-v0.1", "cluster": "c",
             "turns": [{"content": f"Explain {i + 1} things."}]} for i in range(n)]


def test_sizes_are_checked_unless_a_subset_is_allowed(tmp_path):
    src = tmp_path / "a.json"
    src.write_text(json.dumps(_alpaca_rows(3)))
    with pytest.raises(SizeError, match="expected 805 rows"):
        prepare_prompt_set("alpaca_eval", tmp_path / "out.json", data_files=str(src))
    assert not (tmp_path / "out.json").exists()
    prepare_prompt_set("alpaca_eval", tmp_path / "out.json", data_files=str(src), check_size=False)
    assert [r["instruction"] for r in read_prompt_set("alpaca_eval", tmp_path / "out.json")] == \
        [r["instruction"] for r in _alpaca_rows(3)]


def test_bad_rows_name_file_row_and_field(tmp_path):
    rows = _arena_rows(3)
    rows[1]["turns"] = []
    src = tmp_path / "bad.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(RecordError, match=r"bad\.jsonl, row 2, field 'turns'"):
        prepare_prompt_set("arena_hard", tmp_path / "out.jsonl", data_files=str(src), check_size=False)
    dup = _alpaca_rows(3)
    dup[2]["instruction"] = dup[0]["instruction"]
    src = tmp_path / "dup.json"
    src.write_text(json.dumps(dup))
    with pytest.raises(RecordError, match=r"dup\.json, row 3, field 'instruction': duplicate of row 1"):
        prepare_prompt_set("alpaca_eval", tmp_path / "out.json", data_files=str(src), check_size=False)


# ------------------------------------------------------------------------------------------ chat templates
@pytest.fixture(scope="module")
def llama3_tokenizer():
    """A small tokenizer with Llama-3's special tokens, adding <|begin_of_text|> as Llama-3's tokenizer does."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.train_from_iterator(["user assistant explain the colours of the rainbow"] * 20,
                            trainers.BpeTrainer(vocab_size=300, special_tokens=specials, show_progress=False,
                                                initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.post_processor = processors.TemplateProcessing(
        single="<|begin_of_text|> $A", special_tokens=[("<|begin_of_text|>", tok.token_to_id("<|begin_of_text|>"))])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|begin_of_text|>", eos_token="<|end_of_text|>")


def test_llama3_template_keeps_the_official_double_bos_and_can_drop_it(llama3_tokenizer):
    tok, q = llama3_tokenizer, "Explain the colours of the rainbow."
    official = render_prompt(CHAT_TEMPLATES["llama3"], q, tok, bos="official")
    assert official == OFFICIAL_LLAMA3.format(q)
    assert count_bos(official, tok) == 2  # the literal one and the one the tokenizer adds (vLLM does the same)
    single = render_prompt(CHAT_TEMPLATES["llama3"], q, tok, bos="single")
    assert count_bos(single, tok) == 1
    assert tok(single)["input_ids"] == tok(official)["input_ids"][1:]  # exactly one BOS fewer, nothing else
    assert stop_token_ids(CHAT_TEMPLATES["llama3"], tok) == (tok.convert_tokens_to_ids("<|eot_id|>"),)


def test_zephyr_template_and_the_tokenizer_template(tokenizer):
    q = "Explain the colours of the rainbow."
    assert render_prompt(CHAT_TEMPLATES["zephyr"], q, tokenizer) == OFFICIAL_ZEPHYR.format(q)
    assert render_prompt(CHAT_TEMPLATES["zephyr"], q, tokenizer, bos="single") == OFFICIAL_ZEPHYR.format(q)
    assert stop_token_ids(CHAT_TEMPLATES["zephyr"], tokenizer) == ()  # EOS only, as the official code
    # this project's chat template writes {{ bos_token }} too: the same double BOS, and the same fix
    own = render_prompt(CHAT_TEMPLATES["tokenizer"], q, tokenizer, bos="official")
    assert own == tokenizer.apply_chat_template([{"role": "user", "content": q}], tokenize=False,
                                                add_generation_prompt=True)
    assert count_bos(own, tokenizer) == 2
    assert count_bos(render_prompt(CHAT_TEMPLATES["tokenizer"], q, tokenizer, bos="single"), tokenizer) == 1
    with pytest.raises(ValueError, match="no token '<\\|eot_id\\|>'"):
        stop_token_ids(CHAT_TEMPLATES["llama3"], tokenizer)


def test_official_decoding_and_overrides():
    assert decoding_for("alpaca_eval") == IFDecoding(temperature=0.9, max_new_tokens=2048, top_p=1.0)
    assert decoding_for("arena_hard") == IFDecoding(temperature=0.0, max_new_tokens=2048, top_p=1.0)
    assert decoding_for("arena_hard", {"max_new_tokens": 8}).max_new_tokens == 8
    with pytest.raises(ValueError, match="unknown key"):
        decoding_for("arena_hard", {"max_tokens": 8})


# ------------------------------------------------------------------------------------------ answers
def test_answers_on_the_tiny_model_in_the_formats_the_judges_read(tmp_path, model_dir, tokenizer):
    gen = ResumableGenerator(TransformersGenerator(model_dir, batch_size=2, device="cpu"), tmp_path / "c.jsonl",
                             model_dir)
    tpl = CHAT_TEMPLATES["tokenizer"]
    # AlpacaEval: a JSON list of {dataset, instruction, output, generator}, json.dumps(indent=4) as the official code
    ae = generate_answers(gen, tokenizer, "alpaca_eval", _alpaca_rows(3), "micro-qa-sft", tpl, "single",
                          IFDecoding(temperature=0.9, max_new_tokens=6))
    stats = write_answers(ae, tmp_path / "model_outputs.json", tmp_path / "generation.json")
    text = (tmp_path / "model_outputs.json").read_text()
    rows = json.loads(text)
    assert text == json.dumps(rows, indent=4)
    assert [list(r) for r in rows] == [["dataset", "instruction", "output", "generator"]] * 3
    assert [r["instruction"] for r in rows] == [r["instruction"] for r in _alpaca_rows(3)]
    assert {r["generator"] for r in rows} == {"micro-qa-sft"}
    assert stats["n"] == 3 and stats["bos_tokens_at_start"] == 1 and stats["decoding"]["temperature"] == 0.9
    try:  # alpaca_eval's own reader, where the judge extra is installed
        from bmc.instruction_following.alpaca_eval import import_alpaca_eval

        import_alpaca_eval()
        from alpaca_eval.utils import load_or_convert_to_dataframe

        df = load_or_convert_to_dataframe(str(tmp_path / "model_outputs.json"))
        assert list(df["output"]) == [r["output"] for r in rows]
    except Exception as e:  # noqa: BLE001 - only the absence of alpaca_eval is tolerated
        if "alpaca_eval" not in str(e):
            raise
    # Arena-Hard: {question_id, answer_id, model_id, choices: [{index, turns: [{content, token_len}]}]} per line
    ah = generate_answers(gen, tokenizer, "arena_hard", _arena_rows(3), "micro-qa-sft", tpl, "official",
                          IFDecoding(temperature=0.0, max_new_tokens=6))
    write_answers(ah, tmp_path / "answers.jsonl", tmp_path / "generation_ah.json")
    lines = (tmp_path / "answers.jsonl").read_text().splitlines()
    answers = [json.loads(line) for line in lines]
    assert lines == [json.dumps(a) for a in answers]
    assert [list(a) for a in answers] == [["question_id", "answer_id", "model_id", "choices"]] * 3
    assert [a["answer_id"] for a in answers] == [0, 1, 2]
    # arena-hard-auto v0.1 keys answers by question_id and reads choices[0]["turns"][0] (content, token_len)
    by_id = {a["question_id"]: a for a in answers}
    for q in _arena_rows(3):
        turn = by_id[q["question_id"]]["choices"][0]["turns"][0]
        assert turn["token_len"] == len(tokenizer.tokenize(turn["content"]))
    # greedy answers come back from the per-item cache on a rerun, unchanged
    again = generate_answers(gen, tokenizer, "arena_hard", _arena_rows(3), "micro-qa-sft", tpl, "official",
                             IFDecoding(temperature=0.0, max_new_tokens=6))
    assert again.resumed == 3 and again.outputs == ah.outputs
    assert ah.bos_tokens == 2 and ah.prompts[0].startswith(tokenizer.bos_token)


# ------------------------------------------------------------------------------------------ config, Table 2
def _config(block=None):
    config = yaml.safe_load((REPO / "configs" / "micro.yaml").read_text())
    if block is not None:
        config["instruction_following"] = block
    return config


def test_settings_defaults_and_errors_naming_the_key():
    assert if_settings(_config()) is None and if_jobs(None) == []
    s = if_settings(_config({"setups": {"qa": {}}}))
    assert s["benchmarks"] == ["alpaca_eval", "arena_hard"]
    assert s["setups"]["qa"] == {"paper_setup": "IF (QA)", "template": "tokenizer", "bos": "official",
                                 "models": ["sft", *_config()["methods"]]}
    assert s["judge"]["model"] == "gpt-4-1106-preview" and s["judge"]["api_key_env"] == "OPENAI_API_KEY"
    assert s["judge"]["cache_dir"] == "results/micro/cache/judges"
    assert s["decoding"]["alpaca_eval"].temperature == 0.9
    assert len(if_jobs(s)) == 2 * (1 + len(_config()["methods"]))
    with pytest.raises(ConfigError, match=r"instruction_following\.setups\.nope"):
        if_settings(_config({"setups": {"nope": {}}}))
    with pytest.raises(ConfigError, match=r"instruction_following\.setups\.qa\.models"):
        if_settings(_config({"setups": {"qa": {"models": ["sft", "ghost"]}}}))
    with pytest.raises(ConfigError, match="column group"):
        if_settings(_config({"setups": {"qa": {"paper_setup": "X"}, "math": {"paper_setup": "X"}}}))
    assert "BMC_NO_SUCH_KEY" in judge_key_missing(
        if_settings(_config({"setups": {"qa": {}}, "judge": {"api_key_env": "BMC_NO_SUCH_KEY"}})), {})
    assert judge_key_missing(if_settings(_config({"setups": {"qa": {}}, "judge": {"api_key_env": None}})), {}) is None


def test_table2_cells_beside_the_paper_with_missing_cells_missing():
    from bmc.report.paper_tables import compare

    results = {("alpaca_eval", "qa", "sft"): ({"length_controlled_winrate": 7.0, "win_rate": 5.0,
                                               "avg_length": 900.0}, "ae/sft.json"),
               ("arena_hard", "qa", "sft"): ({"win_rate": 3.0, "avg_tokens": 400}, "ah/sft.json"),
               ("alpaca_eval", "qa", "dpo"): ({"length_controlled_winrate": None, "win_rate": 9.0,
                                               "avg_length": 1000.0}, "ae/dpo.json")}
    cells = table2_cells(results, {"sft": "SFT", "dpo": "DPO"}, {"qa": "IF Llama3-8B"})
    frame = compare("table2", cells).set_index(["row", "setup", "column"])
    assert frame.loc[("SFT", "IF Llama3-8B", "AE2 LC"), "ours"] == 7.0
    assert frame.loc[("SFT", "IF Llama3-8B", "AE2 LC"), "paper"] == 7.5
    assert frame.loc[("SFT", "IF Llama3-8B", "AH WR"), "source"] == "rule judge_arena_hard: ah/sft.json"
    dpo_lc = frame.loc[("DPO", "IF Llama3-8B", "AE2 LC")]
    assert dpo_lc["ours"] != dpo_lc["ours"] and dpo_lc["paper"] == dpo_lc["paper"]  # ours NaN, the paper's kept
    assert frame.loc[("DPO", "IF Llama3-8B", "AE2 WR"), "ours"] == 9.0
    mistral = frame.xs("IF Mistral-7B", level="setup")
    assert mistral["ours"].isna().all() and mistral["paper"].notna().all()


# ------------------------------------------------------------------------------------------ the workflow
IF_BLOCK = {"limit": 2, "setups": {"qa": {"models": ["sft", "dpo"], "paper_setup": "IF Llama3-8B"}},
            "judge": {"base_url": "http://127.0.0.1:9/v1", "api_key_env": "BMC_TEST_JUDGE_KEY"}}


def _plan(tmp_path, block):
    from workflow_api import plan

    tmp_path.mkdir(parents=True, exist_ok=True)
    override = tmp_path / "if.yaml"
    override.write_text(yaml.safe_dump({"instruction_following": block} if block else {}))
    return plan(tmp_path / "wd", [REPO / "configs" / "micro.yaml", override])


def test_plan_with_the_block_and_a_key_judges_and_makes_table2(tmp_path, monkeypatch):
    monkeypatch.setenv("BMC_TEST_JUDGE_KEY", "sk-plan-test")
    jobs = _plan(tmp_path, IF_BLOCK)
    by_rule = {}
    for f, rule in jobs.items():
        by_rule.setdefault(rule, []).append(f)
    assert sorted(by_rule["prepare_prompt_set"]) == ["results/micro/if/prompts/alpaca_eval.json",
                                                   "results/micro/if/prompts/arena_hard.jsonl"]
    for rule in ("generate_alpaca_eval", "generate_arena_hard", "judge_alpaca_eval", "judge_arena_hard"):
        assert {f.rsplit("/", 3)[1:3][0] + "/" + f.rsplit("/", 2)[1] for f in by_rule[rule]} == \
            {"qa/sft", "qa/dpo"}, rule
    assert any(f.endswith("qa/dpo/model_outputs.json") for f in by_rule["generate_alpaca_eval"])
    assert any(f.endswith("qa/sft/answers.jsonl") for f in by_rule["generate_arena_hard"])
    assert any(f.endswith("tables/table2.csv") for f in by_rule["table2"])


def test_plan_without_a_key_builds_answers_only_and_without_the_block_nothing(tmp_path, monkeypatch, capfd):
    monkeypatch.delenv("BMC_TEST_JUDGE_KEY", raising=False)
    rules = set(_plan(tmp_path, IF_BLOCK).values())
    assert "environment variable BMC_TEST_JUDGE_KEY, which is not set" in capfd.readouterr().err
    assert {"prepare_prompt_set", "generate_alpaca_eval", "generate_arena_hard"} <= rules
    assert not rules & {"judge_alpaca_eval", "judge_arena_hard", "table2"}
    assert "table1" in rules  # the rest of the study still builds
    rules = set(_plan(tmp_path / "none", None).values())
    assert not rules & {"prepare_prompt_set", "generate_alpaca_eval", "generate_arena_hard", "judge_alpaca_eval",
                        "judge_arena_hard", "table2"}
    assert "table1" in rules
