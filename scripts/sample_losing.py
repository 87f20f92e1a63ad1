"""Rule sample_losing: the SFT model answers its training questions; pairs (y_w = gold, y_l = wrong)."""
from bmc.runtime import log_to, setup

log = log_to(snakemake.log[0])
setup(snakemake.threads)

from bmc.io import PROBLEM_FIELDS, read_jsonl, write_json, write_jsonl  # noqa: E402
from bmc.models.generation import TransformersGenerator  # noqa: E402
from bmc.provenance import run_info  # noqa: E402
from bmc.sampling.losing import SamplingSettings, sample_losing  # noqa: E402

rows = read_jsonl(snakemake.input.train, PROBLEM_FIELDS)
generator = TransformersGenerator(snakemake.input.model, batch_size=snakemake.params.batch_size)
pairs, stats = sample_losing(generator, rows, snakemake.params.style, SamplingSettings(**snakemake.params.settings))
write_jsonl(snakemake.output.pairs, pairs)
write_json(snakemake.output.stats, stats | {"provenance": run_info("sample_losing", snakemake.params.settings)})
log.info("pairs: %s", stats)
