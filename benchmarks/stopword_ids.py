#!/usr/bin/env python3
"""Which token ids the official stopword rule gives on real tokenizers, and what it misses in real text.

    python benchmarks/stopword_ids.py NAME=TOKENIZER_DIR [...] [--words FILE] [--text PARQUET] [--out FILE]

For each tokenizer (a folder ``AutoTokenizer`` loads): the ids of ``bmc.training.masks.stopword_token_ids`` with
the ``official`` rule (the official trainer's expression: ``tokenize(word)`` of one token, capitalised forms only of
words longer than one letter), checked equal to the official expression evaluated here; the ids of the rule this
project used before (every word capitalised, ids from encoding, single tokens only) and how they differ; the
``robust`` rule's ids. With ``--text`` (a parquet of chat ``messages``, e.g. the official QA SFT set) it counts,
over the assistant turns, the tokens that spell a stopword (with or without the word-start marker) and the share
of them each rule keeps unmarked.

No tokenizer is committed: the figures in docs/fidelity.md were taken with Llama-2's and Llama-3's vocabularies
(``ggml-vocab-llama-spm.gguf``, ``ggml-vocab-llama-bpe.gguf`` from the llama-cpp-python 0.3.36 sdist, loaded with
``AutoTokenizer.from_pretrained(dir, gguf_file=...)``) and Mistral-7B's (``tokenizer.model.v1`` from the
mistral-common 1.13.1 wheel), each saved once with ``save_pretrained``.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from bmc.training.masks import stopword_token_ids  # noqa: E402


def official_expression(tok, words) -> set[int]:
    """dpo_bmc_trainer.py lines 79-80 and 1392, as written."""
    stop_words = set(words)
    stop_words.update([w.capitalize() for w in list(stop_words) if len(w) > 1])
    return {tok.convert_tokens_to_ids(tok.tokenize(word))[0] for word in stop_words if len(tok.tokenize(word)) == 1}


def earlier_rule(tok, words) -> set[int]:
    """The rule of this project before it was aligned with the official trainer."""
    ids = set()
    for form in sorted({f for w in words for f in (w, w.capitalize())}):
        enc = tok(form, add_special_tokens=False)["input_ids"]
        if len(enc) == 1:
            ids.add(enc[0])
    return ids


def text_coverage(tok, words, responses, rules) -> dict:
    """Occurrences of tokens that spell a stopword (word-start markers stripped), and the share each rule covers."""
    spelled = {w.lower() for w in words}
    counts = Counter()
    for text in responses:
        for token_id, piece in zip(tok(text, add_special_tokens=False)["input_ids"],
                                   tok.convert_ids_to_tokens(tok(text, add_special_tokens=False)["input_ids"])):
            if piece.lstrip("▁Ġ").lower() in spelled:
                counts[token_id] += 1
    total = sum(counts.values())
    return {"stopword_tokens": total, **{name: round(sum(c for i, c in counts.items() if i in ids) / max(total, 1), 4)
                                         for name, ids in rules.items()}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tokenizers", nargs="+", help="NAME=DIR")
    ap.add_argument("--words", type=Path, default=ROOT / "tests/fixtures/official_bmc/stopwords.txt")
    ap.add_argument("--text", type=Path, help="parquet with a 'messages' column (assistant turns are counted)")
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    from transformers import AutoTokenizer

    words = a.words.read_text().split()
    responses = []
    if a.text:
        import pandas as pd

        rows = pd.read_parquet(a.text)["messages"].head(a.rows)
        responses = [m["content"] for msgs in rows for m in msgs if m["role"] == "assistant"]
    report = {}
    for spec in a.tokenizers:
        name, path = spec.split("=", 1)
        tok = AutoTokenizer.from_pretrained(path)
        ours, official = stopword_token_ids(tok, words, "official"), official_expression(tok, words)
        if ours != official:
            raise SystemExit(f"{name}: stopword_token_ids differs from the official expression: {ours ^ official}")
        earlier, robust = earlier_rule(tok, words), stopword_token_ids(tok, words, "robust")
        entry = {"official_ids": len(official), "earlier_rule_ids": len(earlier), "robust_ids": len(robust),
                 "earlier_only": sorted(tok.convert_ids_to_tokens(sorted(earlier - official))),
                 "official_only": sorted(tok.convert_ids_to_tokens(sorted(official - earlier)))}
        if responses:
            entry["text"] = text_coverage(tok, words, responses,
                                          {"official": official, "earlier": earlier, "robust": robust})
        report[name] = entry
    text = json.dumps(report, indent=1)
    print(text)
    if a.out:
        a.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
