"""Rule released_pairs: the authors' released bridged pairs (official repository, training_data/*_dpo_bmc) as a task's
main bridged set: the pseudo-winning response as chosen, y_l as rejected, the original y_w from the file or matched
to the task's gold responses (or to the preference dataset's chosen responses), and the same statistics as an
editor's bridging."""
from bmc.runtime import log_to, set_offline_env

log = log_to(snakemake.log[0])
set_offline_env()

from transformers import AutoTokenizer  # noqa: E402

from bmc.bridging.bridge import released_stats  # noqa: E402
from bmc.data.training_data import match_originals, prepare  # noqa: E402
from bmc.io import PROBLEM_FIELDS, read_jsonl, write_json, write_jsonl  # noqa: E402
from bmc.templates import response_prefix  # noqa: E402

p, inp = snakemake.params, snakemake.input
data = p.data
pairs, summary = prepare(data["source"], "released_pairs", data["split"], list(inp.files),
                         check_size=data["check_size"])
if p.reference_kind == "sft":  # the task's gold responses: the SFT set (or the synthetic task's train split)
    refs = read_jsonl(inp.references, PROBLEM_FIELDS)
    prefix = response_prefix(p.style)
    refs = [{"problem": r["problem"], "y_w": prefix + r["solution"], "answer": r["answer"]} for r in refs]
else:  # a preference dataset's pairs (dataset_pairs): its chosen responses
    refs = read_jsonl(inp.references, {"problem": str, "y_w": str})
originals = match_originals(pairs, refs, "y_w", inp.references)
tokenizer = AutoTokenizer.from_pretrained(inp.tokenizer)
stats = released_stats(pairs, tokenizer, data["source"], summary["from"], originals)
write_jsonl(snakemake.output.pairs, pairs)
write_json(snakemake.output.stats, stats | {"source": summary})
log.info("released pairs: %s", {k: v for k, v in stats.items() if k != "from"})
