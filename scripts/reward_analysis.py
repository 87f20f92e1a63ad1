"""Rule reward_analysis: implicit rewards beta*log(pi_theta/pi_ref) of each policy of the job (one method, or with
models_in_one_job every Table 4 method of the task) on the held-out pairs; margin and reward accuracy (paper §3.7 /
Table 4). Inputs ``model`` and outputs ``rows``/``summary`` then list one entry per method, as do params beta and
max_length."""
from bmc.runtime import log_to, setup

log = log_to(snakemake.log[0])
setup(snakemake.threads)

from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

from bmc.analysis.rewards import pair_rewards, reward_summary  # noqa: E402
from bmc.io import PAIR_FIELDS, read_jsonl, write_json, write_jsonl  # noqa: E402


def as_list(value):
    return [value] if isinstance(value, str) else list(value)


p, inp, out = snakemake.params, snakemake.input, snakemake.output
pairs = read_jsonl(inp.pairs, PAIR_FIELDS, nonempty=("y_w", "y_l"))
reference = AutoModelForCausalLM.from_pretrained(inp.sft).eval()
for model, rows_out, summary_out, beta, max_length in zip(as_list(inp.model), as_list(out.rows), as_list(out.summary),
                                                          p.beta, p.max_length, strict=True):
    tokenizer = AutoTokenizer.from_pretrained(model)
    policy = AutoModelForCausalLM.from_pretrained(model).eval()
    rows = pair_rewards(policy, reference, tokenizer, pairs, "y_w", "y_l", beta, max_length, p.batch_size,
                        path=inp.pairs)
    write_jsonl(rows_out, rows)
    summary = reward_summary(rows)
    write_json(summary_out, summary | {"beta": beta, "policy": model, "reference": inp.sft, "pairs": inp.pairs,
                                       "chosen": "y_w", "rejected": "y_l"})
    log.info("%s: rewards %s", model, summary)
