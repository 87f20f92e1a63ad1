"""Editors of the paper's Bridging phase (§3.1; Figures 7 and 8 give the prompts, Table 3 the directions and
editors), behind one interface.

An editor receives :class:`BridgeRequest` objects (x, y_w, y_l, the gold answer where the task has one,
and the synthesis direction) and returns one :class:`BridgeResult` each: the edited response, or ``None``
when it judges the response already good. Kinds:

* ``rule``: deterministic minimal correction for tasks with verifiable answers (:mod:`.rule`);
* ``openai``: any OpenAI-compatible chat endpoint, OpenAI itself or a vLLM/SGLang server (:mod:`.openai_http`);
* ``vllm``: offline vLLM on GPUs, one batched call (:mod:`.vllm_backend`);
* ``transformers``: batched ``generate`` on CPU or GPU (:mod:`.hf_backend`).

The three LLM kinds share prompting, output parsing and the response cache (:mod:`.prompted`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from bmc.settings import DIRECTIONS  # noqa: F401  (re-exported: the bridging directions)


def edits_losing(direction: str) -> bool:
    """True when the editor rewrites y_l (into a pseudo-winning response), False when it rewrites y_w."""
    if direction not in DIRECTIONS:
        raise ValueError(f"unknown bridging direction {direction!r}; expected one of {DIRECTIONS}")
    return direction.startswith("edit_losing")


@dataclass(frozen=True)
class BridgeRequest:
    x: str
    y_w: str
    y_l: str
    answer: str | None = None  # gold answer, for tasks that have one
    direction: str = "edit_losing_with_reference"


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None  # as reported by the endpoint, when it reports one

    def to_dict(self) -> dict:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens, "cost": self.cost}


@dataclass
class BridgeResult:
    text: str | None            # the edited response; None = "already good" (the pair is dropped)
    raw: str | None = None      # the editor's raw output, kept for auditing
    usage: Usage = field(default_factory=Usage)
    cached: bool = False        # answered from the cache, no request made
    notes: dict = field(default_factory=dict)


class Editor(Protocol):
    kind: str
    model: str

    def edit(self, requests: list[BridgeRequest]) -> list[BridgeResult]: ...


class EditorError(RuntimeError):
    """An editor failed in a way retrying cannot fix (bad key, unknown model, request rejected, gave up)."""
