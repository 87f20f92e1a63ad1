"""The paper's Bridging phase (§3.1) over a pair file: which pairs to edit, the editor call, the sanity filters,
the stats.

Paper §3.1: an editor rewrites the losing response y_l with minimal changes, using y_w as reference, giving
the pseudo-winning ỹ_w; pairs the editor answers 'None' for (y_l already good) are dropped, and every method
of the setup trains on the surviving pairs. The ablations the paper and its reviewers ask for are settings:

* ``direction`` (Table 3): edit y_l with or without y_w as reference, training on (ỹ_w, y_l); or degrade y_w
  into a pseudo-losing ỹ_l with or without y_l as reference, training on (y_w, ỹ_l);
* ``fraction``: only a seeded random fraction of the pairs is sent to the editor; the others keep
  (y_w, y_l) (reviewers' question on how much data needs bridging).

Each output row keeps x, y_w, y_l and adds the editor's output, the training pair of the bridged set
(``bridged_chosen``, ``bridged_rejected``) and whether it was bridged. Dropped pairs are counted by reason.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import asdict

from rapidfuzz.distance import Levenshtein

from bmc.bridging.editors import BridgeRequest, edits_losing
from bmc.evaluation.answers import is_correct
from bmc.settings import BridgeSettings

DROP_REASONS = ("editor_none", "empty", "identical", "too_long", "wrong_answer")


def select_for_bridging(n: int, fraction: float, seed: int) -> set[int]:
    """The indices of the pairs sent to the editor: a seeded random ``round(fraction * n)`` of them."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    k = round(fraction * n)
    return set(range(n)) if k == n else set(random.Random(seed).sample(range(n), k))


def token_edit_distance(tokenizer, a: str, b: str) -> int:
    ids_a = tokenizer(a, add_special_tokens=False)["input_ids"]
    ids_b = tokenizer(b, add_special_tokens=False)["input_ids"]
    return Levenshtein.distance(ids_a, ids_b)


def mean_token_edit_distance(tokenizer, rows: list[dict], a: str, b: str) -> float | None:
    """Mean token edit distance between the fields ``a`` and ``b`` of ``rows`` (None for no rows)."""
    return round(sum(token_edit_distance(tokenizer, r[a], r[b]) for r in rows) / len(rows), 3) if rows else None


def identical_pairs(rows: list[dict]) -> dict:
    """How many bridged pairs have the same chosen and rejected response, and their share: a pair with no
    difference teaches nothing and gets no BMC marks."""
    n = sum(r["bridged_chosen"] == r["bridged_rejected"] for r in rows)
    return {"identical_pairs": n, "identical_share": round(n / len(rows), 4) if rows else None}


def _check(edited: str | None, source: str, pair: dict, settings: BridgeSettings, tokenizer,
           style: str | None) -> str | None:
    """The reason to drop an edit, or None to keep it."""
    if edited is None:
        return "editor_none"
    if not edited.strip():
        return "empty"
    if edited.strip() == source.strip():
        return "identical"
    n_source = len(tokenizer(source, add_special_tokens=False)["input_ids"])
    if len(tokenizer(edited, add_special_tokens=False)["input_ids"]) > settings.max_length_ratio * max(n_source, 1):
        return "too_long"
    if settings.answer_check and style is not None and pair.get("answer") is not None:
        right = is_correct(edited, pair["answer"], style, normalized=True)
        if right != edits_losing(settings.direction):
            return "wrong_answer"
    return None


def bridge(pairs: list[dict], editor, tokenizer, settings: BridgeSettings, style: str | None = None,
           template_sha256: str | None = None, decoding: dict | None = None) -> tuple[list[dict], dict]:
    """Bridge ``pairs`` (fields problem, y_w, y_l, answer). ``style`` ('qa'/'math') enables the answer
    check for tasks with a gold answer. Returns the surviving rows and the statistics."""
    start = time.time()
    losing = edits_losing(settings.direction)
    selected = select_for_bridging(len(pairs), settings.fraction, settings.seed)
    order = sorted(selected)
    requests_before = getattr(editor, "requests_made", 0)
    requests = [BridgeRequest(pairs[i]["problem"], pairs[i]["y_w"], pairs[i]["y_l"],
                              pairs[i].get("answer") or None,  # "": an open-ended pair, no gold answer
                              settings.direction) for i in order]
    results = dict(zip(order, editor.edit(requests))) if requests else {}
    if len(results) != len(order):
        raise RuntimeError(f"editor {editor.kind!r} returned {len(results)} results for {len(order)} pairs")

    rows, dropped = [], Counter()
    prompt_tokens = completion_tokens = cached = 0
    reported_cost, cost_seen = 0.0, False
    for i, pair in enumerate(pairs):
        if i not in results:
            rows.append(pair | {"bridged": False, "edited": None, "bridged_chosen": pair["y_w"],
                                "bridged_rejected": pair["y_l"]})
            continue
        res = results[i]
        prompt_tokens += res.usage.prompt_tokens
        completion_tokens += res.usage.completion_tokens
        cached += res.cached
        if res.usage.cost is not None:
            reported_cost += res.usage.cost
            cost_seen = True
        source = pair["y_l"] if losing else pair["y_w"]
        reason = _check(res.text, source, pair, settings, tokenizer, style)
        if reason:
            dropped[reason] += 1
            continue
        chosen, rejected = (res.text, pair["y_l"]) if losing else (pair["y_w"], res.text)
        rows.append(pair | {"bridged": True, "edited": res.text, "editor_raw": res.raw,
                            "bridged_chosen": chosen, "bridged_rejected": rejected})

    def mean_distance(rs, a, b):
        return mean_token_edit_distance(tokenizer, rs, a, b)

    modified = [r for r in rows if r["bridged"]]
    stats = {
        "editor": editor.kind,
        "model": editor.model,
        "direction": settings.direction,
        "fraction": settings.fraction,
        "settings": asdict(settings),
        "decoding": decoding,
        "prompt_template_sha256": template_sha256,
        "pairs_in": len(pairs),
        "pairs_sent_to_editor": len(order),
        "pairs_modified": len(modified),
        "pairs_out": len(rows),
        **identical_pairs(rows),
        "dropped": {reason: dropped[reason] for reason in DROP_REASONS if dropped[reason]},
        "mean_token_edit_distance": {
            "original_pair (y_w, y_l)": mean_distance(rows, "y_w", "y_l"),
            "bridged_pair": mean_distance(rows, "bridged_chosen", "bridged_rejected"),
            "modified_only": {"original_pair": mean_distance(modified, "y_w", "y_l"),
                              "bridged_pair": mean_distance(modified, "bridged_chosen", "bridged_rejected")},
        },
        "editor_usage": {
            "requests_answered_from_cache": cached,
            "requests_made": getattr(editor, "requests_made", 0) - requests_before,
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "cost_reported_by_endpoint": round(reported_cost, 6) if cost_seen else None,
        },
        "seconds": round(time.time() - start, 2),
    }
    return rows, stats


def released_stats(pairs: list[dict], tokenizer, source: str, where: str, originals: dict) -> dict:
    """Statistics of the authors' released bridged pairs in the form of :func:`bridge`'s, so that they can be set
    beside an editor's: pairs, mean token edit distance of the bridged pair (and of (y_w, y_l) where y_w is known),
    the pairs whose chosen and rejected responses are identical, and where the original y_w came from."""
    with_original = [p for p in pairs if p.get("y_w")]
    modified = [p for p in pairs if p["bridged_chosen"] != p["bridged_rejected"]]
    return {
        "editor": "released", "model": source, "direction": "edit_losing_with_reference", "from": where,
        "pairs_in": len(pairs), "pairs_out": len(pairs), "pairs_modified": len(modified),
        **identical_pairs(pairs),
        "original_y_w": originals,
        "mean_token_edit_distance": {
            "original_pair (y_w, y_l)": mean_token_edit_distance(tokenizer, with_original, "y_w", "y_l"),
            "bridged_pair": mean_token_edit_distance(tokenizer, pairs, "bridged_chosen", "bridged_rejected"),
            "pairs_with_original_y_w": len(with_original),
        },
    }
