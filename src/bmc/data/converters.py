"""The paper's evaluation test sets (paper Table 1's QA and math columns; official
``eval/QA/<D>/data/test.jsonl`` and ``eval/math/eval/data/<name>/test.jsonl``): one converter per test set from
its Hugging Face Hub rows (or documented source files) to the record format that the official BMC evaluation
code reads.

One converter per test set takes the rows as ``datasets.load_dataset(...)`` yields them (a ``Dataset`` or a
list of dicts) and returns the official records, one per row, in row order. The registry, the loading and
the writing are in :mod:`bmc.data.test_sets`. A bad row fails with the source (file, or hub id and
split), the 1-based row and the field named; no row is ever dropped.

Official record formats (read from the official files, see shared/docs/official-code.md sections 1.1, 1.2)
---------------------------------------------------------------------------------------------------------

QA (``eval/QA/<D>/data/test.jsonl``; checked field by field against all four shipped test files):

* ``problem`` = question + ``"\\nOptions:\\n"`` + the option texts, **lower-cased**, one per line, in the
  dataset's order (no letters; no stripping: an ECQA option ``"ice cream "`` keeps its trailing space).
* ``answer`` = the correct option's text **as the dataset writes it** (original case; this is what makes the
  official case-sensitive comparison unreachable for some items, see official-code.md section 0.3).
* ``solution`` = rationale + ``"\\nThe answer is " + answer``; ECQA's rationale is ``taskA_pos`` (the
  positive explanation properties, newline-separated, unstripped); QASC's is ``fact1 \\n fact2 \\n
  combinedfact`` (unstripped: 34 official lines keep trailing spaces). OpenBookQA and ARC have no rationale:
  ``solution`` is ``"The answer is " + answer`` alone.
* Field order ``problem, solution, answer``; no ``idx``.

Math (``eval/math/eval/data/<name>/test.jsonl``):

* gsm8k: ``{question, answer, idx}``, the hub text unchanged (``answer`` ends ``"#### <n>"``), ``idx`` the
  0-based row number (checked against the shipped file).
* math-oai (MATH-500): ``{problem, solution, answer, subject, level, unique_id}``, no ``idx`` (the loader adds
  it in memory), ``level`` an int.
* mawps: ``{input, target, type, idx}``, ``target`` a float (``43.0``), ``type`` one of singleeq, singleop,
  addsub, multiarith (checked against the shipped file).
* tabmwp: the official file is missing from the public snapshot. Its loader (ToRA ``data_loader``, copied by
  BMC/JiuZhang3.0) reads PromptPG's ``tabmwp_test.json`` (dict pid -> problem; ``.values()`` in file order),
  then ``dataset.select(random.sample(range(len(dataset)), 1000))`` right after ``set_seed(0)`` (ToRA's
  ``set_seed`` calls ``random.seed(0)``), keeps that sampled order and adds ``idx`` = 0..999 last. We
  reproduce exactly that: ``random.Random(0).sample(range(7686), 1000)`` (identical to ``random.seed(0);
  random.sample(...)`` on the global generator), records in sampled order, every PromptPG field kept in file
  order plus ``idx``. [unverified: that no other draw from Python's global ``random`` happened between
  ``set_seed`` and the sample in the run that wrote the official file; ToRA's loader is the first thing its
  ``main`` does, so none is expected. ToRA wrote the file through ``Dataset.from_list(...).to_json`` which
  pads ``table_for_pd`` to the union of all tables' columns; we keep each problem's own ``table_for_pd``.
  The evaluation reads none of it.]

Hub schemas each converter expects (``verified`` = seen on the dataset card / hub metadata or in the official
data; ``assumed`` = from memory or third-party use only)
---------------------------------------------------------------------------------------------------------

* ``ecqa`` -- ``tasksource/ecqa``, split ``test`` (2,194): ``q_no, q_concept, q_text, q_op1..q_op5, q_ans,
  taskA_pos, taskA_neg, taskB``, all strings. Columns and split sizes verified (card ``dataset_info``).
  That the official rationale is ``taskA_pos`` is inferred from the official text (positive properties
  only, newline-separated, no "not" sentences) [verified by inspection, not against hub rows].
* ``qasc`` -- ``allenai/qasc``, split ``validation`` used as test (926; the hub test split has no labels):
  ``id, question, choices{text[], label[]}, answerKey, fact1, fact2, combinedfact, formatted_question``.
  Verified (card / TFDS feature list).
* ``openbookqa`` -- ``allenai/openbookqa`` config ``main``, split ``test`` (500): ``id, question_stem,
  choices{text[], label[]}, answerKey``. Verified (card ``dataset_info``). ``answerKey`` is stripped before
  the lookup (lm-eval does ``answerKey.lstrip()`` for this set).
* ``arc_easy`` -- ``allenai/ai2_arc`` config ``ARC-Easy``, split ``test`` (2,376): ``id, question,
  choices{text[], label[]}, answerKey``; labels are letters or digits ("1".."4"), 3-5 options. Assumed
  (widely used layout, as in lm-eval's ``arc_easy``); sizes verified in official-code.md.
* ``strategyqa`` (switch, not in the official code) -- ``ChilleD/StrategyQA`` split ``test`` (687 assumed):
  ``qid, term, description, question, answer (bool), facts (list of str)``. This is the parquet-hosted
  1,603/687 split of StrategyQA's 2,290 labelled questions that CoT papers commonly evaluate on; the
  original test set (490) has no labels and ``wics/strategy-qa`` is a loading script (unsupported by
  ``datasets`` >= 4). [unverified: which StrategyQA split the paper used; the 687 size and the ``facts``
  column are assumed.] Record layout (no official file exists; our choice, in the QA layout so the
  official "The answer is" scoring applies): ``problem`` = question + ``"\\nOptions:\\nyes\\nno"``,
  ``answer`` = ``"yes"``/``"no"``, ``solution`` = the facts joined by newlines + ``"\\nThe answer is
  <answer>"``.
* ``gsm8k`` -- ``openai/gsm8k`` config ``main``, split ``test`` (1,319): ``question, answer``. Verified
  (the official file is the hub text unchanged).
* ``math500`` -- ``HuggingFaceH4/MATH-500`` split ``test`` (500): ``problem, solution, answer, subject,
  level (int), unique_id``. Verified (card ``dataset_info`` of exact copies). Passed through unchanged.
* ``math_full`` (switch) -- ``EleutherAI/hendrycks_math``, the 7 subject configs (algebra,
  counting_and_probability, geometry, intermediate_algebra, number_theory, prealgebra, precalculus)
  concatenated in that order, split ``test`` (5,000): ``problem, level ("Level 3"), type ("Counting &
  Probability"), solution``. Verified (card of the HuggingFaceH4/MATH mirror). Converted to the MATH-500
  shape: ``answer`` = the last ``\\boxed{...}`` (or ``\\fbox{...}``) of the solution, brace-matched;
  ``subject`` = ``type``; ``level`` = the int in "Level N" (``None`` for MATH's few "Level ?" items);
  ``unique_id`` = ``"hendrycks_math/test/<config>/<row in config>"`` (the hub rows do not carry MATH's file
  names, so this is *not* MATH-500's ``"test/<subject>/<n>.json"``).
* ``mawps`` -- no hub id. Source: ToRA ``src/data/mawps/test.jsonl`` (= the official file), rows
  ``{input, target, type[, idx]}``, 2,065. Read as plain JSONL (file/line named on errors); an ``idx``
  present must equal the 0-based row number.
* ``tabmwp`` -- no hub id. Source: PromptPG ``data/tabmwp/problems_test.json`` (7,686 problems, a JSON
  object pid -> problem with ``question, choices, answer, unit, table_title, table, table_for_pd, row_num,
  column_num, solution, ques_type, ans_type, grade, split``); the 1,000-problem subset is drawn as above.
  Field names verified (third-party copies of the file); the 7,686 size is assumed.

Files are serialised as the official ones are (:func:`bmc.data.test_sets.dumps_record`: ``json.dumps`` defaults
for QA and MATH-500, pandas ``to_json`` lines for ToRA's GSM8K/MAWPS/TabMWP files). Checked in the tests:
hub-format rows built from the official ECQA, QASC, OpenBookQA, ARC, GSM8K and MAWPS records reproduce each
whole official file byte for byte.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bmc.io import RecordError

NoneType = type(None)


class SizeError(ValueError):
    """A split whose size differs from the one the paper used."""


# --------------------------------------------------------------------------------------------------
# Row access with errors that name the source, the row and the field.


def _field(row: Any, i: int, source: str, name: str, types: type | tuple = str, nonempty: bool = False):
    if not isinstance(row, Mapping):
        raise RecordError(source, i + 1, None, f"expected a record (mapping), got {type(row).__name__}")
    if name not in row:
        raise RecordError(source, i + 1, name, "missing")
    value = row[name]
    types = types if isinstance(types, tuple) else (types,)
    if isinstance(value, bool) and bool not in types:
        raise RecordError(source, i + 1, name, f"expected {_names(types)}, got bool")
    if not isinstance(value, types):
        raise RecordError(source, i + 1, name, f"expected {_names(types)}, got {type(value).__name__}")
    if nonempty and isinstance(value, str) and not value.strip():
        raise RecordError(source, i + 1, name, "empty")
    return value


def _names(types: tuple) -> str:
    return " or ".join("None" if t is NoneType else t.__name__ for t in types)


def _choices(row: Mapping, i: int, source: str) -> tuple[list[str], list[str]]:
    """(labels, texts) of a hub ``choices`` column: ``{"text": [...], "label": [...]}`` as ``datasets`` gives
    it, or a list of ``{"text", "label"}`` dicts."""
    choices = _field(row, i, source, "choices", (dict, list))
    if isinstance(choices, list):
        if not all(isinstance(c, Mapping) and "text" in c and "label" in c for c in choices):
            raise RecordError(source, i + 1, "choices", "expected a list of {text, label} records")
        texts, labels = [c["text"] for c in choices], [c["label"] for c in choices]
    else:
        if "text" not in choices or "label" not in choices:
            raise RecordError(source, i + 1, "choices", "expected keys 'text' and 'label'")
        texts, labels = list(choices["text"]), list(choices["label"])
    if len(texts) != len(labels):
        raise RecordError(source, i + 1, "choices", f"{len(texts)} texts but {len(labels)} labels")
    if len(texts) < 2:
        raise RecordError(source, i + 1, "choices", f"expected at least 2 options, got {len(texts)}")
    for j, (t, lab) in enumerate(zip(texts, labels)):
        if not isinstance(t, str) or not t.strip():
            raise RecordError(source, i + 1, "choices", f"option {j + 1} text is not a non-empty string: {t!r}")
        if not isinstance(lab, str):
            raise RecordError(source, i + 1, "choices", f"option {j + 1} label is not a string: {lab!r}")
    return labels, texts


def _keyed_answer(row: Mapping, i: int, source: str) -> tuple[list[str], str]:
    """The option texts and the text of the option named by ``answerKey``."""
    labels, texts = _choices(row, i, source)
    key = _field(row, i, source, "answerKey", nonempty=True).strip()
    if key not in labels:
        raise RecordError(source, i + 1, "answerKey", f"{key!r} is not one of the labels {labels}")
    return texts, texts[labels.index(key)]


def qa_record(question: str, options: Sequence[str], answer: str, rationale: str | None) -> dict:
    """A record in the official QA layout (see the module docstring)."""
    tail = f"The answer is {answer}"
    return {
        "problem": question + "\nOptions:\n" + "\n".join(o.lower() for o in options),
        "solution": f"{rationale}\n{tail}" if rationale is not None else tail,
        "answer": answer,
    }


# --------------------------------------------------------------------------------------------------
# QA converters.


def convert_ecqa(rows: Iterable[Mapping], source: str = "<rows>") -> list[dict]:
    out = []
    for i, row in enumerate(rows):
        question = _field(row, i, source, "q_text", nonempty=True)
        options = [_field(row, i, source, f"q_op{k}", nonempty=True) for k in range(1, 6)]
        answer = _field(row, i, source, "q_ans", nonempty=True)
        if answer not in options:
            raise RecordError(source, i + 1, "q_ans", f"{answer!r} is not one of the options {options}")
        rationale = _field(row, i, source, "taskA_pos", nonempty=True)
        out.append(qa_record(question, options, answer, rationale))
    return out


def convert_qasc(rows: Iterable[Mapping], source: str = "<rows>") -> list[dict]:
    out = []
    for i, row in enumerate(rows):
        question = _field(row, i, source, "question", nonempty=True)
        options, answer = _keyed_answer(row, i, source)
        facts = [_field(row, i, source, f, nonempty=True) for f in ("fact1", "fact2", "combinedfact")]
        out.append(qa_record(question, options, answer, "\n".join(facts)))
    return out


def convert_openbookqa(rows: Iterable[Mapping], source: str = "<rows>") -> list[dict]:
    out = []
    for i, row in enumerate(rows):
        question = _field(row, i, source, "question_stem", nonempty=True)
        options, answer = _keyed_answer(row, i, source)
        out.append(qa_record(question, options, answer, None))
    return out


def convert_arc(rows: Iterable[Mapping], source: str = "<rows>") -> list[dict]:
    out = []
    for i, row in enumerate(rows):
        question = _field(row, i, source, "question", nonempty=True)
        options, answer = _keyed_answer(row, i, source)
        out.append(qa_record(question, options, answer, None))
    return out


def convert_strategyqa(rows: Iterable[Mapping], source: str = "<rows>") -> list[dict]:
    out = []
    for i, row in enumerate(rows):
        question = _field(row, i, source, "question", nonempty=True)
        answer = "yes" if _field(row, i, source, "answer", bool) else "no"
        facts = row.get("facts") if isinstance(row, Mapping) else None
        if facts is not None and (not isinstance(facts, list) or not all(isinstance(f, str) for f in facts)):
            raise RecordError(source, i + 1, "facts", "expected a list of strings")
        rationale = "\n".join(f for f in facts if f.strip()) if facts else ""
        out.append(qa_record(question, ["yes", "no"], answer, rationale or None))
    return out


# --------------------------------------------------------------------------------------------------
# Math converters.


def convert_gsm8k(rows: Iterable[Mapping], source: str = "<rows>") -> list[dict]:
    out = []
    for i, row in enumerate(rows):
        question = _field(row, i, source, "question", nonempty=True)
        answer = _field(row, i, source, "answer", nonempty=True)
        if "####" not in answer:
            raise RecordError(source, i + 1, "answer", "no '####' final-answer marker")
        out.append({"question": question, "answer": answer, "idx": i})
    return out


MATH_FIELDS = ("problem", "solution", "answer", "subject", "level", "unique_id")


def convert_math500(rows: Iterable[Mapping], source: str = "<rows>") -> list[dict]:
    out = []
    for i, row in enumerate(rows):
        rec = {f: _field(row, i, source, f, nonempty=True) for f in ("problem", "solution", "answer", "subject")}
        rec["level"] = _field(row, i, source, "level", int)
        rec["unique_id"] = _field(row, i, source, "unique_id", nonempty=True)
        out.append({f: rec[f] for f in MATH_FIELDS})
    return out


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` / ``\\fbox{...}`` (braces matched), or of ``\\boxed 5`` up to the
    next ``$``; None if there is none or its braces do not close."""
    start = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if start < 0:
        return None
    j = start + (len("\\boxed") if text.startswith("\\boxed", start) else len("\\fbox"))
    rest = text[j:]
    if rest.startswith("{"):
        depth = 0
        for k, c in enumerate(rest):
            depth += (c == "{") - (c == "}")
            if depth == 0:
                return rest[1:k]
        return None
    if rest[:1].isspace():
        return rest.split("$")[0].strip() or None
    return None


MATH_CONFIGS = ("algebra", "counting_and_probability", "geometry", "intermediate_algebra", "number_theory",
                "prealgebra", "precalculus")


def _subject_config(subject: str) -> str:
    return subject.lower().replace("&", "and").replace(" ", "_")


def convert_hendrycks_math(rows: Iterable[Mapping], source: str = "<rows>") -> list[dict]:
    out, seen = [], {}
    for i, row in enumerate(rows):
        problem = _field(row, i, source, "problem", nonempty=True)
        solution = _field(row, i, source, "solution", nonempty=True)
        subject = _field(row, i, source, "type", nonempty=True)
        config = _subject_config(subject)
        if config not in MATH_CONFIGS:
            raise RecordError(source, i + 1, "type", f"{subject!r} is not one of MATH's 7 subjects")
        level_text = _field(row, i, source, "level", nonempty=True)
        m = re.fullmatch(r"Level (\d|\?)", level_text.strip())
        if not m:
            raise RecordError(source, i + 1, "level", f"expected 'Level N', got {level_text!r}")
        answer = last_boxed(solution)
        if answer is None:
            raise RecordError(source, i + 1, "solution", "no complete \\boxed{...} answer")
        n = seen[config] = seen.get(config, -1) + 1
        out.append({"problem": problem, "solution": solution, "answer": answer, "subject": subject,
                    "level": None if m.group(1) == "?" else int(m.group(1)),
                    "unique_id": f"hendrycks_math/test/{config}/{n}"})
    return out


MAWPS_TYPES = ("singleeq", "singleop", "addsub", "multiarith")


def convert_mawps(rows: Iterable[Mapping], source: str = "<rows>") -> list[dict]:
    out = []
    for i, row in enumerate(rows):
        text = _field(row, i, source, "input", nonempty=True)
        target = _field(row, i, source, "target", (int, float))
        kind = _field(row, i, source, "type", nonempty=True)
        if kind not in MAWPS_TYPES:
            raise RecordError(source, i + 1, "type", f"{kind!r} is not one of {list(MAWPS_TYPES)}")
        if "idx" in row and row["idx"] != i:
            raise RecordError(source, i + 1, "idx", f"expected {i} (the 0-based row number), got {row['idx']!r}")
        out.append({"input": text, "target": float(target), "type": kind, "idx": i})
    return out


TABMWP_SEED = 0
TABMWP_SAMPLE = 1000
TABMWP_ANS_TYPES = ("integer_number", "decimal_number", "extractive_text", "boolean_text", "other_text")


def tabmwp_subset(n: int, k: int = TABMWP_SAMPLE, seed: int = TABMWP_SEED) -> list[int]:
    """Row numbers (0-based, in sampled order) of the official loader's subset: ``set_seed(seed)`` then
    ``random.sample(range(n), k)``."""
    return random.Random(seed).sample(range(n), k)


def _check_tabmwp(row: Any, i: int, source: str) -> None:
    for f in ("question", "table", "answer"):
        _field(row, i, source, f, nonempty=True)
    _field(row, i, source, "solution")
    for f in ("table_title", "unit"):
        _field(row, i, source, f, (str, NoneType))
    choices = _field(row, i, source, "choices", (list, NoneType))
    if choices is not None and not all(isinstance(c, str) for c in choices):
        raise RecordError(source, i + 1, "choices", "expected a list of strings or null")
    if _field(row, i, source, "ques_type") not in ("free_text", "multi_choice"):
        raise RecordError(source, i + 1, "ques_type", f"unknown question type {row['ques_type']!r}")
    if _field(row, i, source, "ans_type") not in TABMWP_ANS_TYPES:
        raise RecordError(source, i + 1, "ans_type", f"unknown answer type {row['ans_type']!r}")
    if "idx" in row:
        raise RecordError(source, i + 1, "idx", "a PromptPG problem has no idx: is this an already "
                                                "sampled test.jsonl? Feed problems_test.json")


def convert_tabmwp(rows: Sequence[Mapping], source: str = "<rows>", sample_size: int = TABMWP_SAMPLE,
                   seed: int = TABMWP_SEED) -> list[dict]:
    """The official 1,000-problem subset (see the module docstring); every row is validated, sampled or not."""
    rows = list(rows)
    for i, row in enumerate(rows):
        _check_tabmwp(row, i, source)
    if sample_size > len(rows):
        raise SizeError(f"{source}: cannot sample {sample_size} problems from {len(rows)}")
    return [{**rows[j], "idx": k} for k, j in enumerate(tabmwp_subset(len(rows), sample_size, seed))]
