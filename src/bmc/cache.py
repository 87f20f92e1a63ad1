"""A crash-safe, append-only cache of requests and responses (editor calls of the Bridging phase, resumable
generation); workflow infrastructure with no counterpart in the paper or the official code.

One JSON line per finished request, written (and flushed) the moment its response arrives, so a run
killed at any moment loses no finished response, and a rerun repeats no finished request. Each line
carries a checksum of its content; a line cut off by a crash (no newline, invalid JSON, wrong checksum) is
ignored and counted, and never corrupts the entries before it. Appends from parallel jobs sharing a cache
file are serialised with a file lock.

The key is a hash of everything that determines a response: the editor, the model, the prompt template,
the decoding parameters and the pair (x, y_w, y_l). Nothing secret (API keys, endpoints) enters a key or
a line.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

from filelock import FileLock


def _canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def cache_key(editor: str, model: str, template: str, decoding: dict, x: str, y_w: str, y_l: str) -> str:
    payload = {"editor": editor, "model": model, "template": template, "decoding": decoding,
               "x": x, "y_w": y_w, "y_l": y_l}
    return hashlib.sha256(_canonical(payload).encode("utf-8")).hexdigest()


def _checksum(key: str, value: dict) -> str:
    return hashlib.sha256(_canonical([key, value]).encode("utf-8")).hexdigest()[:16]


class ResponseCache:
    """``get``/``put`` by key; entries persist in ``path`` (JSONL)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(self.path) + ".lock")
        self._thread_lock = threading.Lock()
        self.entries: dict[str, dict] = {}
        self.skipped_lines = 0
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        with open(self.path, "rb") as f:
            data = f.read()
        lines = data.split(b"\n")
        # the last element is b"" when the file ends with a newline; otherwise it is a cut-off line
        complete, tail = lines[:-1], lines[-1]
        if tail:
            self.skipped_lines += 1
        for raw in complete:
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
                key, value, check = line["key"], line["value"], line["check"]
            except (ValueError, KeyError, TypeError):
                self.skipped_lines += 1
                continue
            if _checksum(key, value) != check:
                self.skipped_lines += 1
                continue
            self.entries[key] = value

    def __contains__(self, key: str) -> bool:
        return key in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, key: str) -> dict | None:
        return self.entries.get(key)

    def put(self, key: str, value: dict) -> None:
        line = (_canonical({"key": key, "value": value, "check": _checksum(key, value)}) + "\n").encode("utf-8")
        with self._thread_lock, self._lock:
            with open(self.path, "ab") as f:
                # a crash may have left a line without its newline: end it, so this entry stays intact
                if f.tell() > 0:
                    with open(self.path, "rb") as r:
                        r.seek(-1, os.SEEK_END)
                        if r.read(1) != b"\n":
                            f.write(b"\n")
                f.write(line)
                f.flush()
            self.entries[key] = value
