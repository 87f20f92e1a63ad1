"""What logging held-out KL(π_ref ‖ π_θ) during preference training costs (``preference.kl_every_steps``).

Trains the same method on the same pairs from the same SFT model with the KL callback off and on (each
``--every`` value), interleaved (off, on, off, on, ... so drift of a shared machine hits all alike), and
prints each variant's training wall time (the Trainer's ``train_runtime``, callback included), its ratio to
the run without logging in the same repeat, and the seconds the callback itself spent.

    python benchmarks/heldout_kl_overhead.py                        # the tiny study's QA DPO run
    python benchmarks/heldout_kl_overhead.py --task math --every 10 25 --examples 32 --repeats 3

Reads an existing study's files (``results/<study>/models/sft/<task>``, the main bridged pairs and the test
questions), so run the study first.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--study", default="tiny")
    ap.add_argument("--task", default="qa")
    ap.add_argument("--pairs", help="pair file (default: the study's main bridged set)")
    ap.add_argument("--style", help="prompt style of the task (default: from configs/<study>.yaml)")
    ap.add_argument("--every", type=int, nargs="+", default=[10], help="kl_every_steps values to compare")
    ap.add_argument("--examples", type=int, default=32, help="held-out chosen responses")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--limit", type=int, help="train on the first N pairs only")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)

    from bmc.runtime import setup

    setup(args.threads)
    import yaml

    from bmc.analysis.heldout import heldout_chosen
    from bmc.config import preference_settings
    from bmc.io import read_jsonl
    from bmc.training.preference import MethodSpec, train_preference

    config = yaml.safe_load((REPO / "configs" / f"{args.study}.yaml").read_text())
    root = REPO / "results" / args.study
    style = args.style or config["tasks"][args.task]["prompt_style"]
    pairs_path = args.pairs or root / "pairs" / args.task / "bridged" / "main.jsonl"
    pairs = read_jsonl(pairs_path)[: args.limit]
    for p in pairs:  # older pair files have no bridged fields; the DPO run reads y_w, y_l only
        p.setdefault("bridged_chosen", p["y_w"])
        p.setdefault("bridged_rejected", p["y_l"])
    held = heldout_chosen(read_jsonl(root / "data" / args.task / "test.jsonl"), style, args.examples, seed=0)
    sft = root / "models" / "sft" / args.task
    method = MethodSpec(label="DPO", pairs="original", bmc_weights=False)

    variants = [0, *args.every]
    runs: dict[int, list[dict]] = {v: [] for v in variants}
    for r in range(args.repeats):
        order = variants if r % 2 == 0 else variants[::-1]
        for every in order:
            settings = preference_settings(config, args.task, "dpo")
            settings.kl_every_steps = every
            with tempfile.TemporaryDirectory() as tmp:
                res = train_preference(sft, pairs, method, settings, Path(tmp) / "m", heldout_chosen=held)
            runs[every].append({"seconds": res["train_seconds"], "kl_seconds": res.get("heldout_kl_seconds", 0.0),
                                "points": len(res.get("heldout_kl", [])), "steps": res["steps"]})
            print(f"repeat {r} every={every}: {runs[every][-1]}", file=sys.stderr)

    print(f"\n{args.study} {args.task}: {len(pairs)} pairs, {runs[0][0]['steps']} steps, {args.examples} held-out "
          f"responses, {args.repeats} interleaved repeats, {args.threads} thread(s)")
    print("| kl_every_steps | KL points | train s (median) | x without | callback s (median) |")
    print("|---:|---:|---:|---:|---:|")
    for every in variants:
        ratios = [a["seconds"] / b["seconds"] for a, b in zip(runs[every], runs[0])]
        print(f"| {every or 'off'} | {runs[every][0]['points']} | {statistics.median(x['seconds'] for x in runs[every]):.1f} "
              f"| {statistics.median(ratios):.3f} | {statistics.median(x['kl_seconds'] for x in runs[every]):.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
