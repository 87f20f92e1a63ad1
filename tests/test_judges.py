"""The Table 2 judges without the network: pre-flight (key variable, unreachable endpoint, refused key, the local
stub), the key kept out of every file and log, arena-hard-auto's folder, cache invalidation and result parsing
(with a stand-in tool on the pinned layout), alpaca_eval's annotator config (where alpaca_eval is installed)."""

from __future__ import annotations

import json
import logging
import socket
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from openai_stub import StubServer

from bmc.instruction_following.arena_hard import (
    BENCH_NAME,
    ArenaHardJudge,
    judgment_counts,
    missing_tool_modules,
    parse_show_result,
    prepare_workdir,
    run_arena_hard,
)
from bmc.instruction_following.alpaca_eval import AlpacaEvalJudge, reference_for, write_client_config
from bmc.instruction_following.judges import JudgeEndpoint, JudgeError, preflight

SECRET = "sk-test-SECRET-0123456789"
KEY_VAR = "BMC_TEST_JUDGE_KEY"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


# ------------------------------------------------------------------------------------------ pre-flight
def test_preflight_names_the_unset_variable_before_any_request(monkeypatch):
    monkeypatch.delenv(KEY_VAR, raising=False)
    with StubServer() as stub:
        with pytest.raises(JudgeError, match=f"environment variable {KEY_VAR}, which is not set"):
            preflight(JudgeEndpoint(stub.url, KEY_VAR))
        assert stub.requests == []


def test_preflight_names_an_unreachable_endpoint(monkeypatch):
    monkeypatch.setenv(KEY_VAR, SECRET)
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    with pytest.raises(JudgeError, match=f"judge endpoint {url} is unreachable") as e:
        preflight(JudgeEndpoint(url, KEY_VAR, timeout_s=2))
    assert SECRET not in str(e.value)


def test_preflight_passes_against_the_stub_and_reports_a_refused_key(monkeypatch):
    monkeypatch.setenv(KEY_VAR, SECRET)
    with StubServer() as stub:
        preflight(JudgeEndpoint(stub.url, KEY_VAR))
        assert stub.requests[-1]["path"] == "/v1/models"
        assert stub.requests[-1]["authorization"] == f"Bearer {SECRET}"
    with StubServer(script=[401]) as stub:
        with pytest.raises(JudgeError, match=rf"{stub.url} refused the request \(HTTP 401\).*\${KEY_VAR}") as e:
            preflight(JudgeEndpoint(stub.url, KEY_VAR))
        assert SECRET not in str(e.value)  # the server echoed it; the message does not
    with StubServer() as stub:  # an endpoint without a key (a local server)
        preflight(JudgeEndpoint(stub.url, None))
        assert stub.requests[-1]["authorization"] is None


# ------------------------------------------------------------------------------------------ arena-hard-auto
def _tool(root: Path, gen_judgment: str, show_result: str) -> Path:
    """A stand-in arena-hard-auto checkout with the pinned commit's layout and scripts that behave like the
    real ones on the files this module prepares (no network, no judge)."""
    (root / "config").mkdir(parents=True)
    (root / "data" / BENCH_NAME / "model_answer").mkdir(parents=True)
    (root / "config" / "judge_config.yaml").write_text(yaml.safe_dump(
        {"judge_model": "gpt-4-1106-preview", "reference": None, "baseline": True, "baseline_model": "gpt-4-0314",
         "pairwise": True, "temperature": 0, "max_tokens": 4096, "regex_pattern": r"\[\[([AB<>=]+)\]\]",
         "number_of_judgment_attempts": 2, "bench_name": BENCH_NAME, "model_list": ["x"]}))
    baseline = [{"question_id": f"q{i}", "answer_id": i, "model_id": "gpt-4-0314",
                 "choices": [{"index": 0, "turns": [{"content": "base", "token_len": 1}]}]} for i in range(3)]
    (root / "data" / BENCH_NAME / "model_answer" / "gpt-4-0314.jsonl").write_text(
        "".join(json.dumps(b) + "\n" for b in baseline))
    (root / "utils.py").write_text("import json\n")
    (root / "gen_judgment.py").write_text(textwrap.dedent(gen_judgment))
    (root / "show_result.py").write_text(textwrap.dedent(show_result))
    return root


GEN_JUDGMENT = """
    import json, os, sys, yaml
    from utils import json as _  # a local module of the tool
    cfg = yaml.safe_load(open("config/judge_config.yaml"))
    api = yaml.safe_load(open("config/api_config.yaml"))
    assert os.environ["OPENAI_BASE_URL"] == os.environ["EXPECTED_BASE_URL"], os.environ["OPENAI_BASE_URL"]
    assert os.environ["OPENAI_API_KEY"], "no key in the environment"
    assert api[cfg["judge_model"]]["endpoints"] is None
    bench = cfg["bench_name"]
    questions = [json.loads(l) for l in open(f"data/{bench}/question.jsonl")]
    out = f"data/{bench}/model_judgment/{cfg['judge_model']}"
    os.makedirs(out, exist_ok=True)
    for model in cfg["model_list"]:
        path = f"{out}/{model}.jsonl"
        done = {json.loads(l)["question_id"] for l in open(path)} if os.path.exists(path) else set()
        with open(path, "a") as f:
            for q in questions:
                if q["question_id"] in done:
                    continue
                print("judging", q["question_id"])
                f.write(json.dumps({"question_id": q["question_id"], "model": model, "judge": cfg["judge_model"],
                                    "games": [{"score": "A>B"}, {"score": "B>A"}]}) + "\\n")
"""
SHOW_RESULT = """
    import sys
    print("Namespace(...)")
    for model, score, ci, tok in (("micro-qa-sft", 12.3, (-1.5, 2.0), 321), ("gpt-4-0314", 50.0, (0.0, 0.0), 423)):
        interval = str(ci)
        print(f"{model : <30} | score: {round(score, 1) : ^5} | 95% CI: {interval : ^12} | average #tokens: {tok}")
"""


def _answers(path: Path, contents=("a", "b", "c")) -> Path:
    rows = [{"question_id": f"q{i}", "answer_id": i, "model_id": "micro-qa-sft",
             "choices": [{"index": 0, "turns": [{"content": c, "token_len": 1}]}]} for i, c in enumerate(contents)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _questions(path: Path, n=3) -> Path:
    rows = [{"question_id": f"q{i}", "category": "arena-hard-v0.1", "cluster": "c", "turns": [{"content": f"Q{i}"}]}
            for i in range(n)]
    path.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows))
    return path


def test_arena_hard_end_to_end_with_a_stand_in_tool_and_the_key_nowhere(tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv(KEY_VAR, SECRET)
    judge = ArenaHardJudge()
    cache = tmp_path / "cache"
    _tool(cache / f"arena-hard-auto-{judge.commit[:12]}", GEN_JUDGMENT, SHOW_RESULT)
    questions, answers = _questions(tmp_path / "q.jsonl", 5), _answers(tmp_path / "a.jsonl")
    with StubServer() as stub:
        monkeypatch.setenv("EXPECTED_BASE_URL", stub.url)
        result = run_arena_hard(cache, questions, answers, cache / "qa" / "sft", JudgeEndpoint(stub.url, KEY_VAR),
                                judge, log_path=tmp_path / "judge.log")
    assert result["win_rate"] == 12.3 and result["ci_lower"] == -1.5 and result["ci_upper"] == 2.0
    assert result["avg_tokens"] == 321 and result["questions_judged"] == 3 and result["games_without_verdict"] == 0
    work = cache / "qa" / "sft" / "data" / BENCH_NAME
    assert len((work / "question.jsonl").read_text().splitlines()) == 3  # the questions answered
    assert (work / "model_answer" / "gpt-4-0314.jsonl").exists()
    assert "judging q0" in (tmp_path / "judge.log").read_text()
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) > 8
    for p in written:
        assert SECRET not in p.read_text(errors="replace"), p
    assert SECRET not in caplog.text and SECRET not in json.dumps(result)


def test_arena_hard_judgments_are_kept_for_the_same_answers_and_dropped_for_others(tmp_path, caplog):
    judge = ArenaHardJudge()
    tool = _tool(tmp_path / "tool", GEN_JUDGMENT, SHOW_RESULT)
    questions, answers = _questions(tmp_path / "q.jsonl"), _answers(tmp_path / "a.jsonl")
    work = tmp_path / "work"
    judgments = work / "data" / BENCH_NAME / "model_judgment" / judge.judge_model / "micro-qa-sft.jsonl"
    prepare_workdir(work, tool, questions, answers, judge)
    judgments.parent.mkdir(parents=True)
    line = json.dumps({"question_id": "q0", "games": [{"score": "A>B"}, None]})
    judgments.write_text(line + "\n" + '{"question_id": "q1", "gam')  # the second cut off by a kill
    prepare_workdir(work, tool, questions, answers, judge)
    assert judgments.read_text() == line + "\n"  # kept, less the cut-off line
    assert judgment_counts(judgments) == {"questions_judged": 1, "games": 2, "games_without_verdict": 1}
    with caplog.at_level(logging.WARNING):
        prepare_workdir(work, tool, questions, _answers(tmp_path / "a.jsonl", ("a", "B!", "c")), judge)
    assert not judgments.exists() and "judging again" in caplog.text
    judgments.write_text(line + "\n")
    prepare_workdir(work, tool, questions, answers, ArenaHardJudge(judge_model=judge.judge_model,
                                                                   baseline=judge.baseline, commit="0" * 40))
    assert not judgments.exists()  # another tool commit: judged again


def test_answers_to_unknown_questions_fail(tmp_path):
    tool = _tool(tmp_path / "tool", GEN_JUDGMENT, SHOW_RESULT)
    with pytest.raises(JudgeError, match="not in"):
        prepare_workdir(tmp_path / "w", tool, _questions(tmp_path / "q.jsonl", 2), _answers(tmp_path / "a.jsonl"),
                        ArenaHardJudge())


def test_show_result_lines_are_parsed():
    out = parse_show_result(textwrap.dedent("""\
        gpt-4-turbo-2024-04-09         | score: 82.6  | 95% CI: (-1.8, 1.6)  | average #tokens: 662
        micro-qa-dpo_bmc               | score:  2.6  | 95% CI: (-0.5, 0.7)  | average #tokens: 414
        gpt-4-0314                     | score: 50.0  | 95% CI:  (0.0, 0.0)  | average #tokens: 423
        """))
    assert out["micro-qa-dpo_bmc"] == {"score": 2.6, "ci_lower": -0.5, "ci_upper": 0.7, "avg_tokens": 414}
    assert out["gpt-4-turbo-2024-04-09"]["score"] == 82.6 and len(out) == 3


def test_missing_tool_modules_are_read_from_the_tool_scripts(tmp_path):
    tool = tmp_path / "tool"
    tool.mkdir()
    (tool / "utils.py").write_text("import yaml\n")
    (tool / "gen_judgment.py").write_text("import json, yaml\nfrom utils import x\nimport bmc_no_such_module_xyz\n")
    (tool / "show_result.py").write_text("from sklearn_no_such.linear_model import LogisticRegression\n")
    assert missing_tool_modules(tool) == ["bmc_no_such_module_xyz", "sklearn_no_such"]


# ------------------------------------------------------------------------------------------ AlpacaEval
def test_reference_rows_follow_the_judged_instructions():
    ref = [{"instruction": f"i{k}", "output": f"r{k}"} for k in range(4)]
    assert reference_for([{"instruction": "i0"}, {"instruction": "i1"}], ref, "m.json") == ref[:2]
    with pytest.raises(JudgeError, match=r"m\.json, row 2, field 'instruction'"):
        reference_for([{"instruction": "i0"}, {"instruction": "zz"}], ref, "m.json")


def test_alpaca_eval_configs_carry_no_key(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_VAR, SECRET)
    client = write_client_config(tmp_path / "openai_client.yaml", JudgeEndpoint("http://127.0.0.1:1/v1", KEY_VAR))
    assert yaml.safe_load(client.read_text()) == {"default": [{"base_url": "http://127.0.0.1:1/v1"}]}
    try:
        from bmc.instruction_following.alpaca_eval import import_alpaca_eval

        import_alpaca_eval()
    except JudgeError:
        pytest.skip("alpaca_eval (the judge extra) is not installed")
    from bmc.instruction_following.alpaca_eval import write_annotator_config

    path, model = write_annotator_config(tmp_path, AlpacaEvalJudge(model="judge-x", concurrency=3), client)
    (name, cfg), = yaml.safe_load(path.read_text()).items()
    assert name == "weighted_alpaca_eval_gpt4_turbo" and model == "judge-x"
    assert cfg["completions_kwargs"]["model_name"] == "judge-x"
    assert cfg["completions_kwargs"]["client_config_path"] == str(client.resolve())
    assert cfg["completions_kwargs"]["num_procs"] == 3
    assert Path(cfg["prompt_template"]).is_file()
    # alpaca_eval itself loads it; its annotation cache goes beside it, under the judge cache
    from alpaca_eval.annotators import PairwiseAnnotator

    annotator = PairwiseAnnotator(annotators_config=str(path))
    assert Path(annotator.caching_path).parent == path.parent
    for p in tmp_path.rglob("*"):
        if p.is_file():
            assert SECRET not in p.read_text(errors="replace")
    assert "alpaca_eval" in sys.modules


def test_alpaca_eval_judges_through_the_stub_and_a_rerun_pays_nothing(tmp_path, monkeypatch, caplog):
    """alpaca_eval itself, end to end against the local stub (its logprob judge answers "m": output 1, the
    reference, preferred with p = 0.7); the raw win rate, as the length-controlled one needs a hub file."""
    from bmc.instruction_following.alpaca_eval import import_alpaca_eval, run_alpaca_eval

    try:
        import_alpaca_eval()
    except JudgeError:
        pytest.skip("alpaca_eval (the judge extra) is not installed")
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv(KEY_VAR, SECRET)
    ref = [{"dataset": "d", "instruction": f"Name {k} colours.", "output": f"reference {k}",
            "generator": "gpt4_1106_preview"} for k in range(4)]
    (tmp_path / "ref.json").write_text(json.dumps(ref))
    outs = [dict(r, output=f"answer {k}", generator="micro-qa-sft") for k, r in enumerate(ref[:3])]
    (tmp_path / "model_outputs.json").write_text(json.dumps(outs, indent=4))
    cache = tmp_path / "cache"
    with StubServer() as stub:
        endpoint = JudgeEndpoint(stub.url, KEY_VAR)
        judge = AlpacaEvalJudge(model="judge-x", concurrency=1)
        first = run_alpaca_eval(tmp_path / "model_outputs.json", tmp_path / "ref.json", cache, endpoint, judge,
                                metric="get_winrate")
        posts = [r for r in stub.requests if r["body"] is not None]
        assert len(posts) == 3
        assert {r["body"]["model"] for r in posts} == {"judge-x"}
        assert {r["authorization"] for r in posts} == {f"Bearer {SECRET}"}
        again = run_alpaca_eval(tmp_path / "model_outputs.json", tmp_path / "ref.json", cache, endpoint, judge,
                                metric="get_winrate")
        assert len([r for r in stub.requests if r["body"] is not None]) == 3  # all from the annotation cache
    # each pair: p(reference better) = 0.7, and alpaca_eval shows the two outputs in a seeded random order
    assert first["n_total"] == 3
    assert any(first["win_rate"] == pytest.approx(100 * (0.3 * (3 - k) + 0.7 * k) / 3, abs=1e-3) for k in range(4))
    assert again["win_rate"] == pytest.approx(first["win_rate"]) and first["annotations_without_preference"] == 0
    assert (cache / judge.annotator / f"annotations_seed0_configs.json").is_file()
    for p in tmp_path.rglob("*"):
        if p.is_file():
            assert SECRET not in p.read_text(errors="replace"), p
    assert SECRET not in caplog.text and SECRET not in json.dumps(first)
