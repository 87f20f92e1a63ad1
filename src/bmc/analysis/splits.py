"""Edit-distance splits of the preference pairs (paper Figure 5; docs: paper.md §3.8).

The paper sorts its pairs by the edit distance between y_w and y_l, normalised to 0–1, cuts them into equal
splits (six for UltraFeedback's 60k pairs) and trains one model per split and method; the figure reports,
for each split, the original pair's distance, the bridged pair's distance (ỹ_w, y_l) of the same pairs, each
method's score and its average gradient norm during training.

Here the distance is the Levenshtein distance between the two responses' token ids (the SFT tokenizer, the
same ids the BMC masks compare), divided by the longer response's length (rapidfuzz's
``normalized_distance``): 0 for identical responses, 1 for responses with no token in place. ``unit:
character`` compares characters instead. The split is made on the **original** pair's distance (as the
paper's Figure 5, whose every split has an original and a lower bridged distance), so every method of a split
trains on the same questions: DPO on (y_w, y_l), DPO-BMC on (ỹ_w, y_l).

Equal parts: the pairs are sorted by (distance, row) — ties keep file order, so the split is deterministic —
and cut into ``k`` contiguous parts whose sizes differ by at most one (the first ``n mod k`` parts hold one
more). Equal distances can therefore fall on both sides of a boundary; the summary counts such boundaries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rapidfuzz.distance import Levenshtein

from bmc.settings import UNITS  # noqa: F401  (re-exported)

SPLIT_FIELDS = ("edit_distance", "edit_distance_bridged", "split")


def normalized_edit_distance(a: Sequence, b: Sequence) -> float:
    """Levenshtein distance of two sequences (token ids or characters) over the longer one's length, in
    [0, 1]; two empty sequences are at distance 0."""
    return float(Levenshtein.normalized_distance(a, b))


def tokenizer_units(tokenizer) -> Callable[[str], list[int]]:
    """Token ids of a response as the workflow's tokenizer encodes it (no special tokens)."""
    return lambda text: tokenizer(text, add_special_tokens=False)["input_ids"]


def units_for(unit: str, tokenizer=None) -> Callable[[str], Sequence]:
    if unit not in UNITS:
        raise ValueError(f"edit-distance unit must be one of {UNITS}, got {unit!r}")
    if unit == "character":
        return lambda text: text
    if tokenizer is None:
        raise ValueError("token edit distances need the tokenizer")
    return tokenizer_units(tokenizer)


def equal_parts(distances: Sequence[float], k: int) -> list[list[int]]:
    """Row indices of ``k`` equal-size parts in increasing distance; ties ordered by row index."""
    n = len(distances)
    if not 1 <= k <= n:
        raise ValueError(f"cannot cut {n} pairs into {k} splits (need 1 <= k <= number of pairs)")
    order = sorted(range(n), key=lambda i: (distances[i], i))
    size, extra = divmod(n, k)
    parts, start = [], 0
    for j in range(k):
        end = start + size + (j < extra)
        parts.append(order[start:end])
        start = end
    return parts


def _mean(values: Sequence[float]) -> float:
    return round(sum(values) / len(values), 4)


def split_pairs(rows: list[dict], k: int, units: Callable[[str], Sequence],
                path: str = "<pairs>") -> tuple[list[list[dict]], dict]:
    """Cut bridged-set rows (fields ``y_w``, ``y_l``, ``bridged_chosen``, ``bridged_rejected``) into ``k``
    splits by the normalised edit distance of (y_w, y_l). Returns the splits (each row gains
    ``edit_distance``, ``edit_distance_bridged`` and its 1-based ``split``) and a summary with each split's
    boundaries."""
    if not rows:
        raise ValueError(f"{path}: no pairs to split")
    original, bridged = [], []
    for r in rows:
        original.append(normalized_edit_distance(units(r["y_w"]), units(r["y_l"])))
        bridged.append(normalized_edit_distance(units(r["bridged_chosen"]), units(r["bridged_rejected"])))
    try:
        parts = equal_parts(original, k)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    splits, summary = [], []
    for j, idx in enumerate(parts, start=1):
        d, db = [original[i] for i in idx], [bridged[i] for i in idx]
        splits.append([rows[i] | {"edit_distance": round(original[i], 6), "edit_distance_bridged": round(bridged[i], 6),
                                  "split": j} for i in idx])
        summary.append({
            "split": j, "pairs": len(idx),
            "distance_min": round(min(d), 4), "distance_max": round(max(d), 4), "distance_mean": _mean(d),
            "bridged_distance_mean": _mean(db),
            "pairs_bridged": sum(bool(rows[i].get("bridged")) for i in idx),
        })
    ties = sum(summary[j]["distance_max"] == summary[j + 1]["distance_min"] for j in range(k - 1))
    return splits, {
        "k": k, "pairs": len(rows),
        "split_by": "normalised edit distance of the original pair (y_w, y_l)",
        "bridged_distance": "normalised edit distance of the bridged pair (bridged_chosen, bridged_rejected)",
        "order": "distance, then row in the pair file",
        "boundaries": [s["distance_max"] for s in summary[:-1]],
        "boundaries_with_ties": ties,
        "splits": summary,
    }
