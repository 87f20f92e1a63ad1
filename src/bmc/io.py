"""File input/output: atomic writes and validated record reading (workflow infrastructure; the record formats
are the official code's, see the stage modules).

Every output of the workflow is written to a temporary sibling and renamed into place, so a job that
dies leaves no half-written file. Records read from JSONL are checked field by field; a bad record fails
with the file, the 1-based line number and the field named.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any


class RecordError(ValueError):
    """A malformed input record; the message names the file, the row and the field."""

    def __init__(self, path: str | Path, row: int, field: str | None, problem: str):
        where = f"{path}, row {row}" + (f", field {field!r}" if field else "")
        super().__init__(f"{where}: {problem}")
        self.path, self.row, self.field = str(path), row, field


def _default_mode(base: int) -> int:
    """``base`` less the process umask: the mode ``open``/``mkdir`` would give (mkstemp/mkdtemp give 0600/0700,
    which would hide a study's results from the colleagues sharing its folder)."""
    umask = os.umask(0)
    os.umask(umask)
    return base & ~umask


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds. The file gets
    the mode a plain ``open`` would give it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, _default_mode(0o666))
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temporary directory beside ``path``; it replaces ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    tmp.chmod(_default_mode(0o777))
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


@contextlib.contextmanager
def model_dir(path: str | Path) -> Iterator[tuple[Path, Path]]:
    """An atomic model folder: yields (folder, scratch folder for a Trainer's ``output_dir``); the scratch
    folder is removed before the folder is moved into place."""
    with atomic_dir(path) as tmp:
        scratch = tmp / "trainer"
        yield tmp, scratch
        shutil.rmtree(scratch, ignore_errors=True)


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


def write_jsonl(path: str | Path, rows: Iterable[dict]) -> int:
    n = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def read_json(path: str | Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def iter_json_lines(path: str | Path):
    """``(line number, value)`` for each line of a JSONL file; a blank or malformed line raises
    :class:`RecordError` naming file and line."""
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                raise RecordError(path, lineno, None, "empty line")
            try:
                yield lineno, json.loads(line)
            except json.JSONDecodeError as e:
                raise RecordError(path, lineno, None, f"not valid JSON ({e.msg})") from None


def read_jsonl(path: str | Path, required: dict[str, type] | None = None,
               nonempty: Iterable[str] = ()) -> list[dict]:
    """Read a JSONL file. ``required`` maps field names to types that every row must have; fields in
    ``nonempty`` must also be non-blank strings. Raises :class:`RecordError` on the first bad row."""
    required = required or {}
    nonempty = set(nonempty)
    rows = []
    for lineno, row in iter_json_lines(path):
        if not isinstance(row, dict):
            raise RecordError(path, lineno, None, f"expected a JSON object, got {type(row).__name__}")
        for field, typ in required.items():
            if field not in row:
                raise RecordError(path, lineno, field, "missing")
            if not isinstance(row[field], typ):
                raise RecordError(path, lineno, field,
                                  f"expected {typ.__name__}, got {type(row[field]).__name__}")
            if field in nonempty and not row[field].strip():
                raise RecordError(path, lineno, field, "empty")
        rows.append(row)
    return rows


PROBLEM_FIELDS = {"problem": str, "solution": str, "answer": str}
PAIR_FIELDS = {"problem": str, "y_w": str, "y_l": str, "answer": str}
