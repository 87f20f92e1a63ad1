"""Rule figure_token_rewards: the token-level reward heat map of one held-out pair per task (paper Figure 6)."""
from bmc.runtime import log_to

log = log_to(snakemake.log[0])

from bmc.io import read_json  # noqa: E402
from bmc.report.figures import token_rewards_figure  # noqa: E402

p = snakemake.params
for task, path in zip(p.tasks, snakemake.input, strict=True):
    png, pdf = snakemake.output[f"png_{task}"], snakemake.output[f"pdf_{task}"]
    token_rewards_figure(read_json(path), p.task_labels[task], p.max_tokens, p.study, [png, pdf])
    log.info("%s: %s", task, png)
