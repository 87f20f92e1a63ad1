#!/usr/bin/env python3
"""What the per_pair shortcut costs at the paper's lengths: marks and DPO-BMC losses against the official marks.

    python benchmarks/mask_scope_at_paper_lengths.py --tokenizer DIR --data ../shared/data/bmc-official \
        [--pairs 200] [--batch-size 2] [--out FILE]

Pairs of realistic length are built from the official data: responses of 300-1,000 tokens, each the official QA
SFT set's answers (``training_data/qa_sft``) or GSM8K solutions (``math/gsm8k/test.jsonl``) strung together, with
2-6 edited spans in the bridged response (a word replaced, inserted or deleted; numbers in the math responses),
the edited response as y_w and the original as y_l, as the editor's output looks. They are batched as the
official configs do (``per_device_train_batch_size`` 2 by default) and, with NLTK's English stopwords and the
official stopword rule, marked two ways: the official marks (``per_batch``: difflib on the padded batch) and the
``per_pair`` shortcut (difflib on each pair's unpadded rows). Reported: the completion tokens marked differently,
the pairs affected, and, with a small Llama on the tokenizer's vocabulary (trained briefly on the same text; the
policy its perturbed copy), the per-pair DPO-BMC loss under both marks (beta 0.05, delta 2.5: the official math
config).
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

SEED = 0


def responses(data: Path, rng: random.Random):
    import pandas as pd

    qa = [m["content"] for msgs in pd.read_parquet(data / "training_data/qa_sft/train-00000-of-00001.parquet")
          ["messages"] for m in msgs if m["role"] == "assistant"]
    qa_q = [m["content"] for msgs in pd.read_parquet(data / "training_data/qa_sft/train-00000-of-00001.parquet")
            ["messages"] for m in msgs if m["role"] == "user"]
    gsm = [json.loads(line) for line in (data / "math/gsm8k/test.jsonl").read_text().splitlines()]
    return {"qa": (qa_q, qa), "math": ([g["question"] for g in gsm], [g["answer"] for g in gsm])}


def edit(words: list[str], rng: random.Random, numbers: bool) -> list[str]:
    out = list(words)
    for _ in range(rng.randint(2, 6)):
        i = rng.randrange(len(out))
        if numbers:
            digits = [j for j, w in enumerate(out) if any(c.isdigit() for c in w)]
            i = rng.choice(digits) if digits else i
            new = [str(rng.randint(1, 99))]
        else:
            new = [rng.choice(out)]
        op = rng.choice(["replace", "replace", "insert", "delete"])
        if op == "replace":
            out[i:i + 1] = new
        elif op == "insert":
            out[i:i] = new
        elif len(out) > 5:
            del out[i:i + rng.randint(1, 3)]
    return out


def build_pairs(tok, data: Path, n: int, rng: random.Random):
    sources = responses(data, rng)
    pairs = []
    while len(pairs) < n:
        task = rng.choice(["qa", "math"])
        questions, answers = sources[task]
        target, parts, length = rng.randint(300, 1000), [], 0
        while length < target:
            parts.append(rng.choice(answers))
            length = len(tok(" ".join(parts), add_special_tokens=False)["input_ids"])
        rejected = " ".join(parts).split(" ")
        chosen = edit(rejected, rng, numbers=task == "math")
        prompt = [tok.bos_token_id] + tok(rng.choice(questions) + "\n\n### Response:\n", add_special_tokens=False)[
            "input_ids"]
        pairs.append({"task": task, "prompt_ids": prompt,
                      "chosen_ids": tok(" ".join(chosen), add_special_tokens=False)["input_ids"] + [tok.eos_token_id],
                      "rejected_ids": tok(" ".join(rejected), add_special_tokens=False)["input_ids"]
                      + [tok.eos_token_id]})
    return pairs


def small_llama(tok, pairs, steps: int):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(SEED)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=2048,
                         tie_word_embeddings=True)
    model = LlamaForCausalLM(config)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    stream = [t for p in pairs for t in p["prompt_ids"] + p["rejected_ids"]]
    g = torch.Generator().manual_seed(SEED)
    for _ in range(steps):
        starts = torch.randint(0, len(stream) - 257, (8,), generator=g).tolist()
        x = torch.tensor([stream[s:s + 256] for s in starts])
        loss = model(input_ids=x, labels=x).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    policy = LlamaForCausalLM(config)
    policy.load_state_dict(model.state_dict())
    with torch.no_grad():
        for p in policy.parameters():
            p.add_(0.02 * torch.randn(p.shape, generator=g))
    return policy.eval(), model, loss.item()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokenizer", required=True, type=Path)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/bmc-official")
    ap.add_argument("--words", type=Path, default=ROOT / "tests/fixtures/official_bmc/stopwords.txt")
    ap.add_argument("--pairs", type=int, default=200)
    ap.add_argument("--batch-size", type=int, default=2)
    ap.add_argument("--lm-steps", type=int, default=300)
    ap.add_argument("--beta", type=float, default=0.05)
    ap.add_argument("--delta", type=float, default=2.5)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    import torch
    import torch.nn.functional as F
    from transformers import AutoTokenizer

    from bmc.training.masks import diff_masks, stopword_token_ids
    from bmc.training.trainer import DataCollatorForBMCPreference, bmc_token_weights

    torch.set_num_threads(2)
    rng = random.Random(SEED)
    tok = AutoTokenizer.from_pretrained(a.tokenizer)
    stop = stopword_token_ids(tok, a.words.read_text().split(), "official")
    pairs = build_pairs(tok, a.data, a.pairs, rng)
    for p in pairs:
        p["chosen_bmc_mask"], p["rejected_bmc_mask"] = diff_masks(p["prompt_ids"], p["chosen_ids"],
                                                                  p["rejected_ids"], stop)
    policy, reference, lm_loss = small_llama(tok, pairs, a.lm_steps)
    official = DataCollatorForBMCPreference(pad_token_id=tok.pad_token_id or 0, stopword_ids=stop)
    shortcut = DataCollatorForBMCPreference(pad_token_id=tok.pad_token_id or 0, bmc_mask_scope="per_pair")
    tokens = differing = pairs_affected = 0
    marked_official = marked_shortcut = 0
    loss_diffs, by_task = [], {"qa": [0, 0], "math": [0, 0]}
    for start in range(0, len(pairs), a.batch_size):
        chunk = pairs[start:start + a.batch_size]
        b_off, b_pp = official(chunk), shortcut(chunk)
        n = len(chunk)
        completion = b_off["completion_mask"].float()
        diff = (b_off["bmc_mask"] != b_pp["bmc_mask"]).float() * completion
        tokens += completion.sum().item()
        differing += diff.sum().item()
        marked_official += b_off["bmc_mask"].sum().item()
        marked_shortcut += b_pp["bmc_mask"].sum().item()
        for k, p in enumerate(chunk):
            d = diff[k].sum().item() + diff[n + k].sum().item()
            pairs_affected += d > 0
            by_task[p["task"]][0] += d
            by_task[p["task"]][1] += completion[k].sum().item() + completion[n + k].sum().item()
        with torch.no_grad():
            ids, att = b_off["input_ids"], b_off["attention_mask"]
            lp = torch.log_softmax(policy(input_ids=ids, attention_mask=att).logits[:, :-1].float(), -1)
            rp = torch.log_softmax(reference(input_ids=ids, attention_mask=att).logits[:, :-1].float(), -1)
            lp, rp = (x.gather(-1, ids[:, 1:, None]).squeeze(-1) for x in (lp, rp))
        shift_c = completion[:, 1:]
        losses = []
        for batch in (b_off, b_pp):
            mask = batch["bmc_mask"][:, 1:]
            pol = (lp * bmc_token_weights(lp, mask, a.delta) * shift_c).sum(1)
            ref = (rp * bmc_token_weights(rp, mask, a.delta) * shift_c).sum(1)
            logits = (pol[:n] - pol[n:]) - (ref[:n] - ref[n:])
            losses.append(-F.logsigmoid(a.beta * logits))
        loss_diffs += (losses[1] - losses[0]).abs().tolist()
    lengths = [len(p["chosen_ids"]) for p in pairs]
    report = {
        "tokenizer": str(a.tokenizer), "pairs": len(pairs), "batch_size": a.batch_size,
        "response_tokens": {"min": min(lengths), "median": statistics.median(lengths), "max": max(lengths)},
        "completion_tokens": int(tokens), "marked_official": int(marked_official),
        "marked_per_pair": int(marked_shortcut), "tokens_marked_differently": int(differing),
        "fraction_marked_differently": round(differing / tokens, 5),
        "fraction_of_official_marks": round(differing / max(marked_official, 1), 4),
        "pairs_affected": int(pairs_affected),
        "by_task": {t: {"differing": int(d), "tokens": int(c)} for t, (d, c) in by_task.items()},
        "reference_lm_loss": round(lm_loss, 3), "beta": a.beta, "delta": a.delta,
        "loss_abs_diff": {"mean": round(statistics.fmean(loss_diffs), 5), "max": round(max(loss_diffs), 5),
                          "pairs_over_1e-3": sum(d > 1e-3 for d in loss_diffs)},
    }
    text = json.dumps(report, indent=1)
    print(text)
    if a.out:
        a.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
