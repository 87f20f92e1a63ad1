"""Rule split_pairs: a task's main bridged pairs cut into k equal splits by normalised edit distance."""
from bmc.runtime import log_to, set_offline_env

log = log_to(snakemake.log[0])
set_offline_env()

from transformers import AutoTokenizer  # noqa: E402

from bmc.analysis.splits import split_pairs, units_for  # noqa: E402
from bmc.io import PAIR_FIELDS, read_jsonl, write_json, write_jsonl  # noqa: E402
from bmc.provenance import run_info  # noqa: E402

p = snakemake.params
fields = PAIR_FIELDS | {"bridged_chosen": str, "bridged_rejected": str}
rows = read_jsonl(snakemake.input.pairs, fields, nonempty=("y_w", "y_l", "bridged_chosen", "bridged_rejected"))
tokenizer = AutoTokenizer.from_pretrained(snakemake.input.tokenizer) if p.unit == "token" else None
splits, summary = split_pairs(rows, p.k, units_for(p.unit, tokenizer), path=snakemake.input.pairs)
for path, split in zip(snakemake.output.splits, splits, strict=True):
    write_jsonl(path, split)
write_json(snakemake.output.summary, {"unit": p.unit, "source": snakemake.input.pairs, **summary,
                                      "provenance": run_info("split_pairs", {"k": p.k, "unit": p.unit})})
log.info("splits: %s", summary["splits"])
