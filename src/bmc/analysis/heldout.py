"""Held-out data for the analyses of trained policies (paper §3.7 / Table 4, Figures 4 and 6).

The paper measures reward margins, reward accuracy and KL on held-out preference pairs (2,000 held-out
UltraFeedback pairs). The QA and math setups have no held-out pairs, so they are built here from the task's
**test** questions exactly as the training pairs are built from its training questions, leaving the
training data untouched:

* :func:`heldout_pairs`: a seeded subset of the test questions; the SFT model samples answers
  (:func:`bmc.sampling.losing.sample_losing`, the training pairs' settings); y_w = the gold solution, y_l = the
  first wrong sample. The pairs are then bridged by the main bridged set's editor (the rule reuses the
  ``bridge_pairs`` script), so each held-out pair has (y_w, y_l) and (ỹ_w, y_l).
* :func:`heldout_chosen`: the chosen responses the KL(π_ref ‖ π_θ) curve is measured on during training:
  the gold responses (= held-out y_w) of a seeded subset of test questions. It needs no model, so training
  does not wait for held-out sampling.

Each record keeps ``id``: the question's 0-based row in the test file.
"""

from __future__ import annotations

import random
from dataclasses import replace

from bmc.sampling.losing import SamplingSettings, sample_losing
from bmc.templates import response_prefix

CHOSEN_FIELDS = {"id": str, "problem": str, "y_w": str}


def select_questions(rows: list[dict], n: int | None, seed: int) -> list[int]:
    """Indices of a seeded random subset of ``n`` rows (all rows if ``n`` is None or not smaller), in file
    order."""
    if n is None or n >= len(rows):
        return list(range(len(rows)))
    if n < 1:
        raise ValueError(f"the number of held-out questions must be positive, got {n}")
    return sorted(random.Random(seed).sample(range(len(rows)), n))


def heldout_pairs(generator, rows: list[dict], style: str, settings: SamplingSettings, questions: int | None,
                  seed: int) -> tuple[list[dict], dict]:
    """Held-out (y_w, y_l) pairs from test ``rows``: the SFT model (``generator``) samples as for training."""
    picked = select_questions(rows, questions, seed)
    settings = replace(settings, questions=None)  # training's question limit is not the held-out selection
    pairs, stats = sample_losing(generator, [rows[i] for i in picked], style, settings)
    for p in pairs:  # sample_losing numbers the rows it was given; keep the test file's row instead
        p["id"] = str(picked[int(p["id"])])
    return pairs, stats | {"test_questions": len(rows), "questions_selected": len(picked), "selection_seed": seed}


def heldout_chosen(rows: list[dict], style: str, examples: int | None, seed: int) -> list[dict]:
    """The gold responses (held-out y_w, formatted as training's y_w) of a seeded subset of test questions."""
    prefix = response_prefix(style)
    return [{"id": str(i), "problem": rows[i]["problem"], "y_w": prefix + rows[i]["solution"]}
            for i in select_questions(rows, examples, seed)]
