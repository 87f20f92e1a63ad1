"""Rule token_rewards: per-token rewards beta*log(pi_theta/pi_ref) of one held-out pair under each method
(paper Figure 6)."""
from bmc.runtime import log_to, setup

log = log_to(snakemake.log[0])
setup(snakemake.threads)

from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

from bmc.analysis.rewards import token_rewards, token_texts  # noqa: E402
from bmc.io import PAIR_FIELDS, read_jsonl, write_json  # noqa: E402

p, inp = snakemake.params, snakemake.input
pairs = read_jsonl(inp.pairs, PAIR_FIELDS, nonempty=("y_w", "y_l"))
if p.example >= len(pairs):
    raise SystemExit(f"analysis.token_rewards.example: row {p.example} asked for, but {inp.pairs} has "
                     f"{len(pairs)} pairs")
pair = pairs[p.example]
tokenizer = AutoTokenizer.from_pretrained(inp.sft)
reference = AutoModelForCausalLM.from_pretrained(inp.sft).eval()
methods = {}
for method, model_dir in zip(p.methods, inp.models, strict=True):
    policy = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    r = token_rewards(policy, reference, tokenizer, pair, "y_w", "y_l", p.betas[method], p.max_length)
    for side in r.values():
        side["tokens"] = token_texts(tokenizer, side["token_ids"])
    methods[method] = {"label": p.labels[method], "beta": p.betas[method], "model": model_dir, **r}
write_json(snakemake.output[0], {"pairs": inp.pairs, "row": p.example, "id": pair.get("id"),
                                 "problem": pair["problem"], "y_w": pair["y_w"], "y_l": pair["y_l"],
                                 "methods": methods})
log.info("token rewards of pair %d (%s) under %s", p.example, pair.get("id"), list(methods))
