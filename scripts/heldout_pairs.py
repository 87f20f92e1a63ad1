"""Rule heldout_pairs: the SFT model answers a seeded subset of test questions as it answered its training
questions; (y_w = gold, y_l = a wrong sample) pairs for the reward analysis and the token-reward figure."""
from bmc.runtime import log_to, setup

log = log_to(snakemake.log[0])
setup(snakemake.threads)

from bmc.analysis.heldout import heldout_pairs  # noqa: E402
from bmc.io import PROBLEM_FIELDS, read_jsonl, write_json, write_jsonl  # noqa: E402
from bmc.models.generation import TransformersGenerator  # noqa: E402
from bmc.provenance import run_info  # noqa: E402
from bmc.sampling.losing import SamplingSettings  # noqa: E402

p = snakemake.params
rows = read_jsonl(snakemake.input.test, PROBLEM_FIELDS)
generator = TransformersGenerator(snakemake.input.model, batch_size=p.batch_size)
pairs, stats = heldout_pairs(generator, rows, p.style, SamplingSettings(**p.settings), p.questions, p.seed)
if not pairs:
    raise SystemExit(f"{snakemake.input.test}: the SFT model answered all {stats['questions_selected']} selected "
                     "test questions correctly in every sample: no held-out pairs (raise analysis.heldout_questions)")
write_jsonl(snakemake.output.pairs, pairs)
write_json(snakemake.output.stats, stats | {"provenance": run_info("heldout_pairs", p.settings)})
log.info("held-out pairs: %s", stats)
