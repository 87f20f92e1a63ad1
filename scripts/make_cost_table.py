"""Rule cost_table: compute per rule from the benchmark files, and the editor's tokens and cost from the
bridging stats."""
from bmc.runtime import log_to

log = log_to(snakemake.log[0])

from bmc.io import write_text  # noqa: E402
from bmc.report.costs import costs_markdown, editor_costs, read_benchmarks, stage_costs  # noqa: E402

p = snakemake.params
stages = stage_costs(read_benchmarks(p.benchmarks), p.stages, p.gpus)
editors = editor_costs(dict(zip(map(tuple, p.stats_keys), snakemake.input.stats, strict=True)), p.prices)
write_text(snakemake.output.csv, stages.to_csv(index=False, float_format="%.4g"))
write_text(snakemake.output.editors, editors.to_csv(index=False, float_format="%.6g"))
write_text(snakemake.output.md, costs_markdown(stages, editors, p.study))
log.info("\n%s\n%s", stages.to_string(), editors.to_string())
