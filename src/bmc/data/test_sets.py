"""The paper's test-set registry and preparation (paper Table 1's test sets; the official ``eval/QA`` and ``eval/math``
test files): each set's hub id, split, size and record fields, loading its rows, writing them as the official
files are written, and a task's test split as the evaluate rule reads it.

:func:`prepare_test_set` loads the rows (from the hub, or from local files in the hub's format), checks the
split size, converts them (:mod:`bmc.data.converters`), validates every record and writes JSONL atomically.
``check_size=False`` allows other sizes (subsets, fixtures); for TabMWP it then samples ``min(1000, rows)``.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bmc.data.converters import (
    MATH_CONFIGS,
    NoneType,
    SizeError,
    TABMWP_SAMPLE,
    _field,
    convert_arc,
    convert_ecqa,
    convert_gsm8k,
    convert_hendrycks_math,
    convert_math500,
    convert_mawps,
    convert_openbookqa,
    convert_qasc,
    convert_strategyqa,
    convert_tabmwp,
)
from bmc.io import RecordError, atomic_path, iter_json_lines


# --------------------------------------------------------------------------------------------------
# The registry.

QA_FIELDS = {"problem": str, "solution": str, "answer": str}
MATH500_FIELDS = {"problem": str, "solution": str, "answer": str, "subject": str, "level": int, "unique_id": str}


@dataclass(frozen=True)
class EvalSetSpec:
    """How one test set is built. ``fields``: the output fields in order with their types (``exact``: no
    other field); ``nonempty``: string fields that may not be blank."""

    name: str
    setup: str  # "QA" or "Math" (the paper setup, config tasks.<t>.paper_setup)
    hub_id: str | None
    config: str | tuple[str, ...] | None
    split: str
    size: int  # records written
    converter: Callable[..., list[dict]]
    fields: Mapping[str, type | tuple]
    official: bool  # evaluated by the official code (False: a switch)
    official_file: str | None  # path of the official file under the BMC repository's data folders
    source: str  # where the rows come from, in words
    nonempty: tuple[str, ...] = ()
    exact: bool = True
    local_format: str = "hub"  # "hub": parquet/json/jsonl read by datasets; "json": plain JSON/JSONL
    json_style: str = "json"  # how the official file is serialised (see dumps_record)
    source_size: int | None = None  # rows expected in the source when the records are a sample of it
    sample_size: int | None = None  # records drawn from the source (converter keyword ``sample_size``)

    @property
    def configs(self) -> tuple[str | None, ...]:
        return self.config if isinstance(self.config, tuple) else (self.config,)

    def describe(self) -> str:
        where = self.hub_id or self.source
        if self.config:
            where += f" [{', '.join(self.configs)}]"
        return f"{where}, split {self.split}"


def _qa(name, hub_id, config, split, size, converter, official_file, official=True):
    return EvalSetSpec(name, "QA", hub_id, config, split, size, converter, QA_FIELDS, official, official_file,
                       source=f"Hugging Face Hub {hub_id}", nonempty=("problem", "solution", "answer"))


TEST_SETS: dict[str, EvalSetSpec] = {
    "ecqa": _qa("ecqa", "tasksource/ecqa", None, "test", 2194, convert_ecqa, "eval/QA/ECQA/data/test.jsonl"),
    "qasc": _qa("qasc", "allenai/qasc", None, "validation", 926, convert_qasc, "eval/QA/QASC/data/test.jsonl"),
    "openbookqa": _qa("openbookqa", "allenai/openbookqa", "main", "test", 500, convert_openbookqa,
                      "eval/QA/OpenbookQA/data/test.jsonl"),
    "arc_easy": _qa("arc_easy", "allenai/ai2_arc", "ARC-Easy", "test", 2376, convert_arc,
                    "eval/QA/ARC/data/test.jsonl"),
    "strategyqa": _qa("strategyqa", "ChilleD/StrategyQA", None, "test", 687, convert_strategyqa, None,
                      official=False),
    "gsm8k": EvalSetSpec("gsm8k", "Math", "openai/gsm8k", "main", "test", 1319, convert_gsm8k,
                         {"question": str, "answer": str, "idx": int}, True, "eval/math/eval/data/gsm8k/test.jsonl",
                         source="Hugging Face Hub openai/gsm8k", nonempty=("question", "answer"), json_style="pandas"),
    "math500": EvalSetSpec("math500", "Math", "HuggingFaceH4/MATH-500", None, "test", 500, convert_math500,
                           MATH500_FIELDS, True, "eval/math/eval/data/math-oai/test.jsonl",
                           source="Hugging Face Hub HuggingFaceH4/MATH-500",
                           nonempty=("problem", "solution", "answer", "subject", "unique_id")),
    "math_full": EvalSetSpec("math_full", "Math", "EleutherAI/hendrycks_math", MATH_CONFIGS, "test", 5000,
                             convert_hendrycks_math, {**MATH500_FIELDS, "level": (int, NoneType)}, False, None,
                             source="Hugging Face Hub EleutherAI/hendrycks_math",
                             nonempty=("problem", "solution", "answer", "subject", "unique_id")),
    "mawps": EvalSetSpec("mawps", "Math", None, None, "test", 2065, convert_mawps,
                         {"input": str, "target": float, "type": str, "idx": int}, True,
                         "eval/math/eval/data/mawps/test.jsonl", source="ToRA src/data/mawps/test.jsonl",
                         nonempty=("input", "type"), local_format="json", json_style="pandas"),
    "tabmwp": EvalSetSpec("tabmwp", "Math", None, None, "test", TABMWP_SAMPLE, convert_tabmwp,
                          {"question": str, "choices": (list, NoneType), "answer": str, "table_title": (str, NoneType),
                           "table": str, "solution": str, "ans_type": str, "idx": int}, True,
                          "eval/math/eval/data/tabmwp/test.jsonl",
                          source="PromptPG data/tabmwp/problems_test.json", nonempty=("question", "table", "answer"),
                          exact=False, local_format="json", json_style="pandas", source_size=7686,
                          sample_size=TABMWP_SAMPLE),
}


def get_spec(name: str) -> EvalSetSpec:
    try:
        return TEST_SETS[name]
    except KeyError:
        raise ValueError(f"unknown test set {name!r}; known: {sorted(TEST_SETS)}") from None


# --------------------------------------------------------------------------------------------------
# Loading rows.

DataFiles = str | Path | Sequence[str | Path] | Mapping[str, Any]


def _file_list(files: Any) -> list[Path]:
    if isinstance(files, (str, Path)):
        return [Path(files)]
    return [Path(f) for f in files]


def _read_json_rows(path: Path) -> list:
    """Plain JSON/JSONL rows: a .jsonl file line by line; a .json file holding a list, or an object whose
    values are the rows (PromptPG's ``problems_test.json``, keyed by pid)."""
    if path.suffix == ".jsonl":
        return [row for _, row in iter_json_lines(path)]
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise RecordError(path, e.lineno, None, f"not valid JSON ({e.msg})") from None
    if isinstance(data, dict):
        return list(data.values())
    if isinstance(data, list):
        return data
    raise RecordError(path, 1, None, f"expected a JSON list or object of records, got {type(data).__name__}")


_BUILDERS = {".parquet": "parquet", ".json": "json", ".jsonl": "json", ".csv": "csv"}


def _read_hub_format(paths: list[Path]) -> list[dict]:
    """Local files in the hub's format, read by ``datasets`` exactly as ``load_dataset`` reads them (into a
    throw-away cache)."""
    import datasets

    kinds = {_BUILDERS.get(p.suffix) for p in paths}
    if None in kinds or len(kinds) != 1:
        raise ValueError(f"data files must all be parquet, json/jsonl or csv files: {[str(p) for p in paths]}")
    for p in paths:
        if not p.is_file():
            raise FileNotFoundError(f"data file not found: {p}")
    with tempfile.TemporaryDirectory(prefix="bmc-hub-") as cache:
        ds = datasets.load_dataset(kinds.pop(), data_files=[str(p) for p in paths], split="train", cache_dir=cache)
        rows = ds.to_list()
        del ds
    return rows


def _load_parts(spec: EvalSetSpec, data_files: DataFiles | None) -> list[tuple[str, list]]:
    """(source name, rows) per part: one part per file of a local source, one per config of a hub source."""
    if data_files is None:
        if spec.hub_id is None:
            raise ValueError(f"{spec.name}: no Hugging Face Hub id; pass data_files= the {spec.source} file")
        import datasets

        parts = []
        for config in spec.configs:
            where = spec.hub_id + (f" [{config}]" if config else "") + f" split {spec.split}"
            try:
                ds = datasets.load_dataset(spec.hub_id, config, split=spec.split)
            except Exception as e:  # offline without a cache, wrong id, ...
                raise RuntimeError(f"{spec.name}: could not load {where} ({type(e).__name__}: {e}). Offline jobs "
                                   "(HF_DATASETS_OFFLINE=1) need the dataset in the Hugging Face cache, or pass "
                                   "data_files") from e
            parts.append((where, ds.to_list()))
        return parts
    if isinstance(data_files, Mapping):  # {config: files} for a multi-config set, read in the spec's order
        unknown = set(data_files) - set(spec.configs)
        if unknown:
            raise ValueError(f"{spec.name}: data_files names configs {sorted(unknown)}, not of {list(spec.configs)}")
        paths = [p for c in spec.configs if c in data_files for p in _file_list(data_files[c])]
    else:
        paths = _file_list(data_files)
    if not paths:
        raise ValueError(f"{spec.name}: empty data_files")
    if spec.local_format == "json":
        for p in paths:
            if not p.is_file():
                raise FileNotFoundError(f"data file not found: {p}")
        return [(str(p), _read_json_rows(p)) for p in paths]
    # One datasets read per file, so that errors name the file and its own row.
    return [(str(p), _read_hub_format([p])) for p in paths]


def load_hub_rows(spec: EvalSetSpec | str, data_files: DataFiles | None = None) -> list[dict]:
    """The rows of a test set's source: ``datasets.load_dataset(hub_id, config, split=split)`` (each config of
    a multi-config set, concatenated in order), or, when ``data_files`` is given, local files in the hub's
    format (parquet/json/jsonl; for a multi-config set a ``{config: files}`` mapping, read in the spec's
    config order; configs left out are simply absent, which the size check catches) -- or, for MAWPS and
    TabMWP, their documented source file."""
    spec = get_spec(spec) if isinstance(spec, str) else spec
    return [row for _, rows in _load_parts(spec, data_files) for row in rows]


# --------------------------------------------------------------------------------------------------
# Writing, byte for byte as the official files are written.


def dumps_record(record: Mapping, style: str = "json") -> str:
    """One JSONL line. ``"json"``: ``json.dumps`` defaults (ASCII escapes, ``", "``/``": "``), as the official
    QA files are written. ``"pandas"``: ``Dataset.to_json``/pandas ``to_json`` lines (compact separators,
    ASCII escapes, ``/`` escaped as ``\\/``), as ToRA wrote the official math files. With these styles our
    files are byte-identical to the official ones (checked for the four QA sets, GSM8K and MAWPS; MATH-500's
    "json" and TabMWP's "pandas" are assumed, those official files not being available here)."""
    if style == "json":
        return json.dumps(record)
    if style == "pandas":
        return json.dumps(record, separators=(",", ":")).replace("/", "\\/")
    raise ValueError(f"unknown JSON style {style!r}")


def write_records(path: str | Path, records: Iterable[Mapping], style: str = "json") -> int:
    """Write JSONL atomically (bmc.io.atomic_path): a failure leaves no file and an older file untouched."""
    n = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as f:
        for record in records:
            f.write(dumps_record(record, style) + "\n")
            n += 1
    return n


# --------------------------------------------------------------------------------------------------
# Building a test set.


def _locate(parts: list[tuple[str, list]], global_row: int) -> tuple[str, int]:
    """Map a 1-based row of the concatenation to (part source, 1-based row within the part)."""
    offset = 0
    for source, rows in parts:
        if global_row <= offset + len(rows):
            return source, global_row - offset
        offset += len(rows)
    return parts[-1][0], global_row - offset + len(parts[-1][1])


def _reraise_in_part(e: RecordError, parts: list[tuple[str, list]]) -> RecordError:
    prefix = f"{e.path}, row {e.row}" + (f", field {e.field!r}" if e.field else "") + ": "
    problem = str(e)[len(prefix):] if str(e).startswith(prefix) else str(e)
    source, row = _locate(parts, e.row)
    return RecordError(source, row, e.field, problem)


def validate_records(records: Sequence[Mapping], spec: EvalSetSpec, source: str) -> None:
    """Every record has the spec's fields, in order, with their types (RecordError naming row and field)."""
    names = list(spec.fields)
    for i, rec in enumerate(records):
        for name, types in spec.fields.items():
            _field(rec, i, source, name, types, nonempty=name in spec.nonempty)
        keys = list(rec)
        if spec.exact and keys != names:
            raise RecordError(source, i + 1, None, f"fields {keys}, expected {names}")


def prepare_test_set(name: str, out_path: str | Path, data_files: DataFiles | None = None,
                     check_size: bool = True) -> dict:
    """Build one test set and write it to ``out_path`` as JSONL (atomically: a failure leaves no file and
    an older file untouched). ``check_size=False`` allows a size other than the paper's (a subset).
    Returns a summary: name, source, rows read, records written, path."""
    spec = get_spec(name)
    parts = _load_parts(spec, data_files)
    rows = [row for _, part in parts for row in part]
    source = "; ".join(s for s, _ in parts) if len(parts) <= 3 else f"{parts[0][0]} ... {parts[-1][0]}"
    if check_size:
        expected = spec.source_size or spec.size
        if len(rows) != expected:
            raise SizeError(f"{name}: expected {expected} rows in {spec.describe()}, got {len(rows)} from {source}"
                            "; pass check_size=False to allow a subset or another size")
    kwargs = {}
    if spec.sample_size:
        kwargs["sample_size"] = spec.sample_size if check_size else min(spec.sample_size, len(rows))
    try:
        records = spec.converter(rows, "<rows>", **kwargs)
    except RecordError as e:
        raise _reraise_in_part(e, parts) from None
    expected_out = kwargs.get("sample_size", len(rows))
    if len(records) != expected_out:  # a converter bug, never a silent drop
        raise AssertionError(f"{name}: {len(rows)} rows gave {len(records)} records, expected {expected_out}")
    validate_records(records, spec, f"{name} records from {source}")
    if check_size and len(records) != spec.size:
        raise SizeError(f"{name}: expected {spec.size} records, got {len(records)}")
    n = write_records(out_path, records, spec.json_style)
    return {"name": name, "source": source, "rows": len(rows), "records": n, "path": str(out_path)}


# --------------------------------------------------------------------------------------------------
# A task's test split: its prepared test sets as the records the evaluate rule reads.

GRADER_DATASET = {"gsm8k": "gsm8k", "math500": "math-oai", "math_full": "math-oai", "mawps": "mawps",
                  "tabmwp": "tabmwp"}


def evaluation_record(record: Mapping, name: str) -> dict:
    """One prepared test record as ``{problem, solution, answer, type}`` (``type`` = the set's name): QA sets as they
    are; math sets through the official harness's question and gold-answer parsing
    (:func:`bmc.evaluation.math_parser.math_question`, :func:`~bmc.evaluation.math_parser.parse_ground_truth`).
    ``solution`` is the gold response where the set has one (MAWPS has none: "The answer is: <x>"), the held-out
    y_w."""
    spec = get_spec(name)
    if spec.setup == "QA":
        return {"problem": record["problem"], "solution": record["solution"], "answer": record["answer"],
                "type": name}
    from bmc.evaluation.math_parser import math_question, parse_ground_truth

    dataset = GRADER_DATASET[name]
    answer = parse_ground_truth(dict(record), dataset)
    if dataset == "gsm8k":
        solution = record["answer"].split("####")[0].strip() + f"\nThe answer is: {answer}"
    elif dataset == "mawps":
        solution = f"The answer is: {answer}"
    else:
        solution = record["solution"]
    return {"problem": math_question(dict(record), dataset), "solution": solution, "answer": answer, "type": name}


def test_split(files: Mapping[str, str | Path]) -> list[dict]:
    """The records of several prepared test sets (name -> file), in the given order."""
    out = []
    for name, path in files.items():
        for i, record in iter_json_lines(path):
            try:
                out.append(evaluation_record(record, name))
            except (KeyError, TypeError, ValueError) as e:
                raise RecordError(path, i, None, f"not a {name} record ({type(e).__name__}: {e})") from None
    return out
