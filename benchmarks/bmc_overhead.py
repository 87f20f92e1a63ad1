"""Step-time overhead of DPO-BMC over plain DPO: same model, same pairs, same run, interleaved.

Four trainers train on identical pairs from identical initial weights:

- ``dpo``: TRL 1.16's own ``DPOTrainer`` (the baseline);
- ``bmc``: ``BMCDPOTrainer`` as it runs by default (``bmc_mask_scope="per_batch"``): the official marks on the
  padded batch, computed once per batch in the data collator;
- ``bmc_per_forward``: the same marks as the official code computes them, in every policy and reference
  forward (stopword ids and difflib on the padded batch each time);
- ``bmc_per_pair``: marks computed once per pair at dataset preparation (the ``per_pair`` approximation).

Each repeat runs the four in turn, rotating the order, so drift of a shared machine hits all alike. A step's
time is measured from one ``on_step_end`` to the next (CUDA synchronised), so it includes fetching and collating
the batch (where the default computes the marks; ``dataloader_num_workers`` 0), the first
``--warmup`` steps of a run are discarded, and a variant's figure is the median over its runs of each
run's median step. Tokens/s counts the non-padding tokens of the pairs a step trains on (prompt+chosen and
prompt+rejected), over the step time, which includes the reference model's forward. On CUDA, "peak GiB" is
``torch.cuda.max_memory_allocated`` over a run's training (the largest of the variant's runs).

    python benchmarks/bmc_overhead.py                       # tiny CPU model (the tiny study's shape)
    python benchmarks/bmc_overhead.py --preset 1b --precision bf16 --response-words 300   # on a GPU

The goal: ``bmc`` / ``dpo`` <= 1.05 on the tiny CPU model (issue 18; <= 1.03 for ``per_pair``, issue 4).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
_TINY = yaml.safe_load((REPO / "configs" / "tiny.yaml").read_text())["base_model"]
PRESETS = {
    # the tiny study's model, read from configs/tiny.yaml (0.62M parameters there)
    "tiny": {k: _TINY[k] for k in ("hidden_size", "num_layers", "num_heads", "intermediate_size")} | {"vocab": None},
    # TinyLlama-1.1B's shape with a Llama-2 sized vocabulary, randomly initialised
    "1b": dict(hidden_size=2048, num_layers=22, num_heads=32, intermediate_size=5632, vocab=32000),
}
VARIANTS = ("dpo", "bmc", "bmc_per_forward", "bmc_per_pair")
SCOPES = {"bmc": "per_batch", "bmc_per_forward": "per_forward", "bmc_per_pair": "per_pair"}


def make_pairs(n: int, response_words: int, edit_fraction: float, seed: int) -> tuple[list[dict], list[str]]:
    """Synthetic arithmetic pairs: chosen = solutions; rejected = chosen with ``edit_fraction`` of its words
    replaced (a sparse edit, like a bridged pair). Also returns texts to train the tokenizer on."""
    from bmc.data.synthetic import TaskSizes, generate_task

    records = generate_task("arithmetic", TaskSizes(n + 200, 0), seed=seed)["train"]
    rng = random.Random(seed)
    vocab = sorted({w for r in records for w in r["solution"].split()})
    pairs = []
    for i in range(n):
        words: list[str] = []
        j = i
        while len(words) < response_words:
            words += records[j % len(records)]["solution"].split()
            j += 97
        words = words[:response_words]
        edited = [rng.choice(vocab) if rng.random() < edit_fraction else w for w in words]
        pairs.append({"prompt": records[i]["problem"] + "\n", "chosen": " ".join(words),
                      "rejected": " ".join(edited)})
    texts = [r["problem"] + "\n" + r["solution"] for r in records]
    return pairs, texts


class StepTimer:
    """A ``TrainerCallback`` (built lazily so importing this module needs no transformers)."""

    def __new__(cls, cuda: bool):
        import torch
        from transformers import TrainerCallback

        class _Timer(TrainerCallback):
            def __init__(self):
                self.times: list[float] = []
                self.marked: list[float] = []
                self._t0 = 0.0

            def _now(self):
                if cuda:
                    torch.cuda.synchronize()
                return time.perf_counter()

            def on_train_begin(self, args, state, control, **kw):
                self._t0 = self._now()

            def on_step_end(self, args, state, control, **kw):
                # end to end, so that the batch's collation (where the default computes the marks) counts
                now = self._now()
                self.times.append(now - self._t0)
                self._t0 = now

            def on_log(self, args, state, control, logs=None, **kw):
                if logs and "bmc/marked_fraction" in logs:
                    self.marked.append(logs["bmc/marked_fraction"])

        return _Timer()


def run_once(variant: str, model_dir: Path, pairs: list[dict], a, out_dir: Path) -> dict:
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, PrinterCallback
    from trl import DPOConfig, DPOTrainer

    from bmc.runtime import trainer_defaults
    from bmc.training.trainer import BMCConfig, BMCDPOTrainer

    cuda = torch.cuda.is_available()
    dtype = torch.bfloat16 if a.precision == "bf16" and cuda else torch.float32
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype)
    ref = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype)
    common = dict(output_dir=str(out_dir), max_steps=a.steps, per_device_train_batch_size=a.batch_size,
                  learning_rate=1e-5, beta=0.1, max_length=a.max_length, seed=0, **trainer_defaults(a.precision))
    common.update(logging_steps=a.steps, disable_tqdm=True, gradient_checkpointing=a.gradient_checkpointing)
    if variant == "dpo":
        args, cls = DPOConfig(**common), DPOTrainer
    else:
        args = BMCConfig(**common, bmc_delta=3.0, bmc_stopwords=a.stopword_list, bmc_mask_scope=SCOPES[variant])
        cls = BMCDPOTrainer
    timer = StepTimer(cuda)
    t0 = time.perf_counter()
    trainer = cls(model, ref_model=ref, args=args, train_dataset=Dataset.from_list(pairs), processing_class=tok,
                  callbacks=[timer])
    init_s = time.perf_counter() - t0
    trainer.remove_callback(PrinterCallback)
    ds = trainer.train_dataset
    tokens_per_pair = statistics.fmean(2 * len(p) + len(c) + len(r) for p, c, r in
                                       zip(ds["prompt_ids"], ds["chosen_ids"], ds["rejected_ids"]))
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    trainer.train()
    peak_gib = torch.cuda.max_memory_allocated() / 2**30 if cuda else None
    steps = timer.times[a.warmup:]
    step_s = statistics.median(steps)
    marked = timer.marked
    return {"variant": variant, "init_s": init_s, "step_ms": 1000 * step_s,
            "tokens_per_s": tokens_per_pair * min(a.batch_size, len(pairs)) / step_s,
            "marked_fraction": statistics.fmean(marked) if marked else None, "steps_timed": len(steps),
            "peak_gib": peak_gib}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", choices=sorted(PRESETS), default="tiny")
    p.add_argument("--num-layers", type=int, help="override the preset's depth (e.g. a quick check of a preset)")
    p.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    p.add_argument("--gradient-checkpointing", action="store_true")
    p.add_argument("--pairs", type=int, default=256)
    p.add_argument("--response-words", type=int, default=40, help="words per response (~2-3 tokens each)")
    p.add_argument("--edit-fraction", type=float, default=0.1, help="share of words rejected differs in")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--stopwords", type=Path, default=REPO / "tests" / "fixtures" / "official_bmc" / "stopwords.txt",
                   help="a file with one word per line (default: NLTK's classic English list, 179 words, as the "
                        "official code uses) or a study config (its preference.stopwords)")
    p.add_argument("--json", type=Path, help="also write the runs and the summary here")
    a = p.parse_args(argv)
    if a.warmup >= a.steps:
        p.error("--warmup must be smaller than --steps")
    if a.stopwords.suffix in (".yaml", ".yml"):
        import yaml

        a.stopword_list = list(yaml.safe_load(a.stopwords.read_text())["preference"]["stopwords"])
    else:
        a.stopword_list = a.stopwords.read_text().split()

    import torch

    from bmc.models.pretrain import ModelShape, build_model
    from bmc.models.tokenizer import train_tokenizer
    from bmc.runtime import setup

    setup(threads=a.threads, seed=0)
    import datasets
    import transformers

    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    cuda = torch.cuda.is_available()
    device = torch.cuda.get_device_name(0) if cuda else f"CPU, {torch.get_num_threads()} threads"
    preset = dict(PRESETS[a.preset])
    vocab = preset.pop("vocab")
    if a.num_layers:
        preset["num_layers"] = a.num_layers
    pairs, texts = make_pairs(a.pairs, a.response_words, a.edit_fraction, seed=0)
    tok = train_tokenizer(texts, vocab_size=1024)
    model = build_model(tok, ModelShape(**preset, max_position_embeddings=max(512, a.max_length)))
    if vocab:  # a real model's vocabulary size (ids the tokenizer never produces stay unused)
        model.resize_token_embeddings(vocab)
    n_params = sum(t.numel() for t in model.parameters())
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(Path(tmp) / "model")
        tok.save_pretrained(Path(tmp) / "model")
        del model
        print(f"{a.preset}: {n_params / 1e6:.1f}M parameters, {device}, {a.precision}; {a.repeats} repeats x "
              f"{a.steps} steps, batch {a.batch_size}", file=sys.stderr)
        for r in range(a.repeats):
            for v in VARIANTS[r % len(VARIANTS):] + VARIANTS[:r % len(VARIANTS)]:  # rotate the order
                res = run_once(v, Path(tmp) / "model", pairs, a, Path(tmp) / f"out-{v}")
                res["repeat"] = r
                runs.append(res)
                print(f"  repeat {r} {v:15s} {res['step_ms']:8.1f} ms/step", file=sys.stderr)
                if cuda:
                    torch.cuda.empty_cache()

    summary = []
    base = statistics.median(x["step_ms"] for x in runs if x["variant"] == "dpo")
    for v in VARIANTS:
        mine = [x for x in runs if x["variant"] == v]
        ms = statistics.median(x["step_ms"] for x in mine)
        # ratio per repeat (A and B measured back to back), then the median of those
        per_repeat = [x["step_ms"] / y["step_ms"] for x, y in
                      zip(mine, [y for y in runs if y["variant"] == "dpo"])]
        marked = [x["marked_fraction"] for x in mine if x["marked_fraction"] is not None]
        summary.append({"variant": v, "ms/step (median)": round(ms, 1),
                        "x DPO (median of paired ratios)": round(statistics.median(per_repeat), 3),
                        "x DPO (ratio of medians)": round(ms / base, 3),
                        "tokens/s": round(statistics.median(x["tokens_per_s"] for x in mine)),
                        "init s": round(statistics.median(x["init_s"] for x in mine), 2),
                        "marked fraction": round(statistics.fmean(marked), 3) if marked else "-",
                        # torch.cuda.max_memory_allocated during train() (policy, reference, optimizer, activations)
                        "peak GiB": round(max(x["peak_gib"] for x in mine), 2) if cuda else "-"})
    import pandas as pd

    print(f"\n{a.preset} Llama, {n_params / 1e6:.1f}M parameters, {device}, {a.precision}, batch {a.batch_size}, "
          f"{a.pairs} pairs of ~{a.response_words} words, {a.repeats} interleaved repeats x {a.steps} steps "
          f"(first {a.warmup} discarded), {len(a.stopword_list)} stopwords\n")
    print(pd.DataFrame(summary).to_markdown(index=False))
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(a).items() if k != "stopword_list"},
                                      "stopwords": a.stopword_list, "device": device,
                                      "parameters": n_params, "runs": runs, "summary": summary}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
