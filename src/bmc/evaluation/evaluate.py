"""Zero-shot evaluation as the official scripts do it: the official prompt, greedy decoding, the official
stop strings and answer extraction. Scores are given per test set (a named group of question types) and
as the unweighted average over a setup's test sets, like the paper's "QA Avg" and "Math Avg"."""

from __future__ import annotations

from bmc.evaluation.answers import score
from bmc.settings import DecodingSettings
from bmc.templates import eval_prompt, stop_strings


def evaluate(generator, rows: list[dict], style: str, test_sets: dict[str, list[str]], max_new_tokens: int,
             preamble: bool = True) -> tuple[list[dict], dict]:
    """Return per-item predictions and the score summary. ``test_sets`` maps a test set's name to the
    question types it contains; an item whose type is in no test set is an error, not skipped."""
    set_of = {t: name for name, types in test_sets.items() for t in types}
    for i, r in enumerate(rows):
        if r.get("type") not in set_of:
            raise ValueError(f"test item {i}: type {r.get('type')!r} belongs to no test set {sorted(test_sets)}")
    prompts = [eval_prompt(r["problem"], style, preamble=preamble) for r in rows]
    outs = generator.generate(prompts, DecodingSettings(max_new_tokens=max_new_tokens), stop=stop_strings(style),
                              desc="evaluate")
    responses = [o[0] for o in outs]
    scores = score(responses, [r["answer"] for r in rows], style)
    predictions = [{"test_set": set_of[r["type"]], "type": r["type"], "problem": r["problem"], "answer": r["answer"],
                    "prompt": prompt, "response": response, **s}
                   for r, prompt, response, s in zip(rows, prompts, responses, scores)]
    return predictions, summarize(predictions, list(test_sets))


def summarize(predictions: list[dict], test_set_order: list[str]) -> dict:
    scores = {}
    for name in test_set_order:
        items = [p for p in predictions if p["test_set"] == name]
        if not items:
            raise ValueError(f"test set {name!r} has no items")
        scores[name] = {
            "n": len(items),
            "accuracy": round(100 * sum(p["correct"] for p in items) / len(items), 2),
            "accuracy_normalized": round(100 * sum(p["correct_normalized"] for p in items) / len(items), 2),
            "no_answer": sum(p["prediction"] == "" for p in items),
        }
        if "timeout" in items[0]:  # math: the official grader's timeouts, and math-verify beside it
            scores[name]["timeouts"] = sum(p["timeout"] for p in items)
            scores[name]["accuracy_math_verify"] = round(
                100 * sum(p["correct_math_verify"] for p in items) / len(items), 2)
    average = round(sum(s["accuracy"] for s in scores.values()) / len(scores), 2)
    average_norm = round(sum(s["accuracy_normalized"] for s in scores.values()) / len(scores), 2)
    return {"test_sets": scores, "average": average, "average_normalized": average_norm}
