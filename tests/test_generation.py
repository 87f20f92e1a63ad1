"""The generation engines: batched greedy equals one prompt at a time; vLLM through a stand-in module;
per-prompt results kept so that a crashed run resumes where it stopped."""

from __future__ import annotations

import sys
import types

import pytest

from bmc.models.generation import (
    DecodingSettings,
    ResumableGenerator,
    TransformersGenerator,
    make_generator,
    model_fingerprint,
)

PROMPTS = [f"### Instruction:\nWhat is {a} plus {b}?\n\n### Response:\n" for a, b in
           [(1, 2), (13, 4), (7, 7), (120, 3), (5, 66), (2, 2), (40, 1)]]
PROMPTS.append("### Instruction:\nName a city, any city in the world, and say why you like it.\n\n### Response:\n")


@pytest.fixture(scope="module")
def lively_model(model_dir, tmp_path_factory):
    """The random tiny model with large weights: its greedy outputs depend on the prompt (the default
    initialisation prints the same newlines for every prompt, which would make equality tests vacuous)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(1)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 2:
                p.normal_(0.0, 0.4)
    path = tmp_path_factory.mktemp("lively")
    model.save_pretrained(path)
    AutoTokenizer.from_pretrained(model_dir).save_pretrained(path)
    return path


def test_batched_greedy_equals_one_prompt_at_a_time(lively_model):
    settings = DecodingSettings(max_new_tokens=24)
    batched = TransformersGenerator(lively_model, batch_size=8).generate(PROMPTS, settings)
    single = TransformersGenerator(lively_model, batch_size=1).generate(PROMPTS, settings)
    assert batched == single
    assert len({b[0] for b in batched}) == len(PROMPTS)  # outputs that depend on the prompt


def test_stop_strings_cut_as_vllm_does(lively_model):
    gen = TransformersGenerator(lively_model, batch_size=4)
    full = gen.generate(PROMPTS[:4], DecodingSettings(max_new_tokens=24))
    cut_at = {text[0][3:5] for text in full if len(text[0]) > 5}
    stop = sorted(cut_at)[:1]
    cut = gen.generate(PROMPTS[:4], DecodingSettings(max_new_tokens=24), stop=stop)
    for (f,), (c,) in zip(full, cut):
        assert f.startswith(c) and stop[0] not in c


class _Counting:
    """Wraps a generator, counts prompts, and can fail after ``fail_after`` results (a crash)."""

    def __init__(self, inner, fail_after=None):
        self.inner, self.fail_after, self.prompts = inner, fail_after, 0

    def generate(self, prompts, settings, stop=None, desc="", on_result=None):
        self.prompts += len(prompts)
        done = 0

        def report(i, completions):
            nonlocal done
            if self.fail_after is not None and done >= self.fail_after:
                raise KeyboardInterrupt("crash")
            done += 1
            on_result(i, completions)

        return self.inner.generate(prompts, settings, stop=stop, desc=desc, on_result=report)


def test_a_crashed_generation_resumes_where_it_stopped(lively_model, tmp_path):
    model_dir = lively_model
    settings = DecodingSettings(max_new_tokens=16)
    base = TransformersGenerator(model_dir, batch_size=3)
    expected = base.generate(PROMPTS, settings)
    cache = tmp_path / "gen.jsonl"
    crashing = _Counting(base, fail_after=4)
    with pytest.raises(KeyboardInterrupt):
        ResumableGenerator(crashing, cache, model_dir).generate(PROMPTS, settings)
    counting = _Counting(base)
    resumed = ResumableGenerator(counting, cache, model_dir)
    assert resumed.generate(PROMPTS, settings) == expected
    assert resumed.resumed == 4 and counting.prompts == len(PROMPTS) - 4
    # other decoding settings share nothing; finish() removes the file
    other = ResumableGenerator(_Counting(base), cache, model_dir)
    other.generate(PROMPTS[:2], DecodingSettings(max_new_tokens=8))
    assert other.resumed == 0
    other.finish()
    assert not cache.exists()


def test_a_retrained_model_gets_another_fingerprint(model_dir, tmp_path):
    import shutil

    copy = tmp_path / "m"
    shutil.copytree(model_dir, copy)
    before = model_fingerprint(copy)
    (copy / "config.json").write_text((copy / "config.json").read_text() + " ")
    assert model_fingerprint(copy) != before


def test_vllm_engine_makes_one_batched_call(monkeypatch):
    seen = {}

    class SamplingParams:
        def __init__(self, **kw):
            self.kw = kw

    class LLM:
        def __init__(self, **kw):
            seen["init"] = kw

        def generate(self, prompts, params, use_tqdm=True):
            seen.setdefault("calls", []).append((list(prompts), params.kw))
            return [types.SimpleNamespace(outputs=[types.SimpleNamespace(text=f"{p[-5:]}#{k}")
                                                   for k in range(params.kw["n"])]) for p in prompts]

    monkeypatch.setitem(sys.modules, "vllm", types.SimpleNamespace(LLM=LLM, SamplingParams=SamplingParams))
    gen = make_generator("vllm", "org/model", tensor_parallel_size=4)
    got = []
    out = gen.generate(PROMPTS, DecodingSettings(max_new_tokens=2048, temperature=0.9, num_samples=2, seed=3),
                       stop=["</s>", "Instruction"], on_result=lambda i, c: got.append(i))
    assert seen["init"] == {"model": "org/model", "tensor_parallel_size": 4, "dtype": "auto",
                            "gpu_memory_utilization": 0.9}
    assert len(seen["calls"]) == 1 and seen["calls"][0][0] == PROMPTS
    assert seen["calls"][0][1] == {"n": 2, "temperature": 0.9, "top_p": 1.0, "max_tokens": 2048,
                                   "stop": ["</s>", "Instruction"], "seed": 3}
    assert out[0] == [f"{PROMPTS[0][-5:]}#0", f"{PROMPTS[0][-5:]}#1"] and got == list(range(len(PROMPTS)))


def test_engine_choice(monkeypatch, model_dir):
    monkeypatch.setitem(sys.modules, "vllm", None)
    assert isinstance(make_generator("auto", model_dir), TransformersGenerator)  # no GPU here
    with pytest.raises(ImportError, match="needs vLLM"):
        make_generator("vllm", model_dir).generate(["x"], DecodingSettings())
    with pytest.raises(ValueError, match="unknown generation engine"):
        make_generator("tgi", model_dir)
