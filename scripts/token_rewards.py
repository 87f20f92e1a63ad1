"""Rule token_rewards: per-token rewards beta*log(pi_theta/pi_ref) of the held-out pairs under each method (paper
Figure 6): their mean on the marked (differing) and unmarked tokens of y_w and y_l over all pairs, and every token
of one pair, chosen by a stated rule (analysis.token_rewards.example) or by its row."""
from bmc.runtime import log_to, setup

log = log_to(snakemake.log[0])
setup(snakemake.threads)

from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

from bmc.analysis.rewards import (  # noqa: E402
    EXAMPLE_RULE,
    mark_summary,
    marked_token_rewards,
    median_marked_example,
    token_texts,
)
from bmc.data.stopwords import read_stopwords  # noqa: E402
from bmc.io import PAIR_FIELDS, read_jsonl, write_json  # noqa: E402
from bmc.training.masks import diff_masks, stopword_token_ids  # noqa: E402

p, inp = snakemake.params, snakemake.input
pairs = read_jsonl(inp.pairs, PAIR_FIELDS, nonempty=("y_w", "y_l"))
if isinstance(p.example, int) and p.example >= len(pairs):
    raise SystemExit(f"analysis.token_rewards.example: row {p.example} asked for, but {inp.pairs} has "
                     f"{len(pairs)} pairs")
tokenizer = AutoTokenizer.from_pretrained(inp.sft)
words = read_stopwords(inp.stopwords) if "stopwords" in inp.keys() else p.stopwords
stop_ids = stopword_token_ids(tokenizer, words, p.stopword_rule)


def marks(prompt_ids, chosen_ids, rejected_ids):
    """The official marks of the pair alone (a batch of one has no padding): difflib, stopwords unmarked."""
    return diff_masks(prompt_ids, chosen_ids, rejected_ids, stop_ids)


reference = AutoModelForCausalLM.from_pretrained(inp.sft).eval()
scored = {}
for method, model_dir in zip(p.methods, inp.models, strict=True):
    policy = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    scored[method] = marked_token_rewards(policy, reference, tokenizer, pairs, "y_w", "y_l", p.betas[method],
                                          marks, p.max_length, p.batch_size)
first = scored[p.methods[0]]
row = median_marked_example(first, p.max_tokens) if p.example == "median" else p.example
pair = pairs[row]
methods = {}
for method, model_dir in zip(p.methods, inp.models, strict=True):
    example = scored[method][row]
    for side in ("chosen", "rejected"):
        example[side]["tokens"] = token_texts(tokenizer, example[side]["token_ids"])
    methods[method] = {"label": p.labels[method], "beta": p.betas[method], "model": model_dir,
                       "mechanism": mark_summary(scored[method]), **example}
write_json(snakemake.output[0], {
    "pairs": inp.pairs, "row": row, "id": pair.get("id"), "example_rule": EXAMPLE_RULE if p.example == "median"
    else f"row {row} of the held-out pairs (analysis.token_rewards.example)",
    "marks": "the official marks of each pair alone (difflib on its unpadded rows, stopwords unmarked)",
    "problem": pair["problem"], "y_w": pair["y_w"], "y_l": pair["y_l"], "methods": methods})
log.info("token rewards of %d held-out pairs under %s; drawn: row %d (%s)", len(pairs), list(methods), row,
         pair.get("id"))
