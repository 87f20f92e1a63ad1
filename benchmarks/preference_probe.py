#!/usr/bin/env python3
"""Probe the preference stage of a finished study: does a setting learn its pairs, and what does it do to accuracy?

    python benchmarks/preference_probe.py --study results/tiny --task math --method dpo \
        --set learning_rate=1e-4 --set epochs=3 [--pairs FILE] [--tag NAME] [--out probes.jsonl]

Trains one method on one task from the study's SFT model (``models/sft/<task>``) with the study's resolved
settings (``run/config.yaml``) and the ``--set`` overrides, on the study's bridged pairs (or ``--pairs``, any file
in the pairs format), one seed; then measures what a researcher reads first when a method "does nothing":

* training: loss, reward accuracy and margin at the first and last logged step, ``logps`` of chosen and rejected
  first -> last (TRL's own log);
* held-out: reward accuracy and margin of the implicit reward on the study's held-out pairs (Table 4's measure);
* accuracy: greedy evaluation on the task's test split per test set and averaged (as the ``evaluate`` rule), and
  the SFT model's (cached in the output folder).

One JSON line per probe is appended to ``--out``. Used to diagnose and calibrate the tiny study (docs/methods.md).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def parse_value(text: str):
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)  # YAML 1.1 reads "1e-4" as a string
    except ValueError:
        return yaml.safe_load(text)


def accuracy(model_dir, rows, task_cfg, config, cache: Path | None = None, predictions: Path | None = None) -> dict:
    """The ``evaluate`` rule's scores of one model (cached by path when ``cache`` is given; per-item predictions
    written to ``predictions`` when given)."""
    if cache is not None and cache.exists():
        return json.loads(cache.read_text())
    from bmc.evaluation.evaluate import evaluate
    from bmc.models.generation import TransformersGenerator

    ev = config["evaluation"]
    generator = TransformersGenerator(model_dir, batch_size=ev["batch_size"])
    items, scores = evaluate(generator, rows, task_cfg["prompt_style"], task_cfg["test_sets"], ev["max_new_tokens"],
                             preamble=ev["preamble"])
    if predictions is not None:
        predictions.write_text("".join(json.dumps(p) + "\n" for p in items))
    out = {"average": scores["average"], **{k: v["accuracy"] for k, v in scores["test_sets"].items()}}
    if cache is not None:
        cache.write_text(json.dumps(out))
    return out


def training_summary(history: list[dict]) -> dict:
    first, last = history[0], history[-1]
    pick = lambda h, k: round(h[k], 4) if k in h else None  # noqa: E731
    return {"loss_first": pick(first, "loss"), "loss_last": pick(last, "loss"),
            "train_acc_first": pick(first, "rewards/accuracies"), "train_acc_last": pick(last, "rewards/accuracies"),
            "margin_last": pick(last, "rewards/margins"),
            "logps_chosen_first": pick(first, "logps/chosen"), "logps_chosen_last": pick(last, "logps/chosen"),
            "logps_rejected_first": pick(first, "logps/rejected"),
            "logps_rejected_last": pick(last, "logps/rejected"), "logged_steps": len(history)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--study", type=Path, required=True, help="a finished study folder (results/<study>)")
    ap.add_argument("--task", required=True)
    ap.add_argument("--method", default="dpo")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a preference setting")
    ap.add_argument("--pairs", type=Path, help="pairs file (default: the study's pairs/<task>/bridged/main.jsonl)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tag", default="")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--keep", type=Path, help="keep the trained model here")
    ap.add_argument("--out", type=Path, default=Path("probes.jsonl"))
    a = ap.parse_args()

    from bmc.runtime import setup

    setup(a.threads, seed=a.seed)
    import datasets
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from bmc.analysis.rewards import pair_rewards, reward_summary
    from bmc.config import preference_settings
    from bmc.io import PAIR_FIELDS, PROBLEM_FIELDS, read_jsonl
    from bmc.training.preference import MethodSpec, train_preference

    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    config = yaml.safe_load((a.study / "run" / "config.yaml").read_text())["config"]
    task_cfg = config["tasks"][a.task]
    overrides = dict(s.split("=", 1) for s in a.set)
    settings = preference_settings(config, a.task, a.method)
    for key, value in overrides.items():
        if not hasattr(settings, key):
            raise SystemExit(f"--set {key}: not a preference setting")
        setattr(settings, key, parse_value(value))
    settings.seed, settings.kl_every_steps = a.seed, 0
    spec = config["methods"][a.method]
    method = MethodSpec(label=spec["label"], pairs=spec["pairs"], bmc_weights=spec["bmc_weights"],
                        loss=spec.get("loss", "sigmoid"))
    pairs_path = a.pairs or a.study / "pairs" / a.task / "bridged" / "main.jsonl"
    pairs = read_jsonl(pairs_path, PAIR_FIELDS | {"bridged_chosen": str, "bridged_rejected": str})
    sft = a.study / "models" / "sft" / a.task
    test = read_jsonl(a.study / "data" / a.task / "test.jsonl", PROBLEM_FIELDS | {"type": str})
    heldout = read_jsonl(a.study / "heldout" / a.task / "pairs.jsonl", PAIR_FIELDS)

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = a.keep or Path(tmp) / "model"
        result = train_preference(sft, pairs, method, settings, out_dir)
        train_s = time.perf_counter() - t0
        policy = AutoModelForCausalLM.from_pretrained(out_dir).eval()
        reference = AutoModelForCausalLM.from_pretrained(sft).eval()
        tokenizer = AutoTokenizer.from_pretrained(out_dir)
        rewards = reward_summary(pair_rewards(policy, reference, tokenizer, heldout, "y_w", "y_l", settings.beta,
                                              settings.max_length, 32))
        acc = accuracy(out_dir, test, task_cfg, config, predictions=(a.keep / "predictions.jsonl") if a.keep else None)
    sft_acc = accuracy(sft, test, task_cfg, config, cache=sft / "probe_accuracy.json")
    row = {"tag": a.tag, "task": a.task, "method": a.method, "pairs": str(pairs_path), "n_pairs": len(pairs),
           "overrides": overrides, "lr": settings.learning_rate, "beta": settings.beta, "epochs": settings.epochs,
           "steps": result["steps"], **training_summary(result["log_history"]),
           "heldout_acc": round(rewards["accuracy"], 4), "heldout_margin": round(rewards["margin_mean"], 5),
           "accuracy": acc, "sft_accuracy": sft_acc, "delta_vs_sft": round(acc["average"] - sft_acc["average"], 2),
           "train_s": round(train_s, 1)}
    with a.out.open("a") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
