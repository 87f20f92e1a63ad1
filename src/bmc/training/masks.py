"""Token difference masks of DPO-BMC (the paper's Modeling phase, §3.2; official ``scripts/dpo_bmc_trainer.py``,
``find_modifications``): which tokens of a chosen/rejected pair are "different".

As the official trainer (``scripts/dpo_bmc_trainer.py``, ``find_modifications``) does it: ``difflib``
opcodes over token ids, with the rejected sequence as ``a`` and the chosen sequence as ``b``;
``replace``/``delete`` mark tokens of the rejected response, ``replace``/``insert`` mark tokens of the
chosen response; stopword tokens are never marked. The official code computes them on the padded
concatenated rows of each batch (prompt, response and padding: :func:`batch_masks`), so a pair's marks depend
on the batch it is in: ``difflib``'s ``autojunk`` heuristic treats tokens that recur in a row of 200 tokens or
more (padding included) as unable to anchor a match. :func:`diff_masks` computes them once per pair on the
unpadded prompt + completion instead (the ``per_pair`` scope, a cheaper approximation).

``algorithm="levenshtein"`` aligns the two sequences by a minimum edit script instead (the paper's text
says "Levenshtein distance"): substitutions mark both sides, deletions the rejected side, insertions the
chosen side.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

import torch
from rapidfuzz.distance import Levenshtein

from bmc.settings import MASK_ALGORITHMS, MASK_SCOPES, STOPWORD_RULES


def stopword_token_ids(tokenizer, words: Iterable[str], rule: str = "official") -> frozenset[int]:
    """Token ids that are never marked.

    ``official``: the official trainer's rule (``dpo_bmc_trainer.py`` lines 80 and 1392): the words, plus the
    capitalised form of each word longer than one letter (so ``I`` and ``A`` are *not* stopwords while ``i`` and
    ``a`` are), each kept if ``tokenizer.tokenize(word)`` gives exactly one token, whose id is
    ``convert_tokens_to_ids``. With SentencePiece tokenizers (Llama-2, Mistral) ``tokenize`` adds the word-start
    ``▁``, so the ids are those of mid-sentence words; with byte-level BPE (Llama-3, GPT-2 style) they are the
    ids of the bare word, which mid-sentence words (``Ġthe``) never use. ``robust`` also adds the space-prefixed
    forms (encoded), which byte-level tokenizers need.
    """
    if rule not in STOPWORD_RULES:
        raise ValueError(f"unknown stopword rule {rule!r}; expected one of {STOPWORD_RULES}")
    base = {w for w in words if w.strip()}
    forms = base | {w.capitalize() for w in base if len(w) > 1}
    ids: set[int] = set()
    for form in sorted(forms):
        tokens = tokenizer.tokenize(form)
        if len(tokens) == 1:
            ids.add(tokenizer.convert_tokens_to_ids(tokens)[0])
    if rule == "robust":
        for form in sorted(forms):
            enc = tokenizer(" " + form, add_special_tokens=False)["input_ids"]
            if len(enc) == 1:
                ids.add(enc[0])
    return frozenset(ids)


def mark_differences(a: Sequence[int], b: Sequence[int], algorithm: str = "difflib") -> tuple[list[int], list[int]]:
    """0/1 marks over ``a`` (rejected) and ``b`` (chosen): replaced/deleted tokens of ``a``, replaced/inserted
    tokens of ``b``."""
    mark_a, mark_b = [0] * len(a), [0] * len(b)
    if algorithm == "difflib":
        # autojunk=True (the default), as the official code
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b).get_opcodes():
            if tag in ("replace", "delete"):
                mark_a[i1:i2] = [1] * (i2 - i1)
            if tag in ("replace", "insert"):
                mark_b[j1:j2] = [1] * (j2 - j1)
    elif algorithm == "levenshtein":
        for op in Levenshtein.editops(list(a), list(b)):
            if op.tag in ("replace", "delete"):
                mark_a[op.src_pos] = 1
            if op.tag in ("replace", "insert"):
                mark_b[op.dest_pos] = 1
    else:
        raise ValueError(f"unknown mask algorithm {algorithm!r}; expected one of {MASK_ALGORITHMS}")
    return mark_a, mark_b


def diff_masks(prompt_ids: Sequence[int], chosen_ids: Sequence[int], rejected_ids: Sequence[int],
               stopword_ids: frozenset[int] | set[int] = frozenset(),
               algorithm: str = "difflib") -> tuple[list[int], list[int]]:
    """0/1 masks over ``chosen_ids`` and ``rejected_ids`` (completion tokens only) marking the tokens
    that differ between the two responses."""
    p = len(prompt_ids)
    mark_a, mark_b = mark_differences(list(prompt_ids) + list(rejected_ids), list(prompt_ids) + list(chosen_ids),
                                      algorithm)
    chosen_mask = [m if t not in stopword_ids else 0 for m, t in zip(mark_b[p:], chosen_ids)]
    rejected_mask = [m if t not in stopword_ids else 0 for m, t in zip(mark_a[p:], rejected_ids)]
    return chosen_mask, rejected_mask


def add_diff_masks(example: dict, stopword_ids: list[int], algorithm: str = "difflib", **_cache_keys) -> dict:
    """``datasets.map`` function over TRL-tokenized examples (``prompt_ids``, ``chosen_ids``,
    ``rejected_ids``). Extra keyword arguments only enter the map's fingerprint (cache key)."""
    chosen, rejected = diff_masks(example["prompt_ids"], example["chosen_ids"], example["rejected_ids"],
                                  frozenset(stopword_ids), algorithm)
    return {"chosen_bmc_mask": chosen, "rejected_bmc_mask": rejected}


def batch_masks(input_ids: torch.Tensor, completion_mask: torch.Tensor, stopword_ids,
                algorithm: str = "difflib") -> torch.Tensor:
    """The official computation on a padded batch (chosen rows first, then rejected rows): marks over the
    full padded rows (prompt, response and padding), stopwords unmarked, times the completion mask."""
    ids = input_ids.tolist()
    n = len(ids) // 2
    marks: list[list[int]] = [[] for _ in ids]
    for k in range(n):
        marks[n + k], marks[k] = mark_differences(ids[n + k], ids[k], algorithm)
    mask = torch.tensor(marks, dtype=torch.float32)
    if stopword_ids:
        mask[torch.isin(input_ids.cpu(), torch.tensor(sorted(stopword_ids)))] = 0
    return mask.to(completion_mask.device) * completion_mask
