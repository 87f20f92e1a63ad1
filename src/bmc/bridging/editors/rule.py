"""A deterministic, zero-cost editor for tasks with verifiable answers (a stand-in for the paper's LLM editor of
§3.1, for offline studies; not in the official code).

Responses of such tasks carry *slots* (numbers, the + and - of an equation, the option texts of a
multiple-choice question, and y_l's own final answer, which may be no option) and a final "The answer is X". The rule editor keeps the wording of the response it
edits and changes slots only:

* ``edit_losing_with_reference``: y_l's slots are replaced by y_w's when both mention the same number of
  slots, and the final answer becomes the gold answer. When they do not (y_l skipped or added a step), no
  slot-for-slot repair exists and the editor returns y_w itself (a correct response; the pair is then the
  original one), never a chain whose steps contradict its answer.
* ``edit_losing_without_reference``: without y_w there is no reasoning to copy: only the final answer is
  repaired, from the gold answer.
* ``degrade_winning_with_reference``: y_l's mistakes are copied into y_w: y_w's slots are replaced by y_l's
  when aligned, and the final answer becomes y_l's.
* ``degrade_winning_without_reference``: y_w's final answer is replaced by a wrong one (the next option of
  the question, or the number plus one).

An edit that changes nothing returns ``None`` ("already good"), as the paper's editor may answer.
"""

from __future__ import annotations

import re

from bmc.bridging.editors import BridgeRequest, BridgeResult
from bmc.evaluation.scoring import QA_MARKER

_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])")
_OPERATOR = r"(?<=\d )[+\-](?= -?\d)"  # the + or - of "a + b": a slot, so a repaired step is a true equation


def options(problem: str) -> list[str]:
    if "\nOptions:\n" not in problem:
        return []
    return [o for o in problem.split("\nOptions:\n", 1)[1].split("\n") if o.strip()]


def _slot_pattern(opts: list[str]) -> re.Pattern:
    words = sorted({o for o in opts if not _NUMBER.fullmatch(o)}, key=len, reverse=True)
    alts = [r"(?<![\w])" + re.escape(w) + r"(?![\w])" for w in words] + [_OPERATOR, _NUMBER.pattern]
    return re.compile("|".join(alts))


def _split_final(text: str) -> tuple[str, str | None]:
    """(body, final answer) around the last answer marker; final is None if there is no marker."""
    i = text.rfind(QA_MARKER)
    if i == -1:
        return text, None
    return text[:i], text[i + len(QA_MARKER):].strip()


def _with_final(body: str, answer: str) -> str:
    sep = "" if not body or body.endswith("\n") else "\n"
    return f"{body}{sep}{QA_MARKER} {answer}"


def _copy_slots(target: str, reference: str, pattern: re.Pattern) -> tuple[str, dict]:
    slots_t = list(pattern.finditer(target))
    slots_r = [m.group(0) for m in pattern.finditer(reference)]
    notes = {"slots_target": len(slots_t), "slots_reference": len(slots_r), "slots_changed": 0}
    if not slots_t or len(slots_t) != len(slots_r):
        notes["reasoning"] = "unaligned" if slots_t or slots_r else "no_slots"
        return target, notes
    pieces, last = [], 0
    for m, new in zip(slots_t, slots_r):
        pieces += [target[last:m.start()], new]
        notes["slots_changed"] += m.group(0) != new
        last = m.end()
    notes["reasoning"] = "repaired"
    return "".join(pieces) + target[last:], notes


def _wrong_answer(answer: str, opts: list[str]) -> str:
    if opts and answer in opts:
        return opts[(opts.index(answer) + 1) % len(opts)]
    try:
        value = float(answer)
        return str(int(value) + 1) if value.is_integer() else str(value + 1)
    except ValueError:
        return f"not {answer}"


class RuleEditor:
    kind = "rule"
    model = "rule"

    def edit(self, requests: list[BridgeRequest]) -> list[BridgeResult]:
        return [self._edit_one(r) for r in requests]

    def _edit_one(self, req: BridgeRequest) -> BridgeResult:
        opts = options(req.x)
        losing_answer = _split_final(req.y_l)[1]  # y_l's answer, even one that is no option ("drill" for a tool)
        pattern = _slot_pattern(opts + ([losing_answer] if losing_answer else []))
        notes: dict = {}
        if req.direction == "edit_losing_with_reference":
            body_l, _ = _split_final(req.y_l)
            body, notes = _copy_slots(body_l, _split_final(req.y_w)[0], pattern)
            text, source = _with_final(body, self._gold(req)), req.y_l
            if notes["reasoning"] == "unaligned":  # no slot-for-slot repair: the reference itself
                text, notes["reasoning"] = req.y_w, "unaligned: y_w returned"
        elif req.direction == "edit_losing_without_reference":
            text, source = _with_final(_split_final(req.y_l)[0], self._gold(req)), req.y_l
        elif req.direction == "degrade_winning_with_reference":
            body_w, _ = _split_final(req.y_w)
            body, notes = _copy_slots(body_w, _split_final(req.y_l)[0], pattern)
            wrong = _split_final(req.y_l)[1] or _wrong_answer(self._gold(req), opts)
            text, source = _with_final(body, wrong), req.y_w
        elif req.direction == "degrade_winning_without_reference":
            text = _with_final(_split_final(req.y_w)[0], _wrong_answer(self._gold(req), opts))
            source = req.y_w
        else:
            raise ValueError(f"unknown bridging direction {req.direction!r}")
        if text == source:
            return BridgeResult(None, raw=None, notes=notes | {"none_reason": "unchanged"})
        return BridgeResult(text, raw=text, notes=notes)

    @staticmethod
    def _gold(req: BridgeRequest) -> str:
        if req.answer is None:
            raise ValueError("the rule editor needs the gold answer (tasks with verifiable answers only)")
        return req.answer
