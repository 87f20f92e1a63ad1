"""Rule bridge_pairs: the editor turns each y_l into a pseudo-winning response."""
from bmc.runtime import log_to, set_offline_env

log = log_to(snakemake.log[0])
set_offline_env()

from transformers import AutoTokenizer  # noqa: E402

from bmc.bridging import bridge, make_editor  # noqa: E402
from bmc.io import PAIR_FIELDS, read_jsonl, write_json, write_jsonl  # noqa: E402
from bmc.provenance import run_info  # noqa: E402

pairs = read_jsonl(snakemake.input.pairs, PAIR_FIELDS, nonempty=("y_w", "y_l"))
editor = make_editor(snakemake.params.bridging["editor"])
tokenizer = AutoTokenizer.from_pretrained(snakemake.input.tokenizer)
bridged, stats = bridge(pairs, editor, tokenizer)
write_jsonl(snakemake.output.pairs, bridged)
write_json(snakemake.output.stats, stats | {"provenance": run_info("bridge_pairs", snakemake.params.bridging)})
log.info("bridged: %s", stats)
