"""Token difference masks of DPO-BMC: which tokens of a chosen/rejected pair are "different".

As the official trainer (``scripts/dpo_bmc_trainer.py``, ``find_modifications``) does it: ``difflib``
opcodes over token ids, with the rejected sequence as ``a`` and the chosen sequence as ``b``;
``replace``/``delete`` mark tokens of the rejected response, ``replace``/``insert`` mark tokens of the
chosen response; stopword tokens are never marked. Here the masks are computed once per pair when the
dataset is prepared, on prompt + completion without padding (the official code recomputes them on the
padded batch at every forward pass); prompt tokens are never marked.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

STOPWORD_RULES = ("official", "robust")


def stopword_token_ids(tokenizer, words: Iterable[str], rule: str = "official") -> frozenset[int]:
    """Token ids that are never marked.

    ``official``: each word and its capitalised form, kept only if it encodes to exactly one token (the
    official rule). With byte-level tokenizers that attach the leading space to a word (Llama-3, GPT-2
    style) this misses most mid-sentence stopwords. ``robust`` also adds the space-prefixed forms.
    """
    if rule not in STOPWORD_RULES:
        raise ValueError(f"unknown stopword rule {rule!r}; expected one of {STOPWORD_RULES}")
    forms: set[str] = set()
    for w in words:
        w = w.strip()
        if not w:
            continue
        forms.update({w, w.capitalize()})
        if rule == "robust":
            forms.update({" " + w, " " + w.capitalize()})
    ids: set[int] = set()
    for form in sorted(forms):
        enc = tokenizer(form, add_special_tokens=False)["input_ids"]
        if len(enc) == 1:
            ids.add(enc[0])
    return frozenset(ids)


def diff_masks(prompt_ids: Sequence[int], chosen_ids: Sequence[int], rejected_ids: Sequence[int],
               stopword_ids: frozenset[int] | set[int] = frozenset(),
               autojunk: bool = True) -> tuple[list[int], list[int]]:
    """0/1 masks over ``chosen_ids`` and ``rejected_ids`` (completion tokens only) marking the tokens
    that differ between the two responses, by the official opcode rule."""
    p = len(prompt_ids)
    a = list(prompt_ids) + list(rejected_ids)
    b = list(prompt_ids) + list(chosen_ids)
    mark_a = [0] * len(a)
    mark_b = [0] * len(b)
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=autojunk).get_opcodes():
        if tag in ("replace", "delete"):
            for i in range(i1, i2):
                mark_a[i] = 1
        if tag in ("replace", "insert"):
            for j in range(j1, j2):
                mark_b[j] = 1
    chosen_mask = [m if t not in stopword_ids else 0 for m, t in zip(mark_b[p:], chosen_ids)]
    rejected_mask = [m if t not in stopword_ids else 0 for m, t in zip(mark_a[p:], rejected_ids)]
    return chosen_mask, rejected_mask


def add_diff_masks(example: dict, stopword_ids: list[int], **_cache_keys) -> dict:
    """``datasets.map`` function over TRL-tokenized examples (``prompt_ids``, ``chosen_ids``,
    ``rejected_ids``). Extra keyword arguments only enter the map's fingerprint (cache key)."""
    chosen, rejected = diff_masks(example["prompt_ids"], example["chosen_ids"], example["rejected_ids"],
                                  frozenset(stopword_ids))
    return {"chosen_bmc_mask": chosen, "rejected_bmc_mask": rejected}
