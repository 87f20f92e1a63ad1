"""Instruction following (the paper's IF setup, Table 2): the AlpacaEval 2 and Arena-Hard v0.1 prompt sets,
each model's chat template, the official decoding per benchmark, and the answer files the judges read.

What the official code does (``eval/alpacaeval2/alpaca_eval_inference.py`` and
``eval/arenahard/arena_hard_inference.py``; shared/docs/official-code.md sections 1.3 and 1.4):

* Prompt sets. AlpacaEval: ``alpaca_eval.json``, a JSON list of 805 ``{dataset, instruction, output,
  generator}`` (the hub file ``tatsu-lab/alpaca_eval`` ``alpaca_eval.json``; the AlpacaEval 2 reference
  ``alpaca_eval_gpt4_baseline.json`` has the same instructions in the same order, with GPT-4 Turbo's
  outputs). Arena-Hard: ``arena_hard.jsonl``, 500 lines ``{question_id, category, cluster, turns:
  [{content}]}`` (v0.1 format; the hub dataset ``lmarena-ai/arena-hard-auto-v0.1``, split ``train``).
* Templates, chosen by a substring of the model path: Llama-3
  ``<|begin_of_text|><|start_header_id|>user<|end_header_id|>\\n\\n{q}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\\n\\n``
  with stop token ids ``[eos, <|eot_id|>]``; zephyr/Mistral ``<|user|>\\n{q}</s>\\n<|assistant|>\\n`` with
  ``[eos]``. The literal ``<|begin_of_text|>`` plus the BOS the tokenizer adds gives a double BOS (SimPO's
  README warns about it); ``bos: official`` keeps it, ``bos: single`` drops the literal one. A third choice,
  ``tokenizer``, renders the model's own tokenizer chat template (its literal BOS handled the same way).
* Decoding: AlpacaEval T = 0.9, top_p 1, 2,048 new tokens; Arena-Hard greedy, 2,048 new tokens; one sample,
  no stop strings (only stop tokens). The official code passes no seed to vLLM; we pass one.
* Answer files: AlpacaEval ``model_outputs.json``, a JSON list of ``{dataset, instruction, output,
  generator}`` (``alpaca_eval --model_outputs``); Arena-Hard answers, one JSON line per question
  ``{question_id, answer_id, model_id, choices: [{index: 0, turns: [{content, token_len}]}]}`` (the
  arena-hard-auto answer format before its 2025-04 "reformat v0.1" commit, as the official code writes it;
  ``token_len`` counted with the model's tokenizer; ``answer_id`` the row number as there; no ``tstamp``,
  which the tool does not read, so that the file depends only on the answers).

Prompt files are written as the official ones are: the AlpacaEval list with ``json.dumps(indent=2)`` and no
final newline, Arena-Hard lines in pandas ``to_json`` style (checked byte for byte against the official
files in the tests).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bmc.io import RecordError, write_text
from bmc.prepare_data import EvalSetSpec, SizeError, load_hub_rows, write_records

BENCHMARKS = ("alpaca_eval", "arena_hard")


# --------------------------------------------------------------------------------------------------
# The prompt sets.


@dataclass(frozen=True)
class PromptSetSpec:
    name: str
    hub_id: str
    hub_file: str | None  # a raw file of the hub repository (AlpacaEval is a loading-script dataset)
    split: str | None  # a split of a parquet hub dataset (Arena-Hard)
    size: int
    answer_file: str  # the answer file's name inside a generation folder
    official_file: str  # the BMC repository's copy

    def describe(self, hub_config: str | None = None) -> str:
        if self.hub_file:
            return f"Hugging Face Hub {self.hub_id}, file {hub_config or self.hub_file}.json"
        return f"Hugging Face Hub {self.hub_id}, split {self.split}"


PROMPT_SETS = {
    "alpaca_eval": PromptSetSpec("alpaca_eval", "tatsu-lab/alpaca_eval", "alpaca_eval_gpt4_baseline", None, 805,
                                 "model_outputs.json", "eval/alpacaeval2/alpaca_eval.json"),
    "arena_hard": PromptSetSpec("arena_hard", "lmarena-ai/arena-hard-auto-v0.1", None, "train", 500,
                                "answers.jsonl", "eval/arenahard/arena_hard.jsonl"),
}
ALPACA_EVAL_FIELDS = ("dataset", "instruction", "output", "generator")
ARENA_HARD_FIELDS = ("question_id", "category", "cluster", "turns")


def get_prompt_set(name: str) -> PromptSetSpec:
    try:
        return PROMPT_SETS[name]
    except KeyError:
        raise ValueError(f"unknown instruction-following benchmark {name!r}; known: {list(PROMPT_SETS)}") from None


def _string(row: Any, i: int, source: str, name: str, nonempty: bool = False) -> str:
    if not isinstance(row, Mapping):
        raise RecordError(source, i + 1, None, f"expected a record (mapping), got {type(row).__name__}")
    if name not in row:
        raise RecordError(source, i + 1, name, "missing")
    value = row[name]
    if not isinstance(value, str):
        raise RecordError(source, i + 1, name, f"expected str, got {type(value).__name__}")
    if nonempty and not value.strip():
        raise RecordError(source, i + 1, name, "empty")
    return value


def convert_alpaca_eval(rows: Iterable[Mapping], source: str = "<rows>") -> list[dict]:
    """AlpacaEval rows -> ``{dataset, instruction, output, generator}`` records (``output`` and ``generator``
    are the reference model's: the judge compares against them). Instructions must be unique: the judge
    matches outputs to references by instruction."""
    out, seen = [], {}
    for i, row in enumerate(rows):
        rec = {"dataset": _string(row, i, source, "dataset"),
               "instruction": _string(row, i, source, "instruction", nonempty=True),
               "output": _string(row, i, source, "output"),
               "generator": _string(row, i, source, "generator", nonempty=True)}
        if rec["instruction"] in seen:
            raise RecordError(source, i + 1, "instruction", f"duplicate of row {seen[rec['instruction']]}")
        seen[rec["instruction"]] = i + 1
        out.append(rec)
    return out


def convert_arena_hard(rows: Iterable[Mapping], source: str = "<rows>") -> list[dict]:
    """Arena-Hard v0.1 rows -> ``{question_id, category, cluster, turns: [{content}]}`` records."""
    out, seen = [], {}
    for i, row in enumerate(rows):
        qid = _string(row, i, source, "question_id", nonempty=True)
        if qid in seen:
            raise RecordError(source, i + 1, "question_id", f"duplicate of row {seen[qid]}")
        seen[qid] = i + 1
        turns = row.get("turns")
        if not isinstance(turns, list) or not turns:
            raise RecordError(source, i + 1, "turns", "expected a non-empty list of {content} records")
        clean = []
        for j, t in enumerate(turns):
            if not isinstance(t, Mapping) or not isinstance(t.get("content"), str) or not t["content"].strip():
                raise RecordError(source, i + 1, "turns", f"turn {j + 1} has no non-empty string 'content'")
            clean.append({"content": t["content"]})
        out.append({"question_id": qid, "category": _string(row, i, source, "category"),
                    "cluster": _string(row, i, source, "cluster"), "turns": clean})
    return out


CONVERTERS = {"alpaca_eval": convert_alpaca_eval, "arena_hard": convert_arena_hard}


def _hub_rows(spec: PromptSetSpec, hub_config: str | None) -> tuple[str, list]:
    if spec.hub_file:  # a raw JSON file of a loading-script dataset (datasets >= 4 runs no scripts)
        from huggingface_hub import hf_hub_download

        filename = f"{hub_config or spec.hub_file}.json"
        where = f"{spec.hub_id}/{filename}"
        try:
            path = hf_hub_download(spec.hub_id, filename, repo_type="dataset")
        except Exception as e:  # offline without a cache, wrong name, ...
            raise RuntimeError(f"{spec.name}: could not load {where} ({type(e).__name__}: {e}). Offline jobs "
                               "(HF_HUB_OFFLINE=1) need the file in the Hugging Face cache; or set "
                               "instruction_following.download: true, or give data_files") from e
        return where, _json_list(Path(path))
    local = EvalSetSpec(spec.name, "IF", spec.hub_id, None, spec.split, spec.size, lambda r, s: list(r), {},
                        True, spec.official_file, source=spec.describe())
    return f"{spec.hub_id} split {spec.split}", load_hub_rows(local)


def _json_list(path: Path) -> list:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise RecordError(path, e.lineno, None, f"not valid JSON ({e.msg})") from None
    if not isinstance(data, list):
        raise RecordError(path, 1, None, f"expected a JSON list of records, got {type(data).__name__}")
    return data


def _local_rows(spec: PromptSetSpec, data_files: str | Sequence[str]) -> list[tuple[str, list]]:
    files = [data_files] if isinstance(data_files, (str, Path)) else list(data_files)
    if not files:
        raise ValueError(f"{spec.name}: empty data_files")
    parts = []
    for f in map(Path, files):
        if not f.is_file():
            raise FileNotFoundError(f"{spec.name}: data file not found: {f}")
        if f.suffix == ".json":  # the hub's raw JSON list (AlpacaEval) or the official file
            parts.append((str(f), _json_list(f)))
        else:  # parquet / jsonl, read by datasets as load_dataset reads the hub's files
            local = EvalSetSpec(spec.name, "IF", None, None, "train", spec.size, lambda r, s: list(r), {}, True,
                                None, source=str(f))
            parts.append((str(f), load_hub_rows(local, [f])))
    return parts


def prepare_prompt_set(name: str, out_path: str | Path, data_files: str | Sequence[str] | None = None,
                       check_size: bool = True, hub_config: str | None = None) -> dict:
    """Build one prompt set and write it atomically in the official file's format. ``data_files``: local files
    in the hub's format (else the hub, through the Hugging Face cache); ``hub_config``: AlpacaEval's hub file
    (``alpaca_eval_gpt4_baseline``, the AlpacaEval 2 reference, default; ``alpaca_eval``, the AlpacaEval 1
    file the official code ships). Returns a summary."""
    spec = get_prompt_set(name)
    parts = _local_rows(spec, data_files) if data_files else [_hub_rows(spec, hub_config)]
    rows = [r for _, part in parts for r in part]
    source = "; ".join(s for s, _ in parts)
    if check_size and len(rows) != spec.size:
        raise SizeError(f"{name}: expected {spec.size} rows in {spec.describe(hub_config)}, got {len(rows)} from "
                        f"{source}; set check_size: false to allow a subset")
    records = []
    for where, part in parts:  # converted per part, so that an error names its own file and row
        records += CONVERTERS[name](part, where)
    if name == "alpaca_eval":
        convert_alpaca_eval(records, source)  # instructions unique across files too
        write_alpaca_eval_json(out_path, records)
    else:
        convert_arena_hard(records, source)
        write_records(out_path, records, style="pandas")
    return {"name": name, "source": source, "rows": len(rows), "records": len(records), "path": str(out_path)}


def write_alpaca_eval_json(path: str | Path, records: Sequence[Mapping], indent: int = 2) -> None:
    """A JSON list as the official files are written, atomically: ``json.dumps`` (ASCII escapes), no final
    newline; ``indent=2`` in the data file ``alpaca_eval.json``, ``indent=4`` in the official
    ``model_outputs_<name>.json``."""
    write_text(path, json.dumps(list(records), indent=indent))


def read_prompt_set(name: str, path: str | Path) -> list[dict]:
    """A prepared prompt file, validated (errors name the file, row and field)."""
    path = Path(path)
    if name == "alpaca_eval":
        return convert_alpaca_eval(_json_list(path), str(path))
    from bmc.io import iter_json_lines

    return convert_arena_hard([row for _, row in iter_json_lines(path)], str(path))


def instructions(name: str, records: Sequence[Mapping]) -> list[str]:
    """The user turn of each item (Arena-Hard v0.1 questions have one turn; the official code uses it)."""
    if name == "alpaca_eval":
        return [r["instruction"] for r in records]
    return [r["turns"][0]["content"] for r in records]


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
        """The ``bmc.generation.DecodingSettings`` of this decoding (imported here: torch is needed only to
        generate, not to prepare prompt files or build Table 2)."""
        from bmc.generation import DecodingSettings

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
    """Answer every prompt of a benchmark in one batched call of a ``bmc.generation`` generator (a
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


# --------------------------------------------------------------------------------------------------
# The study config's ``instruction_following`` block, resolved with its defaults and cross-checked.

DEFAULT_JUDGE_MODEL = "gpt-4-1106-preview"  # GPT-4 Turbo: the default judge of both alpaca_eval 2 and arena-hard v0.1
ARENA_HARD_COMMIT = "3071ef95d913bb5cd632641db336a3b6c7fe4bdd"


def if_settings(config: Mapping) -> dict | None:
    """The ``instruction_following`` block with every default filled in, or None when the study has none.
    Raises ``ConfigError`` naming the key for what the schema cannot check (unknown tasks or models, two
    tasks in one Table 2 column group)."""
    from bmc.config import ConfigError

    block = config.get("instruction_following")
    if block is None:
        return None
    where = "instruction_following"
    tasks, methods = config["tasks"], list(config["methods"])
    benchmarks = list(block.get("benchmarks") or BENCHMARKS)
    for b in benchmarks:
        if b not in PROMPT_SETS:
            raise ConfigError(f"{where}.benchmarks: unknown benchmark {b!r}; known: {list(PROMPT_SETS)}")
    sets_cfg = block.get("prompt_sets") or {}
    prompt_sets = {}
    for b in BENCHMARKS:
        c = dict(sets_cfg.get(b) or {})
        files = c.get("data_files")
        prompt_sets[b] = {"data_files": [files] if isinstance(files, str) else (list(files) if files else None),
                          "check_size": c.get("check_size", True),
                          "hub_file": c.get("hub_file", "alpaca_eval_gpt4_baseline") if b == "alpaca_eval" else None}
    setups = {}
    if not block.get("setups"):
        raise ConfigError(f"{where}.setups: name at least one task whose models are evaluated")
    for task, c in block["setups"].items():
        key = f"{where}.setups.{task}"
        if task not in tasks:
            raise ConfigError(f"{key}: no task {task!r} under tasks (have {sorted(tasks)})")
        c = dict(c or {})
        template = c.get("template", "tokenizer")
        get_template(template)
        bos = c.get("bos", "official")
        if bos not in BOS_MODES:
            raise ConfigError(f"{key}.bos: {bos!r} is not one of {BOS_MODES}")
        models = c.get("models") or ["sft", *methods]
        for m in models:
            if m != "sft" and m not in methods:
                raise ConfigError(f"{key}.models: {m!r} is neither sft nor a method id (have {methods})")
        setups[task] = {"paper_setup": c.get("paper_setup") or f"IF ({tasks[task]['label']})",
                        "template": template, "bos": bos, "models": list(models)}
    column_groups = [s["paper_setup"] for s in setups.values()]
    if len(set(column_groups)) != len(column_groups):
        raise ConfigError(f"{where}.setups: two tasks share a Table 2 column group (paper_setup): {column_groups}")
    decoding = {}
    for b in BENCHMARKS:
        try:
            decoding[b] = decoding_for(b, (block.get("decoding") or {}).get(b))
        except ValueError as e:
            raise ConfigError(f"{where}.decoding.{e}") from None
    ev = config.get("evaluation") or {}
    judge = dict(block.get("judge") or {})
    ae, ah = dict(judge.get("alpaca_eval") or {}), dict(judge.get("arena_hard") or {})
    study = config["study"]
    return {
        "benchmarks": benchmarks,
        "download": bool(block.get("download", False)),
        "prompt_sets": prompt_sets,
        "limit": block.get("limit"),
        "setups": setups,
        "decoding": decoding,
        "engine": block.get("engine") or ev.get("engine", "auto"),
        "batch_size": block.get("batch_size") or ev.get("batch_size", 8),
        "judge": {
            "base_url": judge.get("base_url", "https://api.openai.com/v1"),
            "api_key_env": judge.get("api_key_env", "OPENAI_API_KEY"),
            "model": judge.get("model") or DEFAULT_JUDGE_MODEL,
            "cache_dir": judge.get("cache_dir") or f"results/{study}/cache/judges",
            "alpaca_eval": {"annotator": ae.get("annotator", "weighted_alpaca_eval_gpt4_turbo"),
                            "concurrency": ae.get("concurrency", 8)},
            "arena_hard": {"baseline": ah.get("baseline", "gpt-4-0314"), "parallel": ah.get("parallel", 8),
                           "repo": ah.get("repo", "https://github.com/lmarena/arena-hard-auto.git"),
                           "commit": ah.get("commit", ARENA_HARD_COMMIT)},
        },
    }


def if_jobs(settings: Mapping | None) -> list[tuple[str, str, str]]:
    """(benchmark, task, model) of every answer file (and judge result) the study makes."""
    if not settings:
        return []
    return [(b, t, m) for b in settings["benchmarks"] for t, s in settings["setups"].items() for m in s["models"]]


def judge_key_missing(settings: Mapping | None, environ: Mapping | None = None) -> str | None:
    """A sentence naming the unset key variable, or None (no block, a key, or an endpoint that needs none)."""
    import os

    if not settings:
        return None
    var = settings["judge"]["api_key_env"]
    environ = os.environ if environ is None else environ
    if var and not environ.get(var):
        return (f"instruction_following: the judge endpoint {settings['judge']['base_url']} needs an API key in the "
                f"environment variable {var}, which is not set")
    return None


# --------------------------------------------------------------------------------------------------
# Table 2 cells from the judge results.

TABLE2_COLUMNS = {  # paper column: (benchmark, key in the judge result file)
    "AE2 LC": ("alpaca_eval", "length_controlled_winrate"),
    "AE2 WR": ("alpaca_eval", "win_rate"),
    "AE2 Len": ("alpaca_eval", "avg_length"),
    "AH WR": ("arena_hard", "win_rate"),
    "AH Len": ("arena_hard", "avg_tokens"),
}
JUDGE_RULES = {"alpaca_eval": "judge_alpaca_eval", "arena_hard": "judge_arena_hard"}


def table2_cells(results: Mapping[tuple[str, str, str], tuple[Mapping, str]], rows: Mapping[str, str],
                 setups: Mapping[str, str]) -> list:
    """Cells from judge results ``{(benchmark, task, model): (judge.json content, its path)}``; ``rows``:
    model -> Table 2 row label; ``setups``: task -> column group. A value the judge did not give (NaN/None)
    stays missing."""
    from bmc.paper_tables import Cell

    cells = []
    for (benchmark, task, model), (result, path) in results.items():
        if model not in rows:
            continue
        for column, (b, key) in TABLE2_COLUMNS.items():
            value = result.get(key) if b == benchmark else None
            if value is not None:
                cells.append(Cell(rows[model], setups[task], column, float(value),
                                  f"rule {JUDGE_RULES[benchmark]}: {path}"))
    return cells


__all__ = ["BENCHMARKS", "CHAT_TEMPLATES", "PROMPT_SETS", "IFDecoding", "GenerationRun", "convert_alpaca_eval",
           "convert_arena_hard", "decoding_for", "generate_answers", "prepare_prompt_set",
           "read_prompt_set", "render_prompt", "write_answers", "if_settings", "if_jobs", "table2_cells"]
