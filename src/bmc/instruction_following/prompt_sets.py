"""Instruction following's prompt sets (paper Table 2, the IF setup; official
``eval/alpacaeval2/alpaca_eval_inference.py`` and ``eval/arenahard/arena_hard_inference.py``): the AlpacaEval 2
and Arena-Hard v0.1 prompt files, read from the hub or local files and written as the official ones are.

The chat templates, decoding and answer files are in :mod:`bmc.instruction_following.answers`; the
study config's block and Table 2's cells in :mod:`bmc.instruction_following.study`.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bmc.data.converters import SizeError
from bmc.data.test_sets import EvalSetSpec, load_hub_rows, write_records
from bmc.io import RecordError, write_text

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
