"""Prompt templates, output parsing, and the transformers and vLLM editors' mechanics."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from bmc.bridging.editors import DIRECTIONS, BridgeRequest
from bmc.bridging.editors.hf_backend import TransformersBackend, TransformersSettings
from bmc.bridging.editors.prompted import EditorDecoding, PromptEditor, PromptTemplate, parse_output
from bmc.bridging.editors.registry import make_editor
from bmc.cache import ResponseCache

PROMPTS = Path(__file__).resolve().parents[1] / "configs" / "prompts" / "bridging"

FIGURE_7 = """**Task:**
Given the Problem, the Correct Answer, and the Prediction, identify and correct any mistakes in the Prediction to
align the Correct Answer. Three rules you must obey:
1. Make the minimal modifications necessary (changing the fewest words) to correct the Prediction.
2. Only output the complete Corrected Prediction without saying anything else.
3. If the Prediction is already good enough, simply output 'None'.
**Problem:**
{x}
**Correct Answer:**
{y_w}
**Prediction:**
{y_l}
**Corrected Prediction:**
"""


def test_paper_prompt_is_verbatim():
    assert (PROMPTS / "qa_math" / "edit_losing_with_reference.txt").read_text() == FIGURE_7
    fig8 = (PROMPTS / "instruction_following" / "edit_losing_with_reference.txt").read_text()
    assert fig8.startswith("**Task:**\nBelow is a question followed by two responses.")
    assert fig8.endswith("**Response 2:**\n{y_l}\n**Revised Response 2:**\n")


@pytest.mark.parametrize("family", ["qa_math", "instruction_following"])
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_every_direction_has_a_template_with_its_placeholders(family, direction):
    PromptTemplate.from_file(PROMPTS / family / f"{direction}.txt").check(direction)


def test_template_check_names_the_missing_placeholder():
    with pytest.raises(ValueError, match=r"needs \['\{y_w\}'\]"):
        PromptTemplate("{x} {y_l}", "mine.txt").check("edit_losing_with_reference")
    PromptTemplate("{x} {y_l}").check("edit_losing_without_reference")


def test_render_leaves_other_braces_alone():
    t = PromptTemplate("{x} | {y_w} | {y_l} | {literal}")
    assert t.render("a {b}", "c", "d") == "a {b} | c | d | {literal}"


@pytest.mark.parametrize("raw,allow_none,expected", [
    ("  The answer is 5\n", True, "The answer is 5"),
    ("None", True, None), ("'None'", True, None), ("None.", True, None), ("**None**", True, None),
    ("None", False, "None"),
    ("**Corrected Prediction:**\nThe answer is 5", True, "The answer is 5"),
    ("None of these apply. The answer is 5", True, "None of these apply. The answer is 5"),
])
def test_output_parsing(raw, allow_none, expected):
    assert parse_output(raw, PromptTemplate(FIGURE_7), allow_none) == expected


REQUESTS = [BridgeRequest(f"Q{i}?", f"The answer is {i}", f"The answer is {i + 1}", str(i)) for i in range(5)]


def test_transformers_editor_mechanics(model_dir, tmp_path):
    backend = TransformersBackend(TransformersSettings(model=str(model_dir), batch_size=2))
    calls = []
    model = backend.generator.model
    original = model.generate

    def counting_generate(**kw):
        calls.append((kw["input_ids"].shape[0], kw["max_new_tokens"], kw["do_sample"]))
        return original(**kw)

    model.generate = counting_generate
    template = PromptTemplate.from_file(PROMPTS / "qa_math" / "edit_losing_with_reference.txt")
    cache = ResponseCache(tmp_path / "cache.jsonl")
    editor = PromptEditor(backend, template, EditorDecoding(max_tokens=7), cache)
    results = editor.edit(REQUESTS)
    assert [c[0] for c in calls] == [2, 2, 1]                   # batched, 2 prompts a call
    assert all(c[1] == 7 and c[2] is False for c in calls)       # decoding settings reach generate
    assert len(results) == 5 and len(cache) == 5                 # each response cached
    assert all(0 < r.usage.completion_tokens <= 8 and r.usage.prompt_tokens > 50 for r in results)
    formatted = backend.format("hello")
    assert formatted == "### Instruction:\nhello\n\n### Response:\n"  # the model's chat template, no BOS text
    # greedy is deterministic; the parsed text is the raw output stripped
    again = PromptEditor(backend, template, EditorDecoding(max_tokens=7)).edit(REQUESTS)
    assert [r.raw for r in again] == [r.raw for r in results]
    assert all(r.text is None or r.text == r.raw.strip() for r in results)
    calls.clear()
    PromptEditor(backend, template, EditorDecoding(max_tokens=3, temperature=1.0, seed=1)).edit(REQUESTS[:2])
    assert calls == [(2, 3, True)]


def test_vllm_editor_makes_one_batched_call(monkeypatch, tmp_path):
    seen = {}

    class SamplingParams:
        def __init__(self, **kw):
            self.kw = kw

    class Out:
        def __init__(self, text):
            self.outputs = [types.SimpleNamespace(text=text, token_ids=[1, 2, 3])]
            self.prompt_token_ids = [0] * 10

    class LLM:
        def __init__(self, **kw):
            seen["init"] = kw

        def chat(self, conversations, params, use_tqdm=True):
            seen.setdefault("calls", []).append((conversations, params.kw))
            return [Out(f"The answer is {i}") for i in range(len(conversations))]

    monkeypatch.setitem(sys.modules, "vllm", types.SimpleNamespace(LLM=LLM, SamplingParams=SamplingParams))
    template = PROMPTS / "qa_math" / "edit_losing_with_reference.txt"
    editor = make_editor({"kind": "vllm", "model": "meta-llama/Meta-Llama-3-70B-Instruct",
                          "tensor_parallel_size": 4}, template, {"max_tokens": 100, "temperature": 0.0},
                         tmp_path / "cache.jsonl")
    results = editor.edit(REQUESTS)
    assert seen["init"]["tensor_parallel_size"] == 4 and seen["init"]["model"].endswith("70B-Instruct")
    assert len(seen["calls"]) == 1 and len(seen["calls"][0][0]) == 5
    conversations, params = seen["calls"][0]
    assert conversations[0] == [{"role": "user", "content": PromptTemplate.from_file(template).render(
        "Q0?", "The answer is 0", "The answer is 1")}]
    assert params == {"temperature": 0.0, "top_p": 1.0, "max_tokens": 100, "seed": 0}
    assert [r.text for r in results] == [f"The answer is {i}" for i in range(5)]
    assert results[0].usage.prompt_tokens == 10 and results[0].usage.completion_tokens == 3
    # the cache answers a rerun without touching the engine
    again = make_editor({"kind": "vllm", "model": "meta-llama/Meta-Llama-3-70B-Instruct",
                         "tensor_parallel_size": 4}, template, {"max_tokens": 100, "temperature": 0.0},
                        tmp_path / "cache.jsonl")
    again.edit(REQUESTS)
    assert len(seen["calls"]) == 1


def test_vllm_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)
    editor = make_editor({"kind": "vllm", "model": "m"}, PROMPTS / "qa_math" / "edit_losing_with_reference.txt")
    with pytest.raises(ImportError, match="needs vLLM"):
        editor.edit(REQUESTS[:1])
