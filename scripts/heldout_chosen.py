"""Rule heldout_chosen: the gold responses of a seeded subset of test questions, for the KL curve."""
from bmc.runtime import log_to

log = log_to(snakemake.log[0])

from bmc.analysis.heldout import heldout_chosen  # noqa: E402
from bmc.io import PROBLEM_FIELDS, read_jsonl, write_jsonl  # noqa: E402

p = snakemake.params
rows = read_jsonl(snakemake.input.test, PROBLEM_FIELDS, nonempty=("problem", "solution"))
n = write_jsonl(snakemake.output[0], heldout_chosen(rows, p.style, p.examples, p.seed))
log.info("%d held-out chosen responses of %d test questions", n, len(rows))
