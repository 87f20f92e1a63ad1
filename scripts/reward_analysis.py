"""Rule reward_analysis: implicit rewards beta*log(pi_theta/pi_ref) of one policy on the held-out pairs; margin
and reward accuracy (paper §3.7 / Table 4)."""
from bmc.runtime import log_to, setup

log = log_to(snakemake.log[0])
setup(snakemake.threads)

from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

from bmc.analysis.rewards import pair_rewards, reward_summary  # noqa: E402
from bmc.io import PAIR_FIELDS, read_jsonl, write_json, write_jsonl  # noqa: E402

p, inp = snakemake.params, snakemake.input
pairs = read_jsonl(inp.pairs, PAIR_FIELDS, nonempty=("y_w", "y_l"))
tokenizer = AutoTokenizer.from_pretrained(inp.model)
policy = AutoModelForCausalLM.from_pretrained(inp.model).eval()
reference = AutoModelForCausalLM.from_pretrained(inp.sft).eval()
rows = pair_rewards(policy, reference, tokenizer, pairs, "y_w", "y_l", p.beta, p.max_length, p.batch_size,
                    path=inp.pairs)
write_jsonl(snakemake.output.rows, rows)
summary = reward_summary(rows)
write_json(snakemake.output.summary, summary | {"beta": p.beta, "policy": inp.model, "reference": inp.sft,
                                                "pairs": inp.pairs, "chosen": "y_w", "rejected": "y_l"})
log.info("rewards: %s", summary)
