"""The Bridging phase: an editor turns the losing response ``y_l`` into a pseudo-winning ``ỹ_w``.

The paper asks an LLM (``gpt-4-0125-preview``) to make the minimal changes to ``y_l`` that correct it,
using ``y_w`` as reference, or to answer ``None`` when ``y_l`` is already good (those pairs are dropped,
and every method of the setup trains on the surviving pairs). Every editor implements :class:`Editor`;
:func:`bridge` runs one over a pair file and writes the statistics the paper reports.

:class:`RuleEditor` is a deterministic, zero-cost editor for tasks with verifiable answers: it keeps the
wording of ``y_l`` and repairs its *slots* (numbers, and option texts of multiple-choice questions) from
``y_w`` when the two responses mention the same number of slots, and always repairs the final answer.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from rapidfuzz.distance import Levenshtein

from bmc.scoring import QA_MARKER


@dataclass(frozen=True)
class BridgeRequest:
    problem: str  # x
    y_w: str      # winning response (reference)
    y_l: str      # losing response, to be edited
    answer: str   # gold answer, for editors of verifiable tasks


@dataclass
class BridgeResult:
    text: str | None  # ỹ_w, or None when the editor judges y_l already good
    notes: dict = field(default_factory=dict)


class Editor(Protocol):
    name: str

    def edit(self, requests: list[BridgeRequest]) -> list[BridgeResult]: ...


_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])")


def _options(problem: str) -> list[str]:
    if "\nOptions:\n" not in problem:
        return []
    return [o for o in problem.split("\nOptions:\n", 1)[1].split("\n") if o.strip()]


def _slot_pattern(options: list[str]) -> re.Pattern:
    words = sorted({o for o in options if not _NUMBER.fullmatch(o)}, key=len, reverse=True)
    alts = [r"(?<![\w])" + re.escape(w) + r"(?![\w])" for w in words] + [_NUMBER.pattern]
    return re.compile("|".join(alts))


def _split_final(text: str) -> tuple[str, str | None]:
    """(body, final answer) around the last answer marker; final is None if there is no marker."""
    i = text.rfind(QA_MARKER)
    if i == -1:
        return text, None
    return text[:i], text[i + len(QA_MARKER):]


class RuleEditor:
    """Deterministic minimal correction for tasks with verifiable answers (the tiny study's editor)."""

    name = "rule"

    def edit(self, requests: list[BridgeRequest]) -> list[BridgeResult]:
        return [self._edit_one(r) for r in requests]

    def _edit_one(self, req: BridgeRequest) -> BridgeResult:
        pattern = _slot_pattern(_options(req.problem))
        body_l, final_l = _split_final(req.y_l)
        body_w, _ = _split_final(req.y_w)
        slots_l = list(pattern.finditer(body_l))
        slots_w = [m.group(0) for m in pattern.finditer(body_w)]
        notes = {"slots_l": len(slots_l), "slots_w": len(slots_w), "slots_repaired": 0}
        if slots_l and len(slots_l) == len(slots_w):
            pieces, last = [], 0
            for m, right in zip(slots_l, slots_w):
                pieces.append(body_l[last:m.start()])
                pieces.append(right)
                notes["slots_repaired"] += m.group(0) != right
                last = m.end()
            body = "".join(pieces) + body_l[last:]
            notes["reasoning"] = "repaired"
        else:
            body = body_l
            notes["reasoning"] = "unaligned" if slots_l or slots_w else "no_slots"
        if final_l is None:
            sep = "" if body.endswith("\n") or not body else "\n"
            text = f"{body}{sep}{QA_MARKER} {req.answer}"
        else:
            text = f"{body}{QA_MARKER} {req.answer}"
        if text == req.y_l:
            return BridgeResult(None, notes | {"none_reason": "already_correct"})
        return BridgeResult(text, notes)


def make_editor(name: str, **options) -> Editor:
    """The editor named in the config (LLM editors arrive with the bridging issue)."""
    if name == "rule":
        return RuleEditor()
    raise ValueError(f"unknown editor {name!r}; available: rule")


def token_edit_distance(tokenizer, a: str, b: str) -> int:
    ids_a = tokenizer(a, add_special_tokens=False)["input_ids"]
    ids_b = tokenizer(b, add_special_tokens=False)["input_ids"]
    return Levenshtein.distance(ids_a, ids_b)


def bridge(pairs: list[dict], editor: Editor, tokenizer) -> tuple[list[dict], dict]:
    """Run ``editor`` over ``pairs`` (fields problem, y_w, y_l, answer); return the surviving pairs with
    ``pseudo_winning`` added, and the statistics (pairs modified, drops by reason, edit distances)."""
    requests = [BridgeRequest(p["problem"], p["y_w"], p["y_l"], p["answer"]) for p in pairs]
    results = editor.edit(requests)
    if len(results) != len(requests):
        raise RuntimeError(f"editor {editor.name!r} returned {len(results)} results for {len(requests)} pairs")
    out, dropped, reasoning = [], Counter(), Counter()
    dist_orig, dist_bridged = [], []
    for pair, res in zip(pairs, results):
        reasoning[res.notes.get("reasoning", "n/a")] += 1
        if res.text is None:
            dropped["editor_none"] += 1
            continue
        d0 = token_edit_distance(tokenizer, pair["y_w"], pair["y_l"])
        d1 = token_edit_distance(tokenizer, res.text, pair["y_l"])
        dist_orig.append(d0)
        dist_bridged.append(d1)
        out.append(pair | {"pseudo_winning": res.text, "editor": editor.name,
                           "edit_distance_original": d0, "edit_distance_bridged": d1})
    n = max(len(out), 1)
    stats = {
        "editor": editor.name,
        "pairs_in": len(pairs),
        "pairs_out": len(out),
        "pairs_modified": sum(p["pseudo_winning"] != p["y_l"] for p in out),
        "pseudo_winning_equals_y_w": sum(p["pseudo_winning"] == p["y_w"] for p in out),
        "dropped": dict(dropped),
        "reasoning": dict(reasoning),
        "mean_token_edit_distance_y_w_y_l": round(sum(dist_orig) / n, 3),
        "mean_token_edit_distance_pseudo_winning_y_l": round(sum(dist_bridged) / n, 3),
    }
    return out, stats
