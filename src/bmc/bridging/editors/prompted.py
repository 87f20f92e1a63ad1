"""What the LLM editors of the paper's Bridging phase share (§3.1; the prompts of Figures 7 and 8): the prompt
template, output parsing, and the response cache.

A backend only turns prompts into completions (``complete``), reporting each one as soon as it is done;
:class:`PromptEditor` renders the template, skips requests whose response is cached, writes every new
response to the cache the moment it arrives, and parses the outputs.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from bmc.bridging.editors import BridgeRequest, BridgeResult, Usage, edits_losing
from bmc.cache import ResponseCache, cache_key
from bmc.settings import EditorDecoding

PLACEHOLDERS = ("{x}", "{y_w}", "{y_l}")


@dataclass
class Completion:
    text: str
    usage: Usage


class Backend(Protocol):
    kind: str
    model: str

    def complete(self, prompts: list[str], decoding: EditorDecoding,
                 on_done: Callable[[int, Completion], None]) -> None:
        """Complete every prompt; call ``on_done(index, completion)`` as each one finishes."""


class PromptTemplate:
    def __init__(self, text: str, source: str = "<string>"):
        self.text = text
        self.source = source
        self.sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
        lines = [line for line in text.strip().split("\n") if line.strip()]
        self.answer_header = lines[-1].strip() if lines else ""

    @classmethod
    def from_file(cls, path: str | Path) -> PromptTemplate:
        return cls(Path(path).read_text(encoding="utf-8"), str(path))

    def check(self, direction: str) -> None:
        needed = {"{x}", "{y_l}" if edits_losing(direction) else "{y_w}"}
        if direction.endswith("_with_reference"):
            needed.add("{y_w}" if edits_losing(direction) else "{y_l}")
        missing = sorted(p for p in needed if p not in self.text)
        if missing:
            raise ValueError(f"prompt template {self.source}: direction {direction} needs {missing}")

    def render(self, x: str, y_w: str, y_l: str) -> str:
        return self.text.replace("{x}", x).replace("{y_w}", y_w).replace("{y_l}", y_l)


_NONE = re.compile(r"^[\s'\"`*]*none[\s'\"`*.!]*$", re.IGNORECASE)


def parse_output(raw: str, template: PromptTemplate, allow_none: bool) -> str | None:
    """The edited response from the editor's raw output: surrounding whitespace removed, an echoed answer
    header (e.g. "**Corrected Prediction:**") dropped; ``None`` for a 'None' answer where the prompt
    allows one."""
    text = raw.strip()
    header = template.answer_header
    if header and text.startswith(header):
        text = text[len(header):].strip()
    if allow_none and _NONE.match(text):
        return None
    return text


class PromptEditor:
    """An LLM editor: a backend, a prompt template, decoding parameters and a response cache."""

    def __init__(self, backend: Backend, template: PromptTemplate, decoding: EditorDecoding,
                 cache: ResponseCache | None = None):
        self.backend = backend
        self.kind = backend.kind
        self.model = backend.model
        self.template = template
        self.decoding = decoding
        self.cache = cache
        self.requests_made = 0

    def key(self, req: BridgeRequest) -> str:
        return cache_key(self.kind, self.model, self.template.text, asdict(self.decoding), req.x, req.y_w, req.y_l)

    def edit(self, requests: list[BridgeRequest]) -> list[BridgeResult]:
        for direction in {r.direction for r in requests}:
            self.template.check(direction)
        keys = [self.key(r) for r in requests]
        answers: dict[str, dict] = {}
        if self.cache is not None:
            answers.update({k: self.cache.get(k) for k in set(keys) if k in self.cache})
        cached = set(answers)
        todo_keys = list(dict.fromkeys(k for k in keys if k not in answers))  # unique, in order
        first = {k: i for i, k in reversed(list(enumerate(keys)))}
        prompts = [self.template.render(requests[first[k]].x, requests[first[k]].y_w, requests[first[k]].y_l)
                   for k in todo_keys]

        def on_done(i: int, completion: Completion) -> None:
            value = {"text": completion.text, "usage": completion.usage.to_dict()}
            answers[todo_keys[i]] = value
            if self.cache is not None:
                self.cache.put(todo_keys[i], value)

        if prompts:
            self.backend.complete(prompts, self.decoding, on_done)
            self.requests_made += len(prompts)
        results = []
        for req, k in zip(requests, keys):
            value = answers[k]
            usage = Usage(**value["usage"])
            text = parse_output(value["text"], self.template, allow_none=edits_losing(req.direction))
            results.append(BridgeResult(text, raw=value["text"], usage=usage, cached=k in cached))
        return results
