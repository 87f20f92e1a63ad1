"""Instruction following's generation side (paper Table 2; official
``eval/alpacaeval2/alpaca_eval_inference.py`` and ``eval/arenahard/arena_hard_inference.py``): each model's
chat template, the official decoding per benchmark, and the answer files the judges read.

The official behaviour reproduced here (templates, double BOS, decoding, answer-file layouts) is described in
:mod:`bmc.instruction_following.prompt_sets`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bmc.data.test_sets import write_records
from bmc.instruction_following.prompt_sets import get_prompt_set, instructions, write_alpaca_eval_json
from bmc.io import write_text


# --------------------------------------------------------------------------------------------------
# Chat templates.


@dataclass(frozen=True)
class ChatTemplate:
    name: str
    pattern: str | None  # None: the tokenizer's own chat template
    stop_tokens: tuple[str, ...] = ()  # besides the tokenizer's EOS


CHAT_TEMPLATES = {
    "llama3": ChatTemplate("llama3", "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n{instruction}"
                                     "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", ("<|eot_id|>",)),
    "zephyr": ChatTemplate("zephyr", "<|user|>\n{instruction}</s>\n<|assistant|>\n"),
    "tokenizer": ChatTemplate("tokenizer", None),
}
BOS_MODES = ("official", "single")


def get_template(name: str) -> ChatTemplate:
    try:
        return CHAT_TEMPLATES[name]
    except KeyError:
        raise ValueError(f"unknown chat template {name!r}; known: {list(CHAT_TEMPLATES)}") from None


def adds_bos(tokenizer) -> bool:
    """Whether encoding a text puts the BOS token first by itself (Llama, Mistral and this project's tokenizers)."""
    bos = tokenizer.bos_token_id
    ids = tokenizer("a")["input_ids"]
    return bos is not None and bool(ids) and ids[0] == bos


def render_prompt(template: ChatTemplate, instruction: str, tokenizer, bos: str = "official") -> str:
    """The prompt text for one instruction. ``bos="single"`` drops a literal BOS at the start when the
    tokenizer adds one itself; ``"official"`` keeps the text exactly as the official code builds it."""
    if bos not in BOS_MODES:
        raise ValueError(f"bos must be one of {BOS_MODES}, got {bos!r}")
    if template.pattern is None:
        if not getattr(tokenizer, "chat_template", None):
            raise ValueError("template 'tokenizer': the model's tokenizer has no chat template; choose llama3 or "
                             "zephyr (instruction_following.setups.<task>.template)")
        text = tokenizer.apply_chat_template([{"role": "user", "content": instruction}], tokenize=False,
                                             add_generation_prompt=True)
    else:
        text = template.pattern.replace("{instruction}", instruction)
    if bos == "single" and tokenizer.bos_token and text.startswith(tokenizer.bos_token) and adds_bos(tokenizer):
        text = text[len(tokenizer.bos_token):]
    return text


def count_bos(prompt: str, tokenizer) -> int:
    """BOS tokens at the start of the encoded prompt (2 = the double BOS of the official Llama-3 prompts)."""
    ids = tokenizer(prompt)["input_ids"]
    n = 0
    while n < len(ids) and ids[n] == tokenizer.bos_token_id:
        n += 1
    return n


def stop_token_ids(template: ChatTemplate, tokenizer) -> tuple[int, ...]:
    """Ids of the template's stop tokens (the tokenizer's EOS always stops); a token the tokenizer does not
    know is an error, not ignored."""
    ids = []
    for tok in template.stop_tokens:
        i = tokenizer.convert_tokens_to_ids(tok)
        if i is None or i == tokenizer.unk_token_id:
            raise ValueError(f"template {template.name}: the tokenizer has no token {tok!r} (wrong template for "
                             "this model?)")
        ids.append(int(i))
    return tuple(i for i in ids if i != tokenizer.eos_token_id)


# --------------------------------------------------------------------------------------------------
# Decoding.


@dataclass
class IFDecoding:
    """One benchmark's decoding (config ``instruction_following.decoding.<b>``)."""

    temperature: float
    max_new_tokens: int
    top_p: float = 1.0
    seed: int = 0

    def settings(self, stop_ids: Sequence[int] = ()):
        """The ``bmc.models.generation.DecodingSettings`` of this decoding (imported here: torch is needed only to
        generate, not to prepare prompt files or build Table 2)."""
        from bmc.models.generation import DecodingSettings

        return DecodingSettings(max_new_tokens=self.max_new_tokens, temperature=self.temperature, top_p=self.top_p,
                                num_samples=1, seed=self.seed, stop_token_ids=tuple(stop_ids))


# The official decoding (official-code.md 1.3, 1.4).
OFFICIAL_DECODING = {
    "alpaca_eval": IFDecoding(temperature=0.9, max_new_tokens=2048, top_p=1.0),
    "arena_hard": IFDecoding(temperature=0.0, max_new_tokens=2048, top_p=1.0),
}


def decoding_for(benchmark: str, overrides: Mapping | None = None) -> IFDecoding:
    """The official decoding of a benchmark with the config's overrides."""
    base = asdict(OFFICIAL_DECODING[get_prompt_set(benchmark).name])
    unknown = set(overrides or {}) - set(base)
    if unknown:
        raise ValueError(f"{benchmark}.decoding: unknown key(s) {sorted(unknown)}; known: {sorted(base)}")
    return IFDecoding(**(base | dict(overrides or {})))


# --------------------------------------------------------------------------------------------------
# Generation and the answer files.


@dataclass
class GenerationRun:
    """What one model answered on one benchmark, with the facts the answer files and stats need."""

    benchmark: str
    model_name: str
    records: list[dict]
    prompts: list[str]
    outputs: list[str]
    token_lens: list[int]
    decoding: IFDecoding
    template: str
    bos: str
    bos_tokens: int  # BOS tokens at the start of the first encoded prompt
    stop_token_ids: tuple[int, ...]
    resumed: int = 0
    extra: dict = field(default_factory=dict)


def generate_answers(generator, tokenizer, benchmark: str, records: list[dict], model_name: str,
                     template: ChatTemplate, bos: str, decoding: IFDecoding) -> GenerationRun:
    """Answer every prompt of a benchmark in one batched call of a ``bmc.models.generation`` generator (a
    ``ResumableGenerator`` keeps each answer as it arrives)."""
    prompts = [render_prompt(template, q, tokenizer, bos) for q in instructions(benchmark, records)]
    stops = stop_token_ids(template, tokenizer)
    outs = generator.generate(prompts, decoding.settings(stops), stop=[], desc=f"{benchmark} {model_name}")
    outputs = [o[0] for o in outs]
    token_lens = [len(tokenizer.tokenize(o)) for o in outputs]
    return GenerationRun(benchmark, model_name, records, prompts, outputs, token_lens, decoding, template.name,
                         bos, count_bos(prompts[0], tokenizer) if prompts else 0, stops,
                         resumed=getattr(generator, "resumed", 0))


def alpaca_eval_outputs(run: GenerationRun) -> list[dict]:
    """``model_outputs.json`` rows for ``alpaca_eval --model_outputs``."""
    return [{"dataset": r["dataset"], "instruction": r["instruction"], "output": o, "generator": run.model_name}
            for r, o in zip(run.records, run.outputs, strict=True)]


def arena_hard_answers(run: GenerationRun) -> list[dict]:
    """arena-hard-auto v0.1 answer lines (``data/arena-hard-v0.1/model_answer/<model_id>.jsonl``)."""
    return [{"question_id": r["question_id"], "answer_id": i, "model_id": run.model_name,
             "choices": [{"index": 0, "turns": [{"content": o, "token_len": n}]}]}
            for i, (r, o, n) in enumerate(zip(run.records, run.outputs, run.token_lens, strict=True))]


def generation_stats(run: GenerationRun) -> dict:
    """Lengths (the paper's "Len" columns are average tokens), empty and length-capped answers, settings."""
    n = len(run.outputs)
    lens = run.token_lens
    return {
        "benchmark": run.benchmark,
        "model_name": run.model_name,
        "n": n,
        "avg_tokens": round(sum(lens) / n, 1) if n else None,
        "avg_chars": round(sum(len(o) for o in run.outputs) / n, 1) if n else None,
        "empty": sum(not o.strip() for o in run.outputs),
        "reached_max_new_tokens": sum(k >= run.decoding.max_new_tokens for k in lens),
        "decoding": asdict(run.decoding),
        "template": run.template,
        "bos": run.bos,
        "bos_tokens_at_start": run.bos_tokens,
        "stop_token_ids": list(run.stop_token_ids),
        "resumed_from_cache": run.resumed,
        "first_prompt": run.prompts[0] if run.prompts else None,
        **run.extra,
    }


def write_answers(run: GenerationRun, answer_path: str | Path, stats_path: str | Path) -> dict:
    """The benchmark's answer file (``model_outputs.json`` / ``answers.jsonl``) and the generation stats,
    both written atomically; returns the stats."""
    if run.benchmark == "alpaca_eval":
        write_alpaca_eval_json(answer_path, alpaca_eval_outputs(run), indent=4)
    else:
        write_records(answer_path, arena_hard_answers(run), style="json")
    stats = generation_stats(run) | {"answers": str(answer_path)}
    write_text(stats_path, json.dumps(stats, indent=2, ensure_ascii=False) + "\n")
    return stats


def answer_model_name(study: str, task: str, model: str) -> str:
    """The name a model carries in answer files and judge outputs (a file name for arena-hard-auto)."""
    return f"{study}-{task}-{model}"
