"""Losing responses, as the paper builds its QA and math pairs (§3.1, y_l sampled from the SFT model): the SFT
model answers its own training questions; pairs are (y_w = gold, y_l = wrong).

As in the paper's QA/math setups (following RLMEC), ``y_w`` is the ground-truth solution and ``y_l`` an
incorrect output of the SFT model on the same question. The model samples ``num_samples`` answers per
question (batched); the first incorrect, non-empty sample becomes ``y_l``. Questions the model always
answers correctly give no pair and are counted, not silently dropped. "Incorrect" uses the normalised
comparison: a response whose answer differs from the gold only in letter case is not a losing response
(the official QA scorer's case quirk would call it wrong).
"""

from __future__ import annotations

from collections import Counter

from bmc.evaluation.answers import extract, is_correct
from bmc.settings import DecodingSettings, SamplingSettings
from bmc.templates import response_prefix, stop_strings


def training_prompt(tokenizer, problem: str, style: str) -> str:
    """The SFT model's own prompt format: the chat template's user turn and the setup's response prefix
    (BOS left to the tokenizer, which adds it)."""
    text = tokenizer.apply_chat_template([{"role": "user", "content": problem}], tokenize=False,
                                         add_generation_prompt=True)
    if tokenizer.bos_token and text.startswith(tokenizer.bos_token):
        text = text[len(tokenizer.bos_token):]
    return text + response_prefix(style)


def make_pairs(rows: list[dict], samples: list[list[str]], style: str) -> tuple[list[dict], dict]:
    """Pick ``y_l`` per question from its samples (completions after the response prefix)."""
    prefix = response_prefix(style)
    pairs, dropped = [], Counter()
    n_samples = n_correct = 0
    per_type = Counter()
    for i, (row, outs) in enumerate(zip(rows, samples, strict=True)):
        losing = None
        any_wrong = False
        for completion in outs:
            n_samples += 1
            response = prefix + completion
            if is_correct(response, row["answer"], style, normalized=True):
                n_correct += 1
                continue
            any_wrong = True
            if losing is None and completion.strip():
                losing = response
        if losing is None:
            dropped["all_samples_correct" if not any_wrong else "wrong_samples_empty"] += 1
            continue
        per_type[row.get("type", "all")] += 1
        pairs.append({
            "id": f"{i}", "problem": row["problem"], "answer": row["answer"], "type": row.get("type", ""),
            "y_w": prefix + row["solution"], "y_l": losing, "y_l_prediction": extract(losing, style),
        })
    stats = {
        "questions": len(rows),
        "samples": n_samples,
        "sample_accuracy": round(n_correct / max(n_samples, 1), 4),
        "pairs": len(pairs),
        "dropped": dict(dropped),
        "dropped_all_correct": dropped["all_samples_correct"],
        "pairs_by_type": dict(sorted(per_type.items())),
    }
    return pairs, stats


def sample_losing(generator, rows: list[dict], style: str, settings: SamplingSettings):
    """Pairs from the SFT model's samples on the training questions (the first ``settings.questions`` of them,
    counted in the stats as ``questions`` of ``questions_available``)."""
    available = len(rows)
    if settings.questions is not None:
        if settings.questions > available:
            raise ValueError(f"sampling.questions is {settings.questions} but the training split has {available}")
        rows = rows[:settings.questions]
    prompts = [training_prompt(generator.tokenizer, r["problem"], style) for r in rows]
    decoding = DecodingSettings(max_new_tokens=settings.max_new_tokens, temperature=settings.temperature,
                                top_p=settings.top_p, num_samples=settings.num_samples, seed=settings.seed)
    samples = generator.generate(prompts, decoding, stop=stop_strings(style), desc="sample y_l")
    pairs, stats = make_pairs(rows, samples, style)
    stats["questions_available"] = available
    stats["decoding"] = decoding.__dict__
    return pairs, stats
