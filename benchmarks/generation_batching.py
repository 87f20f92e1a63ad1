"""Speed-up of batched generation over one prompt per call: same model, same prompts, same run.

Runs ``TransformersGenerator`` greedily over the same evaluation prompts with ``batch_size=1`` and with each
larger batch size, interleaved over repeats, checks that every batch size gives exactly the one-prompt
outputs, and prints prompts/s and the speed-up as one table.

    python benchmarks/generation_batching.py --model results/tiny/models/sft/math --task-file results/tiny/data/math/test.jsonl
    python benchmarks/generation_batching.py            # no trained model at hand: builds a tiny random one

On a GPU with vLLM installed, ``--engine vllm`` adds vLLM's single batched call to the comparison.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path


def _random_model(path: Path, prompts: list[str]) -> Path:
    import torch

    from bmc.models.pretrain import ModelShape, build_model
    from bmc.models.tokenizer import train_tokenizer

    tok = train_tokenizer(prompts * 3, vocab_size=512)
    torch.manual_seed(0)
    model = build_model(tok, ModelShape())
    with torch.no_grad():  # large weights: outputs that depend on the prompt instead of one repeated token
        for p in model.parameters():
            if p.dim() == 2:
                p.normal_(0.0, 0.4)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, help="a model folder (default: a tiny random Llama built here)")
    p.add_argument("--task-file", type=Path, help="a test split (JSONL with 'problem'); default: synthetic math")
    p.add_argument("--style", default="math", choices=("qa", "math"))
    p.add_argument("--prompts", type=int, default=96)
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[8, 32, 96])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--engine", choices=("transformers", "vllm"), default="transformers")
    a = p.parse_args(argv)

    from bmc.runtime import setup

    setup(threads=a.threads, seed=0)
    import pandas as pd
    import transformers

    from bmc.data.synthetic import TaskSizes, generate_task
    from bmc.io import read_jsonl
    from bmc.models.generation import DecodingSettings, TransformersGenerator, VLLMGenerator, VLLMSettings
    from bmc.templates import eval_prompt, stop_strings

    transformers.logging.set_verbosity_error()
    if a.task_file:
        problems = [r["problem"] for r in read_jsonl(a.task_file)][: a.prompts]
    else:
        problems = [r["problem"] for r in generate_task("arithmetic", TaskSizes(a.prompts, 0), seed=0)["train"]]
    prompts = [eval_prompt(q, a.style) for q in problems]
    settings = DecodingSettings(max_new_tokens=a.max_new_tokens)
    stop = stop_strings(a.style)

    with tempfile.TemporaryDirectory() as tmp:
        model = a.model or _random_model(Path(tmp) / "model", prompts)
        variants = {f"transformers, batch {b}": (lambda b=b: TransformersGenerator(model, batch_size=b))
                    for b in [1, *a.batch_sizes]}
        if a.engine == "vllm":
            variants["vLLM, one call"] = lambda: VLLMGenerator(VLLMSettings(str(model)))
        engines = {name: make() for name, make in variants.items()}
        seconds: dict[str, list[float]] = {name: [] for name in engines}
        outputs = {}
        for r in range(a.repeats):
            for name, gen in engines.items():
                t0 = time.perf_counter()
                outputs[name] = gen.generate(prompts, settings, stop=stop, desc=name)
                seconds[name].append(time.perf_counter() - t0)
                print(f"  repeat {r} {name:24s} {seconds[name][-1]:7.2f} s", file=sys.stderr)
    reference = outputs["transformers, batch 1"]
    base = statistics.median(seconds["transformers, batch 1"])
    rows = [{"engine": name, "s (median)": round(statistics.median(s), 2),
             "prompts/s": round(len(prompts) / statistics.median(s), 1),
             "speed-up": round(base / statistics.median(s), 2),
             "outputs equal batch 1": outputs[name] == reference} for name, s in seconds.items()]
    print(f"\n{len(prompts)} prompts, greedy, {a.max_new_tokens} new tokens, {a.repeats} interleaved repeats, "
          f"model {a.model or 'tiny random Llama'}\n")
    print(pd.DataFrame(rows).to_markdown(index=False))
    return 0 if all(r["outputs equal batch 1"] for r in rows if r["engine"].startswith("transformers")) else 1


if __name__ == "__main__":
    sys.exit(main())
