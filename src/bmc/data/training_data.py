"""The paper's training data as workflow records: SFT sets (QA: the official ECQA+QASC SFT set; math: the official
math SFT set, or a seeded 40k subset of MetaMathQA), preference pairs (instruction following: UltraFeedback
binarized) and the bridged pairs the authors released with the official code (``training_data/*_dpo_bmc``).

Every source becomes the records the synthetic tasks write, so the stages after it do not care where data came
from:

* SFT records (``data/<task>/train.jsonl``): ``problem`` (the user turn), ``solution`` (the assistant turn
  without the setup's response prefix; :func:`bmc.templates.response_prefix` puts it back), ``answer`` (the
  gold answer the sampled y_l are checked against) and ``type`` (the source set).
* Preference records (``pairs/<task>/sampled.jsonl``; held-out: ``heldout/<task>/pairs.jsonl``): ``id``,
  ``problem`` (the prompt), ``y_w`` / ``y_l`` (the chosen / rejected final assistant turn), ``answer`` ("":
  open-ended, no answer check), ``type``. The held-out split also gives ``data/<task>/test.jsonl`` (prompt and
  chosen response) for the KL curve's chosen responses.

* Released bridged pairs (``pairs/<task>/bridged/main.jsonl``, rule ``released_pairs``): the bridged pair as
  ``bridged_chosen`` (the authors' pseudo-winning response) and ``bridged_rejected`` = ``y_l``; ``y_w`` the
  original winning response where the file carries it or it is matched (:func:`match_originals`), else empty
  (the baselines, which train on (y_w, y_l), then leave that pair out and count it). Files in alignment-handbook's
  preference format (``scripts/run_dpo_bmc.py``: ``apply_chat_template(task="dpo")``): ``chosen`` and ``rejected``
  are message lists whose last turn is the response; the prompt is a ``prompt`` column (messages or text) or the
  turns before it. A multi-turn prompt is kept whole (``prompt_messages``).

Sources are read from the Hugging Face Hub through its cache (offline by default) or from local files in the
hub's format (``data_files``). A bad row fails naming the source, the row and the field.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Callable

from bmc.io import RecordError
from bmc.templates import QA_RESPONSE_PREFIX

QA_ANSWER = re.compile(r"The answer is (.+?)\s*$", re.S)
METAMATH_ANSWER = re.compile(r"The answer is:?\s*(.+?)\s*$", re.S)


def _text(row: Any, i: int, source: str, name: str) -> str:
    if not isinstance(row, Mapping) or name not in row:
        raise RecordError(source, i + 1, name, "missing")
    value = row[name]
    if not isinstance(value, str) or not value.strip():
        raise RecordError(source, i + 1, name, f"expected a non-empty string, got {value!r}")
    return value


def _turns(row: Any, i: int, source: str, name: str) -> list[dict]:
    """A chat message list that ends in an assistant turn with text."""
    msgs = row.get(name) if isinstance(row, Mapping) else None
    if not isinstance(msgs, list) or not msgs:
        raise RecordError(source, i + 1, name, f"expected a list of chat messages, got {msgs!r:.80}")
    for m in msgs:
        if not isinstance(m, Mapping) or not isinstance(m.get("content"), str) or m.get("role") not in (
                "system", "user", "assistant"):
            raise RecordError(source, i + 1, name, f"malformed message {m!r:.80}")
    if msgs[-1]["role"] != "assistant" or not msgs[-1]["content"].strip():
        raise RecordError(source, i + 1, name, "the last message must be a non-empty assistant turn")
    return msgs


# --------------------------------------------------------------------------------------------- SFT sets
def _sft_exchange(row: Mapping, i: int, source: str, answer: re.Pattern) -> tuple[str, str, re.Match, str]:
    """(user turn, assistant turn, its final-answer match, the row's prompt_id type) of an official SFT row:
    ``messages`` = [user, assistant]."""
    msgs = _turns(row, i, source, "messages")
    if [m["role"] for m in msgs] != ["user", "assistant"]:
        raise RecordError(source, i + 1, "messages", f"expected [user, assistant], got {[m['role'] for m in msgs]}")
    reply = msgs[1]["content"]
    m = answer.search(reply)
    if not m:
        raise RecordError(source, i + 1, "messages", "assistant turn has no 'The answer is ...' at its end")
    return msgs[0]["content"], reply, m, (row.get("prompt_id") or "").rsplit("_", 1)[0]


def convert_qa_sft(rows: Sequence[Mapping], source: str) -> list[dict]:
    """The official QA SFT set (``training_data/qa_sft``: ``prompt_id``, ``messages`` = [user, assistant]; the
    assistant turn is "Let's think step by step.\\n<rationale>\\nThe answer is <option>")."""
    out = []
    for i, row in enumerate(rows):
        problem, reply, m, kind = _sft_exchange(row, i, source, QA_ANSWER)
        if not reply.startswith(QA_RESPONSE_PREFIX):
            raise RecordError(source, i + 1, "messages", f"assistant turn does not start with {QA_RESPONSE_PREFIX!r}")
        out.append({"problem": problem, "solution": reply[len(QA_RESPONSE_PREFIX):], "answer": m.group(1),
                    "type": kind or "qa"})
    return out


def convert_metamathqa(rows: Sequence[Mapping], source: str) -> list[dict]:
    """MetaMathQA (``query``, ``response`` ending in "The answer is: <x>", ``type`` such as GSM_Rephrased)."""
    out = []
    for i, row in enumerate(rows):
        query, response = _text(row, i, source, "query"), _text(row, i, source, "response")
        m = METAMATH_ANSWER.search(response)
        if not m:
            raise RecordError(source, i + 1, "response", "no 'The answer is: ...' at its end")
        out.append({"problem": query, "solution": response, "answer": m.group(1), "type": row.get("type") or "math"})
    return out


def convert_math_sft(rows: Sequence[Mapping], source: str) -> list[dict]:
    """The official math SFT set (``training_data/math_sft``: ``messages`` = [user, assistant], the assistant turn a
    chain of thought that ends in "The answer is: <x>" or "The answer is <x>")."""
    out = []
    for i, row in enumerate(rows):
        problem, reply, m, kind = _sft_exchange(row, i, source, METAMATH_ANSWER)
        out.append({"problem": problem, "solution": reply, "answer": m.group(1), "type": kind or "math"})
    return out


ORIGINAL_COLUMNS = ("original_chosen", "chosen_original", "y_w")  # a released file's original y_w, if it has one


def _prompt_turns(row: Mapping, i: int, source: str, chosen: list[dict], rejected: list[dict]) -> list[dict]:
    """The prompt of a preference row: its ``prompt`` column (messages or text), or the turns before the response,
    the same in ``chosen`` and ``rejected``; it ends with a user turn."""
    prompt = row.get("prompt") if isinstance(row, Mapping) else None
    if isinstance(prompt, str) and prompt.strip():
        turns = [{"role": "user", "content": prompt}]
    elif isinstance(prompt, list) and prompt:
        turns = [dict(m) for m in prompt]
        for m in turns:
            if m.get("role") not in ("system", "user", "assistant") or not isinstance(m.get("content"), str):
                raise RecordError(source, i + 1, "prompt", f"malformed message {m!r:.80}")
    elif prompt is None or (isinstance(prompt, (list, str)) and not prompt):
        turns = [dict(m) for m in chosen[:-1]]
        if turns != [dict(m) for m in rejected[:-1]]:
            raise RecordError(source, i + 1, "rejected", "its turns before the response differ from chosen's")
    else:
        raise RecordError(source, i + 1, "prompt", f"expected messages or text, got {prompt!r:.80}")
    if not turns or turns[-1]["role"] != "user" or not turns[-1]["content"].strip():
        raise RecordError(source, i + 1, "prompt", "the prompt must end with a non-empty user turn")
    return turns


def convert_released_pairs(rows: Sequence[Mapping], source: str) -> list[dict]:
    """Released bridged pairs in the handbook's preference format: one pair per row (see the module docstring)."""
    out = []
    for i, row in enumerate(rows):
        chosen, rejected = _turns(row, i, source, "chosen"), _turns(row, i, source, "rejected")
        turns = _prompt_turns(row, i, source, chosen, rejected)
        column = next((c for c in ORIGINAL_COLUMNS if isinstance(row, Mapping) and row.get(c) is not None), None)
        original = None if column is None else row[column]
        if isinstance(original, list):  # messages: the original response is the last turn
            original = _turns(row, i, source, column)[-1]["content"]
        record = {"id": str(row.get("prompt_id") or i), "problem": turns[-1]["content"], "answer": "",
                  "type": "released", "y_w": original or "", "y_l": rejected[-1]["content"],
                  "bridged_chosen": chosen[-1]["content"], "bridged_rejected": rejected[-1]["content"],
                  "y_w_from": "file" if original else None}
        if len(turns) > 1:  # a system prompt or earlier turns: the whole conversation is the prompt
            record["prompt_messages"] = turns
        out.append(record)
    return out


def _key(text: str) -> str:
    return " ".join(text.split())


def match_originals(pairs: list[dict], references: list[dict], reference_key: str, where: str) -> dict:
    """Fill each pair's missing ``y_w`` (and ``answer``) from ``references`` whose ``problem`` equals its prompt
    (whitespace aside): the task's gold responses (``reference_key`` "solution", with the setup's response prefix
    already on it) or a preference dataset's chosen responses (``y_w``). Returns the counts; a prompt with two
    different references is an error naming it."""
    table: dict[str, dict] = {}
    for r in references:
        k = _key(r["problem"])
        if k in table and table[k][reference_key] != r[reference_key]:
            raise ValueError(f"{where}: two different references for the prompt {r['problem'][:80]!r}")
        table[k] = r
    counts = {"from_file": 0, "matched": 0, "unmatched": 0, "references": where}
    for p in pairs:
        if p.get("y_w"):
            counts["from_file"] += 1
            continue
        ref = table.get(_key(p["problem"]))
        if ref is None:
            counts["unmatched"] += 1
            p["y_w_from"] = None
            continue
        p["y_w"], p["y_w_from"] = ref[reference_key], "matched"
        p["answer"] = ref.get("answer", p.get("answer", "")) or ""
        counts["matched"] += 1
    return counts


@dataclass(frozen=True)
class DataSource:
    """A training data source: a hub dataset (id, config, split) and the converter of its rows."""

    name: str
    hub_id: str | None
    config: str | None
    splits: tuple[str, ...]
    size: dict  # split -> rows in the source (checked unless check_size is off; None: not known here)
    converter: Callable[[Sequence[Mapping], str], list[dict]]
    kind: str  # "sft", "pairs" or "released_pairs"
    note: str = ""
    paper_size: dict | None = None  # split -> rows the paper states, where the file could not be counted here


def convert_ultrafeedback(rows: Sequence[Mapping], source: str) -> list[dict]:
    """UltraFeedback binarized (``prompt``, ``prompt_id``, ``chosen``/``rejected`` = message lists whose last turn
    is the response): one open-ended pair per row."""
    out = []
    for i, row in enumerate(rows):
        prompt = _text(row, i, source, "prompt")
        chosen, rejected = _turns(row, i, source, "chosen"), _turns(row, i, source, "rejected")
        out.append({"id": str(row.get("prompt_id") or i), "problem": prompt, "answer": "", "type": "ultrafeedback",
                    "y_w": chosen[-1]["content"], "y_l": rejected[-1]["content"]})
    return out


SOURCES: dict[str, DataSource] = {
    "qa_sft": DataSource("qa_sft", None, None, ("train",), {"train": 15345}, convert_qa_sft, "sft",
                         "the official BMC repository's training_data/qa_sft parquet (ECQA 7,598 + QASC 7,747)"),
    "metamathqa": DataSource("metamathqa", "meta-math/MetaMathQA", None, ("train",), {"train": 395000},
                             convert_metamathqa, "sft"),
    "ultrafeedback_binarized": DataSource(
        "ultrafeedback_binarized", "HuggingFaceH4/ultrafeedback_binarized", None, ("train_prefs", "test_prefs"),
        {"train_prefs": 61135, "test_prefs": 2000}, convert_ultrafeedback, "pairs"),
    # the official repository's files (YJiangcm/BMC @ 958d49e, training_data/), fetched at pinned URLs (sources:);
    # their row counts could not be read here (no copy), so they are not checked
    "math_sft": DataSource("math_sft", None, None, ("train",), {"train": None}, convert_math_sft, "sft",
                           "the official BMC repository's training_data/math_sft parquet",
                           paper_size={"train": 40000}),  # paper §2.3: a 40k subset of MetaMathQA
    "qa_dpo_bmc": DataSource("qa_dpo_bmc", None, None, ("train",), {"train": None}, convert_released_pairs,
                             "released_pairs", "training_data/qa_dpo_bmc: the authors' bridged QA pairs"),
    "math_dpo_bmc": DataSource("math_dpo_bmc", None, None, ("train",), {"train": None}, convert_released_pairs,
                               "released_pairs", "training_data/math_dpo_bmc: the authors' bridged math pairs"),
    "ultrafeedback_dpo_bmc": DataSource(
        "ultrafeedback_dpo_bmc", None, None, ("train", "test"), {"train": None, "test": None},
        convert_released_pairs, "released_pairs",
        "training_data/ultrafeedback_dpo_bmc (2 train shards, 1 test): the authors' bridged UltraFeedback pairs"),
}


def get_source(name: str, kind: str | None = None) -> DataSource:
    src = SOURCES.get(name)
    if src is None or (kind and src.kind != kind):
        known = sorted(n for n, s in SOURCES.items() if not kind or s.kind == kind)
        raise ValueError(f"unknown {kind or 'data'} source {name!r}; known: {known}")
    return src


def load_rows(src: DataSource, split: str, data_files: Any = None) -> tuple[str, list[tuple[str, list[dict]]]]:
    """(where, [(file, rows), ...]) of one split: local hub-format files, each with its rows (so that a bad row is
    named in its own file), or the hub dataset through the cache."""
    from bmc.data.test_sets import _file_list, _read_hub_format

    if split not in src.splits:
        raise ValueError(f"{src.name}: no split {split!r} (have {list(src.splits)})")
    if data_files:
        if isinstance(data_files, Mapping):
            if split not in data_files:
                raise ValueError(f"{src.name}: data_files has no entry for split {split!r}")
            data_files = data_files[split]
        paths = _file_list(data_files)
        return ", ".join(map(str, paths)), [(str(p), _read_hub_format([p])) for p in paths]
    if src.hub_id is None:
        raise ValueError(f"{src.name} has no Hugging Face Hub id: give data_files ({src.note})")
    import datasets

    where = f"{src.hub_id} split {split}"
    try:
        ds = datasets.load_dataset(src.hub_id, src.config, split=split)
    except Exception as e:
        raise RuntimeError(f"{src.name}: could not load {where} ({type(e).__name__}: {e}). Offline jobs need the "
                           "dataset in the Hugging Face cache (or data_files, or download: true)") from e
    return where, [(where, ds.to_list())]


def subset(records: list[dict], size: int | None, seed: int) -> list[dict]:
    """A seeded random subset of ``size`` records in source order (all of them when size is None)."""
    if size is None or size >= len(records):
        return records
    keep = sorted(random.Random(seed).sample(range(len(records)), size))
    return [records[i] for i in keep]


def prepare(name: str, kind: str, split: str, data_files: Any = None, size: int | None = None, seed: int = 0,
            check_size: bool = True) -> tuple[list[dict], dict]:
    """Records of one split of a source, and a summary (source, rows read, records kept)."""
    src = get_source(name, kind)
    where, parts = load_rows(src, split, data_files)
    n_rows = sum(len(rows) for _, rows in parts)
    if check_size and src.size[split] is not None and n_rows != src.size[split]:
        raise ValueError(f"{name}: expected {src.size[split]} rows in {where}, got {n_rows}; set check_size: "
                         "false to use another size")
    records = subset([r for part, rows in parts for r in src.converter(rows, part)], size, seed)
    return records, {"source": name, "from": where, "split": split, "rows": n_rows, "records": len(records),
                     "subset_seed": seed if size is not None and size < n_rows else None}


def test_records_from_pairs(pairs: list[dict]) -> list[dict]:
    """Held-out pairs as test records (prompt, chosen response): what heldout_chosen reads."""
    return [{"problem": p["problem"], "solution": p["y_w"], "answer": p["answer"], "type": p["type"]} for p in pairs]
